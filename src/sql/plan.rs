//! Classifying a statement by the server's plan, for what sqlparser cannot parse.
//!
//! The session runs `EXPLAIN (FORMAT JSON) <statement>` inside a read-only transaction
//! (EXPLAIN without ANALYZE plans but does not execute). The output is
//! `[{"Plan": {"Node Type": …, "Plans": [ … ]}}]`; InitPlans and SubPlans appear inside
//! "Plans" too. A `ModifyTable` node anywhere means the statement writes; a `LockRows`
//! node means it takes row locks (`FOR UPDATE`), which the parsed path also treats as a
//! write. Anything not of that shape is refused.

use serde_json::Value;

use super::classify::Verdict;
use crate::policy::{Refusal, Rule};

/// Turns the server's `EXPLAIN (FORMAT JSON)` output for an unparsed statement into a
/// verdict: a plan with a `ModifyTable` (or `LockRows`) node anywhere is
/// `Write { opaque: true }`, otherwise `Read`; a malformed plan is refused.
pub fn verdict_from_plan(plan: &Value) -> Verdict {
    match writes(plan) {
        Ok(true) => Verdict::Write { opaque: true },
        Ok(false) => Verdict::Read,
        Err(what) => Verdict::Refused(Refusal::new(
            Rule::Unrecognised,
            format!("unexpected EXPLAIN output: {what}"),
        )),
    }
}

/// Whether any plan node writes; `Err` says what is malformed. Iterative, so a deep
/// document cannot exhaust the stack.
fn writes(plan: &Value) -> Result<bool, &'static str> {
    let top = plan.as_array().ok_or("not an array")?;
    if top.is_empty() {
        return Err("no plan");
    }
    let mut stack = Vec::new();
    for entry in top {
        let root = entry
            .as_object()
            .and_then(|o| o.get("Plan"))
            .ok_or("an entry without \"Plan\"")?;
        stack.push(root);
    }
    let mut found = false;
    while let Some(node) = stack.pop() {
        let node = node
            .as_object()
            .ok_or("a plan node that is not an object")?;
        let kind = node
            .get("Node Type")
            .and_then(Value::as_str)
            .ok_or("a plan node without \"Node Type\"")?;
        found |= matches!(kind, "ModifyTable" | "LockRows");
        match node.get("Plans") {
            None => {}
            Some(Value::Array(children)) => stack.extend(children),
            Some(_) => return Err("\"Plans\" that is not an array"),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans() {
        let read = json!([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t"}}]);
        assert_eq!(verdict_from_plan(&read), Verdict::Read);
        let write = json!([{"Plan": {"Node Type": "ModifyTable", "Plans": [
            {"Node Type": "Seq Scan"}]}}]);
        assert_eq!(verdict_from_plan(&write), Verdict::Write { opaque: true });
        let nested = json!([{"Plan": {"Node Type": "Result", "Plans": [
            {"Node Type": "CTE Scan", "Parent Relationship": "InitPlan", "Plans": [
                {"Node Type": "ModifyTable", "Plans": []}]}]}}]);
        assert_eq!(verdict_from_plan(&nested), Verdict::Write { opaque: true });
        let locks =
            json!([{"Plan": {"Node Type": "LockRows", "Plans": [{"Node Type": "Seq Scan"}]}}]);
        assert_eq!(verdict_from_plan(&locks), Verdict::Write { opaque: true });
    }

    #[test]
    fn malformed_plans_are_refused() {
        for bad in [
            json!({}),
            json!([]),
            json!([{"plan": {}}]),
            json!([{"Plan": {"Node Type": 3}}]),
            json!([{"Plan": {"Node Type": "Seq Scan", "Plans": {}}}]),
            json!([{"Plan": {"Node Type": "Result", "Plans": [1]}}]),
            json!("ModifyTable"),
        ] {
            assert!(
                matches!(verdict_from_plan(&bad), Verdict::Refused(r) if r.rule == Rule::Unrecognised),
                "{bad}"
            );
        }
    }
}
