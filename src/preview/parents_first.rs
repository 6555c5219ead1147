//! An order in which rows can be inserted back so that every row's parents (the rows
//! its foreign keys reference) are there before it: the undo of a DELETE that removed a
//! tree of a self-referencing table, or rows of tables that reference each other, must
//! put them back roots first, whatever order the DELETE returned them in.
//!
//! Rows are numbered `0..n`, and each edge `(child, parent)` says that `child`
//! references `parent`. The answer is a list of groups, parents first: every row's
//! parents are in an earlier group or in its own. A group of more than one row is a
//! cycle (rows that reference each other, directly or through others): no order of
//! single-row statements puts them back, but one statement inserting them all does, as
//! a foreign key that is not deferred is checked at the end of its statement.
//!
//! It is Tarjan's strongly-connected-components algorithm, iterative (a chain of a
//! million rows must not overflow the stack), following edges from child to parent: a
//! component is finished only after every component it reaches (its ancestors), which
//! is exactly parents first. Rows unrelated to each other keep their input order.
//! Memory is a few words per row and per edge; the caller bounds the rows.

/// Rows in groups, parents first (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Groups {
    /// Every row once, group after group.
    order: Vec<u32>,
    /// Where each group ends in `order`.
    ends: Vec<u32>,
}

impl Groups {
    /// The groups, parents first.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&end| {
            let group = &self.order[start..end as usize];
            start = end as usize;
            group
        })
    }
}

const UNSEEN: u32 = u32::MAX;

/// The rows `0..n` in groups, parents first, for the `(child, parent)` `edges` (sorted
/// and deduplicated here; an edge out of range is ignored, and so is a row that
/// references itself, which its own statement satisfies).
pub fn parents_first(n: u32, mut edges: Vec<(u32, u32)>) -> Groups {
    edges.retain(|&(c, p)| c != p && c < n && p < n);
    edges.sort_unstable();
    edges.dedup();
    let len = n as usize;
    // Each row's parents: edges[start[c]..start[c + 1]].
    let mut start = vec![0u32; len + 1];
    for &(c, _) in &edges {
        start[c as usize + 1] += 1;
    }
    for i in 0..len {
        start[i + 1] += start[i];
    }
    let mut index = vec![UNSEEN; len];
    let mut low = vec![0u32; len];
    let mut on_stack = vec![false; len];
    let mut stack: Vec<u32> = Vec::new();
    // (row, next edge of it to follow)
    let mut call: Vec<(u32, u32)> = Vec::new();
    let mut next = 0u32;
    let mut out = Groups {
        order: Vec::with_capacity(len),
        ends: Vec::new(),
    };
    for root in 0..n {
        if index[root as usize] != UNSEEN {
            continue;
        }
        let ri = root as usize;
        index[ri] = next;
        low[ri] = next;
        next += 1;
        stack.push(root);
        on_stack[ri] = true;
        call.push((root, start[ri]));
        while let Some(&(v, pos)) = call.last() {
            let vi = v as usize;
            if pos < start[vi + 1] {
                if let Some(top) = call.last_mut() {
                    top.1 += 1;
                }
                let w = edges[pos as usize].1;
                let wi = w as usize;
                if index[wi] == UNSEEN {
                    index[wi] = next;
                    low[wi] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[wi] = true;
                    call.push((w, start[wi]));
                } else if on_stack[wi] {
                    low[vi] = low[vi].min(index[wi]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u as usize] = low[u as usize].min(low[vi]);
            }
            if low[vi] == index[vi] {
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    out.order.push(w);
                    if w == v {
                        break;
                    }
                }
                out.ends.push(out.order.len() as u32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(n: u32, edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
        parents_first(n, edges.to_vec())
            .iter()
            .map(|g| {
                let mut g = g.to_vec();
                g.sort_unstable();
                g
            })
            .collect()
    }

    #[test]
    fn a_tree_returned_child_first_comes_back_roots_first() {
        // 0 references 1, 1 references 2 (the root), 3 references 1.
        assert_eq!(
            groups(4, &[(0, 1), (1, 2), (3, 1)]),
            vec![vec![2], vec![1], vec![0], vec![3]]
        );
    }

    #[test]
    fn unrelated_rows_keep_their_order_and_self_references_are_no_cycle() {
        assert_eq!(
            groups(3, &[(1, 1), (7, 0)]),
            vec![vec![0], vec![1], vec![2]]
        );
        assert!(parents_first(0, Vec::new()).iter().next().is_none());
    }

    #[test]
    fn rows_that_reference_each_other_are_one_group_after_their_parents() {
        // 1 and 2 reference each other; 2 also references 0; 3 references 1.
        assert_eq!(
            groups(4, &[(1, 2), (2, 1), (2, 0), (3, 1)]),
            vec![vec![0], vec![1, 2], vec![3]]
        );
    }

    #[test]
    fn every_parent_comes_first_in_a_long_chain_without_recursion() {
        // A chain of 200000 rows, each referencing the next: the last is the root.
        let n = 200_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let order: Vec<u32> = parents_first(n, edges)
            .iter()
            .map(|g| {
                assert_eq!(g.len(), 1);
                g[0]
            })
            .collect();
        let expected: Vec<u32> = (0..n).rev().collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn each_row_comes_after_its_parents_in_a_tangle() {
        let edges = vec![
            (0, 5),
            (5, 3),
            (3, 0),
            (4, 3),
            (6, 4),
            (2, 6),
            (1, 1),
            (7, 2),
        ];
        let out = parents_first(8, edges.clone());
        let mut group_of = [0usize; 8];
        let mut seen = 0;
        for (i, g) in out.iter().enumerate() {
            for &r in g {
                group_of[r as usize] = i;
                seen += 1;
            }
        }
        assert_eq!(seen, 8, "every row once");
        for (c, p) in edges {
            assert!(
                group_of[p as usize] <= group_of[c as usize],
                "{c} after {p}"
            );
        }
        assert_eq!(group_of[0], group_of[3]);
        assert_eq!(group_of[0], group_of[5]);
    }
}
