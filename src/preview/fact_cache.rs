//! The preview's catalog facts, kept per connection so that a second write to the same
//! table does not ask the catalog again what the first one learned: its relation, key
//! and columns ([`super::facts`]), row security, kind and rules ([`super::eligible`]),
//! BEFORE row triggers and generated columns ([`super::statement::narrowed_fields`]),
//! the foreign keys a cascade walks ([`super::cascade`]), and its columns' types as the
//! "changed" verdict needs them ([`super::distinct::output_facts`]). A DBA reading the
//! server log then sees one catalog query per later preview where there were seven.
//! The two output settings that verdict also reads (`extra_float_digits`, `DateStyle`)
//! are not cached: the session can `SET` them at any time, so each preview reads them
//! in that same one query ([`OUTPUT_SETTINGS_SQL`]).
//!
//! Soundness first: a fact must never be used once the catalog says something else. So
//! every entry carries a **fingerprint**, computed by the server in the same statement
//! that read the target's facts ([`fingerprint_sql`]), and each later preview of that
//! target first asks for the fingerprint again, in one query ([`check_sql`]); the
//! entry is used only when the two are equal, and dropped otherwise. The fingerprint
//! covers:
//!
//! - every relation a fact can depend on, found by the server itself at check time: the
//!   target, and, following partitions and inheritance (both ways) and foreign keys
//!   (from referenced to referencing table), every relation reachable from it, so a new
//!   partition, child or referencing table changes the set;
//! - for each, the version (`xmin`, `ctid`) of its rows in `pg_class` (kind, ACL, row
//!   security flags, name), `pg_namespace`, `pg_attribute` (columns, column ACLs,
//!   generated, NOT NULL), `pg_constraint` (keys either way), `pg_index`, `pg_trigger`,
//!   `pg_policy`, `pg_rewrite` and `pg_inherits`: any committed or own DDL writes a
//!   new row version there (a new `xmin`) or removes one, which changes the digest;
//! - how many `=` operators `pg_catalog` has and how many built-in default operator
//!   classes (which built-in types the server can compare: a superuser's
//!   `CREATE OPERATOR pg_catalog.=` or `DROP OPERATOR CLASS` changes the count);
//! - the role memberships (`pg_auth_members`) and the current role's attributes, and
//!   the settings the facts are read under: `current_user`, `search_path` (which table
//!   the typed name resolves to: the check resolves it again), `row_security` and
//!   `extra_float_digits`.
//!
//! Catalog rows are read in the statement's snapshot. Under READ COMMITTED the other
//! fact queries run later than the fingerprint, so they see the catalog at least as new
//! as it: a change committed in between makes the next check differ, never the reverse.
//! Under REPEATABLE READ every query of the transaction sees one snapshot. The own
//! transaction's DDL is seen too (its rows are visible to it), and ROLLBACK TO brings
//! the old rows, and so the old fingerprint, back. Besides, the session drops the whole
//! cache before any DDL it runs, and a new connection (`\c`, a reconnect) starts with
//! none. What the row versions cannot show is the server's in-place updates (planner
//! statistics, `relhasindex`, an index's validity flags in `CREATE INDEX
//! CONCURRENTLY`); none of them decides a fact the preview shows, except an index
//! becoming valid, which at worst leaves the preview keying rows by `ctid` until the
//! next change.
//!
//! The cache answers only between [`FactCache::open`] (the check passed, or the entry
//! is new) and [`FactCache::close`], i.e. inside one preview's gathering; any other
//! caller of the same fact functions reads the catalog as before.

use std::any::Any;
use std::collections::HashMap;

