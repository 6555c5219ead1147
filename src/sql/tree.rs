//! The walk over PostgreSQL's parse tree: every node of a statement, nested parts
//! included, folded into [`Facts`].
//!
//! pg_query hands the tree over as protobuf structs that derive `serde::Serialize`. The
//! walk is a serde [`Serializer`](serde::Serializer) that those structs drive, so it
//! reaches every field of every node kind — the derive lists them, not a hand-written
//! list of children that could miss one — without building an intermediate value (a
//! `serde_json::Value` per statement was most of the classifier's time). A `Node`
//! arrives as the newtype variant named after its kind (`FuncCall`, `SelectStmt`, …);
//! a typed child (`UpdateStmt.relation`, a `RangeVar`) as a struct with its type's name.
//!
//! What it collects: function calls by qualified name (each looked up in `functions`),
//! nested statements (data-modifying CTEs, EXPLAIN ANALYZE targets, rule actions), row
//! locks, `SELECT … INTO`, and the relations read and written. A statement is as risky as
//! its riskiest part (`max` over [`Risk`]); under a plain EXPLAIN nothing runs, so its
//! target's risk is muted, but its refusals stand.

use std::collections::BTreeSet;
use std::fmt;

use pg_query::protobuf::{self, a_const};
use pg_query::NodeEnum;
use serde::ser::{self, Impossible, Serialize};
use serde_json::Value;

use super::functions::{self, Effect};
use super::settings;
use super::verdict::Risk;
use crate::policy::{Refusal, Rule};

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub risk: Option<Risk>,
    pub reads: BTreeSet<String>,
    pub writes: BTreeSet<String>,
    pub survives: Vec<String>,
    pub refusal: Option<Refusal>,
    /// The strongest table lock a nested part takes (a DO block's statements).
    pub lock: Option<&'static str>,
    /// Prepared statements run (`EXECUTE name`, also under EXPLAIN ANALYZE or CREATE
    /// TABLE AS): what they do is known only to whoever saw them prepared.
    pub executes: Vec<String>,
    /// Functions called (last name part, as the parser folds it): what one created
    /// earlier in the session or file does is known only to whoever saw it created.
    pub calls: BTreeSet<String>,
    /// `CREATE FUNCTION`: the facts of its body, which runs only when called.
    pub body: Option<Box<Facts>>,
    /// A body `EXECUTE`s a computed string that `allow_dynamic_sql` let through.
    pub dynamic: bool,
    ctes: BTreeSet<String>,
}

impl Facts {
    pub(crate) fn note(&mut self, risk: Risk) {
        self.risk = Some(self.risk.map_or(risk, |r| r.max(risk)));
    }

    pub(crate) fn refuse(&mut self, refusal: Refusal) {
        if self.refusal.is_none() {
            self.refusal = Some(refusal);
        }
    }

    /// Notes a table lock a nested part takes.
    pub(crate) fn lock(&mut self, lock: &'static str) {
        self.lock = Some(super::locks::max(self.lock, lock));
    }

    /// Folds in the facts of a nested part (a PL/pgSQL statement, say).
    pub(crate) fn merge(&mut self, mut other: Facts) {
        if let Some(r) = other.risk {
            self.note(r);
        }
        self.executes.append(&mut other.executes);
        self.calls.append(&mut other.calls);
        self.dynamic |= other.dynamic;
        self.absorb_muted(other);
    }

    /// Folds in everything but the risk (and the prepared statements and functions run):
    /// the facts of what a plain EXPLAIN plans.
    fn absorb_muted(&mut self, other: Facts) {
        if let Some(r) = other.refusal {
            self.refuse(r);
        }
        if let Some(l) = other.lock {
            self.lock(l);
        }
        self.reads.extend(other.reads);
        self.writes.extend(other.writes);
        self.survives.extend(other.survives);
        self.ctes.extend(other.ctes);
    }

    /// Relations read, without the names of CTEs.
    pub(crate) fn reads(&self) -> Vec<String> {
        self.reads
            .iter()
            .filter(|r| !self.ctes.contains(*r))
            .cloned()
            .collect()
    }
}

/// Fields under which a `RangeVar` is the object a statement writes or redefines.
const TARGET_FIELDS: &[&str] = &["relation", "relations", "rel", "objects", "view"];

