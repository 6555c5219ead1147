//! Many statements classified at once, on every core: [`analyze_all`] gives for each
//! statement exactly what [`analyze`](super::analyze) gives for it alone, in the same
//! order, whatever the number of threads.
//!
//! Classification is a pure function of a statement's text and the options, and most of
//! its time is PostgreSQL's parser (libpg_query's protobuf encoding of the tree above
//! all), so statements are handed out in chunks to scoped threads, one per core, and the
//! results are put back in input order. Each statement is still parsed on its own: with
//! pg_query 18.1, parsing a whole script in one call (and taking the statements from the
//! `RawStmt` list) measured slower per statement than one call per statement (the
//! encoder's cost grows with the size of the message), and a script with one syntax
//! error would need the per-statement path anyway. Threads get the main thread's stack
//! size, since the parser and the walk recurse as deep as a statement nests.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::classify::analyze;
use super::verdict::{Analysis, Options};

/// Statements per chunk a thread takes at a time: small enough to balance a script whose
/// costly statements (DO blocks, function bodies) sit together, large enough that
/// handing out chunks costs nothing.
const CHUNK: usize = 64;

/// Below this many statements one thread does it all: starting threads would cost more
/// than they save.
const PARALLEL_FROM: usize = 2 * CHUNK;

/// Stack size of each worker thread: what the main thread has on Linux by default.
const STACK: usize = 8 << 20;

/// The analysis of each statement in `texts`, in order; `analyze_all(t, o)[i] ==
/// analyze(t[i], o)`.
pub fn analyze_all(texts: &[&str], options: &Options) -> Vec<Analysis> {
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(texts.len().div_ceil(CHUNK));
    if threads <= 1 || texts.len() < PARALLEL_FROM {
        return texts.iter().map(|t| analyze(t, options)).collect();
    }
    let next = AtomicUsize::new(0);
    let chunks = texts.chunks(CHUNK).collect::<Vec<_>>();
    let mut done: Vec<(usize, Vec<Analysis>)> = Vec::with_capacity(chunks.len());
    std::thread::scope(|scope| {
        let work = || {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else {
                    return mine;
                };
                mine.push((i, chunk.iter().map(|t| analyze(t, options)).collect()));
            }
        };
        let workers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        // This thread works too; if no worker could be started, it does everything.
        done.extend(work());
        for worker in workers {
            // A worker that panicked left its chunks out: they are analysed again
            // below, so a statement is never left without a verdict.
            if let Ok(theirs) = worker.join() {
                done.extend(theirs);
            }
        }
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    let mut out = Vec::with_capacity(texts.len());
    let mut expected = 0;
    for (i, analyses) in done {
        // Chunks a panicked worker had taken are missing: redo them in order.
        while expected < i {
            out.extend(chunks[expected].iter().map(|t| analyze(t, options)));
            expected += 1;
        }
        out.extend(analyses);
        expected = i + 1;
    }
    while expected < chunks.len() {
        out.extend(chunks[expected].iter().map(|t| analyze(t, options)));
        expected += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_one_by_one_and_in_order() {
        let kinds = [
            "select * from t where id = 1",
            "update t set a = 1 where id = 2",
            "alter table t add column b int",
            "DO $$ begin execute 'SET LOCAL ' || 'ro' || 'le' || ' x'; end $$",
            "select dblink('x', 'y')",
            "this is not sql",
            "begin",
            "set work_mem = '64MB'",
            "select 1; select 2",
        ];
        // Enough statements for several threads and chunks, each one different.
        let texts: Vec<String> = (0..PARALLEL_FROM * 3 + 7)
            .map(|i| format!("{} /* {i} */", kinds[i % kinds.len()]))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        for options in [
            Options::default(),
            Options {
                allow_dynamic_sql: true,
            },
        ] {
            let all = analyze_all(&refs, &options);
            let one_by_one: Vec<Analysis> = refs.iter().map(|t| analyze(t, &options)).collect();
            assert_eq!(all, one_by_one);
        }
        assert!(analyze_all(&[], &Options::default()).is_empty());
    }
}