/// The SQL expression of the fingerprint for the relation whose oid is the SQL
/// expression `relid` (see the module documentation).
pub fn fingerprint_sql(relid: &str) -> String {
    format!(
        "(WITH RECURSIVE edge(parent, child) AS ( \
             SELECT i.inhparent, i.inhrelid FROM pg_catalog.pg_inherits i \
             UNION ALL SELECT i.inhrelid, i.inhparent FROM pg_catalog.pg_inherits i \
             UNION ALL SELECT k.confrelid, k.conrelid FROM pg_catalog.pg_constraint k \
                       WHERE k.contype OPERATOR(pg_catalog.=) 'f'), \
           rel(relid) AS ( \
             SELECT {relid}::pg_catalog.oid \
             UNION SELECT e.child FROM edge e JOIN rel ON e.parent OPERATOR(pg_catalog.=) rel.relid), \
           v(s) AS ( \
             SELECT pg_catalog.concat('c', c.oid, ':', c.xmin, c.ctid, ':n', n.xmin, n.ctid) \
               FROM pg_catalog.pg_class c JOIN rel ON c.oid OPERATOR(pg_catalog.=) rel.relid \
               JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
             UNION ALL SELECT pg_catalog.concat('a', a.attrelid, ':', a.xmin, a.ctid) \
               FROM pg_catalog.pg_attribute a JOIN rel ON a.attrelid OPERATOR(pg_catalog.=) rel.relid \
             UNION ALL SELECT pg_catalog.concat('k', k.oid, ':', k.xmin, k.ctid) \
               FROM pg_catalog.pg_constraint k \
               WHERE k.conrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT relid FROM rel)) \
                  OR k.confrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT relid FROM rel)) \
             UNION ALL SELECT pg_catalog.concat('i', x.indexrelid, ':', x.xmin, x.ctid) \
               FROM pg_catalog.pg_index x JOIN rel ON x.indrelid OPERATOR(pg_catalog.=) rel.relid \
             UNION ALL SELECT pg_catalog.concat('t', t.oid, ':', t.xmin, t.ctid) \
               FROM pg_catalog.pg_trigger t JOIN rel ON t.tgrelid OPERATOR(pg_catalog.=) rel.relid \
             UNION ALL SELECT pg_catalog.concat('p', p.oid, ':', p.xmin, p.ctid) \
               FROM pg_catalog.pg_policy p JOIN rel ON p.polrelid OPERATOR(pg_catalog.=) rel.relid \
             UNION ALL SELECT pg_catalog.concat('r', r.oid, ':', r.xmin, r.ctid) \
               FROM pg_catalog.pg_rewrite r JOIN rel ON r.ev_class OPERATOR(pg_catalog.=) rel.relid \
             UNION ALL SELECT pg_catalog.concat('h', h.inhrelid, ':', h.xmin, h.ctid) \
               FROM pg_catalog.pg_inherits h JOIN rel ON h.inhrelid OPERATOR(pg_catalog.=) rel.relid \
             UNION ALL SELECT pg_catalog.concat('m', m.xmin, m.ctid) FROM pg_catalog.pg_auth_members m \
             UNION ALL SELECT pg_catalog.concat('u', r.rolname, ':', r.rolsuper, r.rolbypassrls, r.rolinherit) \
               FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user \
             UNION ALL SELECT pg_catalog.concat('o', \
               (SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator o \
                WHERE o.oprname OPERATOR(pg_catalog.=) '=' \
                  AND o.oprnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace), ':', \
               (SELECT pg_catalog.count(*) FROM pg_catalog.pg_opclass c \
                WHERE c.opcdefault AND c.oid OPERATOR(pg_catalog.<) 16384)) \
             UNION ALL SELECT pg_catalog.concat('s', current_user, ':', \
               pg_catalog.current_setting('search_path'), ':', \
               pg_catalog.current_setting('row_security'), ':', \
               pg_catalog.current_setting('extra_float_digits'))) \
         SELECT pg_catalog.md5(pg_catalog.string_agg(s, ',' ORDER BY s)) FROM v)"
    )
}

/// The check before a later preview of a cached target: the oid the typed name `$1`
/// resolves to now and the fingerprint of that relation, then the output settings
/// ([`OUTPUT_SETTINGS_SQL`]), in one query.
pub fn check_sql() -> String {
    format!(
        "SELECT pg_catalog.to_regclass($1::pg_catalog.text)::pg_catalog.oid, {}, {OUTPUT_SETTINGS_SQL}",
        fingerprint_sql("pg_catalog.to_regclass($1::pg_catalog.text)")
    )
}

/// The two output settings the preview's "changed" verdict reads
/// ([`super::distinct::OutputFacts`]), `extra_float_digits` and `DateStyle`, as two SQL
/// columns. They are not cached facts: the session may `SET` them between two
/// previews, so every preview reads them afresh, in the statement that checks (or
/// first reads) its target's facts, and they answer only while that preview's entry
/// does ([`FactCache::output`]).
pub const OUTPUT_SETTINGS_SQL: &str =
    "pg_catalog.current_setting('extra_float_digits')::pg_catalog.int4, \
     pg_catalog.current_setting('DateStyle')";

/// One target's facts, as the fact functions stored them, under their key.
struct Entry {
    relid: u32,
    fingerprint: String,
    facts: HashMap<(&'static str, u32, bool), Box<dyn Any + Send>>,
}

/// The cache of one connection (see the module documentation).
#[derive(Default)]
pub struct FactCache {
    entries: HashMap<String, Entry>,
    /// The entry answering now, by target name: set by [`FactCache::open`].
    live: Option<String>,
    /// The output settings read with this preview's check or facts
    /// ([`OUTPUT_SETTINGS_SQL`]): `extra_float_digits` and `DateStyle`.
    output: Option<(i32, String)>,
}

impl FactCache {
    /// The oid and fingerprint the entry for the typed name `name` was stored with,
    /// to compare with [`check_sql`]'s answer; `None` when there is none.
    pub fn stored(&self, name: &str) -> Option<(u32, &str)> {
        self.entries
            .get(name)
            .map(|e| (e.relid, e.fingerprint.as_str()))
    }