/// Statement nodes that are fine anywhere in a tree, with the risk they carry.
fn nested_statement(kind: &str) -> Option<Risk> {
    match kind {
        // A PL/pgSQL assignment (`n := expr`) is its expression, which the walk reaches;
        // so is the `RETURN expr` of a SQL-standard function body (`CREATE FUNCTION …
        // RETURN expr`, or inside `BEGIN ATOMIC`).
        "SelectStmt" | "RawStmt" | "ExplainStmt" | "VariableShowStmt" | "PlassignStmt"
        | "ReturnStmt" => Some(Risk::Read),
        // What a prepared statement does is looked up by name ([`Facts::executes`]).
        "ExecuteStmt" => Some(Risk::Read),
        // Delivered at COMMIT, like a write, and only if the transaction commits.
        "NotifyStmt" => Some(Risk::OpaqueWrite),
        "InsertStmt" | "UpdateStmt" | "DeleteStmt" | "MergeStmt" | "LockStmt" => Some(Risk::Write),
        "CallStmt" | "TruncateStmt" => Some(Risk::OpaqueWrite),
        _ => None,
    }
}

/// How many nodes deep the walk goes before it refuses.
const MAX_DEPTH: usize = 1000;

/// Walks a statement's node (`top`: the statement itself, whose own kind the classifier
/// has judged already).
pub(crate) fn walk_statement(node: &NodeEnum, facts: &mut Facts) {
    let mut walker = Walker::new(facts, true);
    // The walker never fails: what it cannot read, it refuses.
    let _ = node.serialize(&mut walker);
}

/// Walks a whole parse result (a PL/pgSQL expression parsed on its own): every
/// statement in it counts as nested.
pub(crate) fn walk_parse_result(result: &protobuf::ParseResult, facts: &mut Facts) {
    let mut walker = Walker::new(facts, false);
    let _ = result.serialize(&mut walker);
}

/// The string constant an expression node is, if it is one (`'x'`, or `'x'::text`: a
/// cast of a constant is still that constant).
pub(crate) fn string_constant(node: &pg_query::Node) -> Option<&str> {
    let c = match node.node.as_ref()? {
        NodeEnum::AConst(c) => c,
        NodeEnum::TypeCast(t) => match t.arg.as_deref()?.node.as_ref()? {
            NodeEnum::AConst(c) => c,
            _ => return None,
        },
        _ => return None,
    };
    match c.val.as_ref()? {
        a_const::Val::Sval(s) => Some(&s.sval),
        _ => None,
    }
}

/// The walk's error: it never stops early, so this only satisfies serde's contract.
#[derive(Debug)]
pub(crate) struct Never;

impl fmt::Display for Never {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("parse-tree walk")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Never
    }
}

/// The serializer that walks.
struct Walker<'f> {
    facts: &'f mut Facts,
    /// The field of the enclosing struct the walk is under (`relation`, `args`, …).
    field: &'static str,
    /// True until the statement's own node is entered.
    top: bool,
    depth: usize,
    /// Strings seen while collecting a name (`FuncCall.funcname`, `RangeVar.relname`).
    capture: Option<Vec<String>>,
}

impl<'f> Walker<'f> {
    fn new(facts: &'f mut Facts, top: bool) -> Walker<'f> {
        Walker {
            facts,
            field: "",
            top,
            depth: 0,
            capture: None,
        }
    }

    /// The strings inside `value` (a list of `String` nodes, or one string).
    fn strings<T: Serialize + ?Sized>(&mut self, value: &T) -> Vec<String> {
        let outer = self.capture.replace(Vec::new());
        let _ = value.serialize(&mut *self);
        std::mem::replace(&mut self.capture, outer).unwrap_or_default()
    }

    /// A `Node` of kind `kind`, reached through its node tag.
    fn node<T: Serialize + ?Sized>(&mut self, kind: &'static str, body: &T) -> Result<(), Never> {
        let top = std::mem::replace(&mut self.top, false);
        match kind {
            // A function's SET clause (`DefElem.arg`) is checked by the classifier.
            "VariableSetStmt" if self.field == "arg" => {}
            "VariableSetStmt" | "TransactionStmt" if !top => self.facts.refuse(Refusal::new(
                Rule::Unrecognised,
                "transaction control or SET nested inside another statement",
            )),
            _ => {}
        }
        if !top && kind.ends_with("Stmt") {
            match nested_statement(kind) {
                Some(risk) => self.facts.note(risk),
                // Statements inside CREATE SCHEMA, rule actions and the like: schema changes.
                None => self.facts.note(Risk::Ddl),
            }
        }
        body.serialize(self)
    }
}

/// A struct being walked, field by field.
struct StructWalk<'w, 'f> {
    walker: &'w mut Walker<'f>,
    name: &'static str,
    /// The field the struct itself is under.
    field: &'static str,
    /// Name parts collected from its fields (`RangeVar`: catalog, schema, relation;
    /// `FuncCall`: the function's name).
    parts: Vec<String>,
    /// The known function this `FuncCall` calls (last name part, lower-cased).
    function: Option<String>,
    /// `ExplainStmt`: what its target does, kept apart until the options say whether
    /// it runs.
    explain: Option<(Facts, bool)>,
}

impl<'w, 'f> ser::Serializer for &'w mut Walker<'f> {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = StructWalk<'w, 'f>;
    type SerializeStructVariant = Impossible<(), Never>;