    /// Makes the entry for `name` answer, after the check found it current.
    pub fn open(&mut self, name: &str) {
        self.live = self.entries.contains_key(name).then(|| name.to_string());
        self.output = None;
    }

    /// Records the output settings this preview's check or facts query read, to
    /// answer while the entry does.
    pub fn set_output(&mut self, float_digits: i32, date_style: String) {
        if self.live.is_some() {
            self.output = Some((float_digits, date_style));
        }
    }

    /// The output settings read in this preview's check or facts query, while an
    /// entry answers.
    pub fn output(&self) -> Option<(i32, String)> {
        self.live.as_ref()?;
        self.output.clone()
    }

    /// Starts a new entry for `name`, resolved to `relid` with `fingerprint` read in
    /// the same statement as its facts, and makes it answer.
    pub fn start(&mut self, name: &str, relid: u32, fingerprint: String) {
        self.entries.insert(
            name.to_string(),
            Entry {
                relid,
                fingerprint,
                facts: HashMap::new(),
            },
        );
        self.live = Some(name.to_string());
        self.output = None;
    }

    /// Drops the entry for `name` (its check differed).
    pub fn forget(&mut self, name: &str) {
        self.entries.remove(name);
        if self.live.as_deref() == Some(name) {
            self.live = None;
            self.output = None;
        }
    }

    /// Stops answering: the preview's gathering is over.
    pub fn close(&mut self) {
        self.live = None;
        self.output = None;
    }

    /// Drops every entry: before DDL the session runs itself.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.live = None;
        self.output = None;
    }

    /// The stored fact `kind` about `relid` (and `flag`), while an entry answers.
    pub fn get<T: Clone + 'static>(&self, kind: &'static str, relid: u32, flag: bool) -> Option<T> {
        let entry = self.entries.get(self.live.as_ref()?)?;
        entry
            .facts
            .get(&(kind, relid, flag))?
            .downcast_ref::<T>()
            .cloned()
    }

    /// Stores the fact `kind` about `relid` (and `flag`) in the answering entry; nothing
    /// when none answers.
    pub fn put<T: Clone + Send + 'static>(
        &mut self,
        kind: &'static str,
        relid: u32,
        flag: bool,
        fact: &T,
    ) {
        let Some(live) = self.live.as_ref() else {
            return;
        };
        if let Some(entry) = self.entries.get_mut(live) {
            entry
                .facts
                .insert((kind, relid, flag), Box::new(fact.clone()));
        }
    }
}

impl std::fmt::Debug for FactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactCache")
            .field("entries", &self.entries.len())
            .field("live", &self.live)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_only_while_open_and_only_from_its_entry() {
        let mut cache = FactCache::default();
        cache.put("x", 1, false, &5u32);
        assert_eq!(cache.get::<u32>("x", 1, false), None, "nothing answers");
        cache.start("t", 1, "f1".into());
        cache.put("x", 1, false, &5u32);
        assert_eq!(cache.get::<u32>("x", 1, false), Some(5));
        assert_eq!(cache.get::<u32>("x", 1, true), None);
        assert_eq!(cache.get::<String>("x", 1, false), None, "another type");
        cache.close();
        assert_eq!(cache.get::<u32>("x", 1, false), None, "closed");
        assert_eq!(cache.stored("t"), Some((1, "f1")));
        cache.open("t");
        assert_eq!(cache.get::<u32>("x", 1, false), Some(5));
        cache.start("u", 2, "f2".into());
        assert_eq!(
            cache.get::<u32>("x", 1, false),
            None,
            "another target's entry"
        );
        cache.set_output(3, "ISO, MDY".into());
        assert_eq!(cache.output(), Some((3, "ISO, MDY".to_string())));
        cache.forget("u");
        assert_eq!(cache.get::<u32>("x", 1, false), None);
        assert_eq!(cache.output(), None, "no entry answers");
        cache.set_output(3, "ISO, MDY".into());
        assert_eq!(cache.output(), None, "not stored while none answers");
        cache.open("t");
        assert_eq!(cache.output(), None, "each preview reads its own");
        cache.set_output(1, "SQL, DMY".into());
        cache.close();
        assert_eq!(cache.output(), None, "closed");
        cache.clear();
        assert_eq!(cache.stored("t"), None);
    }
}