    fn serialize_bool(self, _: bool) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_char(self, _: char) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Never> {
        if let Some(c) = self.capture.as_mut() {
            c.push(v.to_string());
        }
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        // `node::Node` is the tagged node; other oneofs (`AConst.val`, …) are values.
        if name == "Node" {
            self.node(variant, value)
        } else {
            value.serialize(self)
        }
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<StructWalk<'w, 'f>, Never> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.facts.refuse(Refusal::new(
                Rule::Unrecognised,
                "a statement nested too deeply",
            ));
        }
        match name {
            // Row locks: only a write transaction holds them.
            "LockingClause" => self.facts.note(Risk::Write),
            // SELECT … INTO creates a table, like CREATE TABLE AS.
            "IntoClause" if self.field == "into_clause" => self.facts.note(Risk::Ddl),
            _ => {}
        }
        let explain = (name == "ExplainStmt").then(|| (Facts::default(), false));
        let field = self.field;
        Ok(StructWalk {
            walker: self,
            name,
            field,
            parts: Vec::new(),
            function: None,
            explain,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Never> {
        Err(Never)
    }
}

impl StructWalk<'_, '_> {
    /// Walks one field's value under its name, into `facts`.
    fn walk<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Never> {
        // A `Node`'s only field is its tag: what is inside stays under the outer field.
        let key = if self.name == "Node" { self.field } else { key };
        if let Some((facts, _)) = self.explain.as_mut() {
            let mut sub = Walker {
                facts,
                field: key,
                top: false,
                depth: self.walker.depth,
                capture: None,
            };
            return value.serialize(&mut sub);
        }
        let outer = std::mem::replace(&mut self.walker.field, key);
        let result = value.serialize(&mut *self.walker);
        self.walker.field = outer;
        result
    }
}

impl ser::SerializeStruct for StructWalk<'_, '_> {
    type Ok = ();
    type Error = Never;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Never> {
        if self.walker.depth > MAX_DEPTH {
            return Ok(());
        }
        match (self.name, key) {
            ("RangeVar", "catalogname" | "schemaname" | "relname") => {
                self.parts.extend(
                    self.walker
                        .strings(value)
                        .into_iter()
                        .filter(|p| !p.is_empty()),
                );
                Ok(())
            }
            ("ExecuteStmt", "name") => {
                let names = self.walker.strings(value);
                self.walker.facts.executes.extend(names);
                Ok(())
            }
            ("CommonTableExpr", "ctename") => {
                let names = self.walker.strings(value);
                self.walker.facts.ctes.extend(names);
                Ok(())
            }
            ("FuncCall", "funcname") => {
                self.parts = self.walker.strings(value);
                if let Some(last) = self.parts.last() {
                    self.walker.facts.calls.insert(last.clone());
                }
                self.function = function_call(&self.parts, self.walker.facts);
                Ok(())
            }
            ("FuncCall", "args") => {
                match self.function.as_deref() {
                    Some("set_config") => set_config(value, self.walker.facts),
                    Some(f) => runs_sql(f, value, self.walker.facts),
                    None => {}
                }
                self.walk(key, value)
            }
            ("ExplainStmt", "options") => {
                if let (Some(explain), Ok(options)) =
                    (self.explain.as_mut(), serde_json::to_value(value))
                {
                    explain.1 = explain_analyze(&options);
                }
                self.walk(key, value)
            }
            _ => self.walk(key, value),
        }
    }

    fn end(self) -> Result<(), Never> {
        let StructWalk {
            walker,
            name,
            field,
            parts,
            explain,
            ..
        } = self;
        walker.depth -= 1;
        if name == "RangeVar" {
            let relation = parts.join(".");
            if TARGET_FIELDS.contains(&field) {
                walker.facts.writes.insert(relation);
            } else {
                walker.facts.reads.insert(relation);
            }
        }
        if let Some((facts, runs)) = explain {
            if runs {
                walker.facts.merge(facts);
            } else {
                walker.facts.absorb_muted(facts);
            }
        }
        Ok(())
    }
}

impl ser::SerializeSeq for &mut Walker<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Never> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

impl ser::SerializeTuple for &mut Walker<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Never> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for &mut Walker<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Never> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for &mut Walker<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Never> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

impl ser::SerializeMap for &mut Walker<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Never> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

/// `EXPLAIN ANALYZE …` (either spelling): the target runs. `options` is the serialized
/// list of `DefElem` nodes.
fn explain_analyze(options: &Value) -> bool {
    let Value::Array(options) = options else {
        return false;
    };
    options.iter().any(|o| {
        let Some(def) = o.get("node").and_then(|n| n.get("DefElem")) else {
            return false;
        };
        let named = def.get("defname").and_then(Value::as_str) == Some("analyze");
        // `ANALYZE false` / `ANALYZE off` plans only; anything else (or no argument) runs.
        let off = def
            .get("arg")
            .and_then(|a| a.get("node"))
            .map(|n| {
                let s = n
                    .get("String")
                    .and_then(|s| s.get("sval"))
                    .and_then(Value::as_str)
                    .map(str::to_lowercase);
                let b = n
                    .get("Boolean")
                    .and_then(|b| b.get("boolval"))
                    .and_then(Value::as_bool);
                matches!(s.as_deref(), Some("false" | "off" | "0" | "no")) || b == Some(false)
            })
            .unwrap_or(false);
        named && !off
    })
}

/// A call of a known function: refused, surviving ROLLBACK, or writing. Returns the
/// function's last name part, lower-cased, when its arguments decide too (`set_config`,
/// the functions that run SQL text).
fn function_call(parts: &[String], facts: &mut Facts) -> Option<String> {
    let last = parts.last()?;
    let qualified = parts.join(".");
    if let Some((effect, why)) = functions::effect(last) {
        match effect {
            Effect::Refuse(rule) => {
                facts.refuse(Refusal::new(rule, format!("function {qualified} ({why})")))
            }
            Effect::SurvivesRollback => {
                facts.note(Risk::OpaqueWrite);
                facts.survives.push(format!("{qualified}: {why}"));
            }
            Effect::Writes => facts.note(Risk::OpaqueWrite),
            Effect::RunsSql { .. } => return Some(last.to_lowercase()),
        }
    }
    last.eq_ignore_ascii_case("set_config")
        .then(|| "set_config".to_string())
}

/// The arguments of a function that runs SQL text (see [`Effect::RunsSql`]): a constant
/// is classified like a typed statement (strictest options, and as a nested one, so it
/// cannot PREPARE or EXECUTE), anything computed is dynamic SQL.
fn runs_sql<T: Serialize + ?Sized>(function: &str, args: &T, facts: &mut Facts) {
    let Some((Effect::RunsSql { arg, nargs }, _)) = functions::effect(function) else {
        return;
    };
    let args = serde_json::to_value(args).unwrap_or(Value::Null);
    let args = args.as_array().map(Vec::as_slice).unwrap_or_default();
    if nargs.is_some_and(|n| n != args.len()) {
        return;
    }
    match args.get(arg).and_then(json_string_constant) {
        Some(sql) => super::plpgsql::fold(
            super::classify::analyze_at(sql, &super::verdict::Options::default(), 1),
            facts,
        ),
        None => facts.refuse(Refusal::new(
            Rule::DynamicSql,
            format!("function {function} of a computed query text"),
        )),
    }
}

/// `set_config(name, …)`: the setting's name must be a constant pgward allows.
fn set_config<T: Serialize + ?Sized>(args: &T, facts: &mut Facts) {
    let args = serde_json::to_value(args).unwrap_or(Value::Null);
    let name = args
        .as_array()
        .and_then(|a| a.first())
        .and_then(json_string_constant);
    match name {
        Some(name) => {
            if let Err(r) = settings::check_set_config(name) {
                facts.refuse(r);
            }
        }
        None => facts.refuse(Refusal::new(
            Rule::IdentityChange,
            "set_config of a computed setting name (it could be role)",
        )),
    }
}

/// [`string_constant`] of a serialized node.
fn json_string_constant(node: &Value) -> Option<&str> {
    let n = node.get("node")?;
    let c = n.get("AConst").or_else(|| {
        n.get("TypeCast")
            .and_then(|t| t.get("arg"))
            .and_then(|a| a.get("node"))
            .and_then(|a| a.get("AConst"))
    })?;
    c.get("val")?.get("Sval")?.get("sval")?.as_str()
}
