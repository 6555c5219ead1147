//! The net change of a transaction, per table: the rows that differ between the
//! transaction's start and now, computed from the captured before/after images. An
//! UPDATE that a later UPDATE reverts leaves no net change; a row inserted and then
//! deleted leaves none either, whatever the operation counts say.
//!
//! While a statement's rows stream in, [`NetWriter`] reduces each one to four hashes
//! (its key and image before, its key and image after), 65 bytes, kept in memory for
//! small statements and in a nameless spill file (see [`super::spill`]) beyond
//! [`IN_MEMORY`] bytes, so memory stays flat at a million rows. It also counts the
//! statement's own net effect as it goes: a table that one statement changed needs
//! nothing more. Only where several statements changed one table (or one statement
//! changed key values) are their entries merged ([`merge`]): statement by statement,
//! first every row's state before (the first one seen for a key is the state at the
//! transaction's start), then every row's state after (the last one seen is the state
//! now); a key whose first and last states differ is one row of net change.
//!
//! Rows are keyed by the table's primary key or unique key, as the diff is. A row keyed
//! by `ctid` has no identity across statements, and an upsert's old values are not
//! captured: such a table's net change is "not known", with the reason.
//! Hashes are SHA-256 truncated to 128 bits: two different rows share one with a
//! probability far below that of a disk error.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};

use sha2::{Digest, Sha256};

/// Bytes of entries kept in memory before they move to a spill file.
pub const IN_MEMORY: usize = 1 << 20;

/// One 128-bit hash.
type Hash = [u8; 16];

/// Bytes of one entry: flags, then old key, old image, new key, new image.
const ENTRY: usize = 1 + 4 * 16;

/// Rows that differ from the transaction's start, for one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetCounts {
    /// Rows that exist now and did not at the start.
    pub inserted: i64,
    /// Rows that exist at both ends with a different image.
    pub changed: i64,
    /// Rows that existed at the start and do not now.
    pub deleted: i64,
}

impl NetCounts {
    /// No row differs.
    pub fn is_none(&self) -> bool {
        *self == NetCounts::default()
    }
}

/// One captured row, reduced to hashes: `(key, image)` before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    old: Option<(Hash, Hash)>,
    new: Option<(Hash, Hash)>,
}

impl Entry {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.old.is_some()) | (u8::from(self.new.is_some()) << 1));
        for side in [self.old, self.new] {
            let (k, i) = side.unwrap_or_default();
            out.extend_from_slice(&k);
            out.extend_from_slice(&i);
        }
    }

    fn decode(bytes: &[u8; ENTRY]) -> Entry {
        let hash = |at: usize| -> Hash {
            let mut h = Hash::default();
            h.copy_from_slice(&bytes[at..at + 16]);
            h
        };
        let flags = bytes[0];
        Entry {
            old: (flags & 1 != 0).then(|| (hash(1), hash(17))),
            new: (flags & 2 != 0).then(|| (hash(33), hash(49))),
        }
    }
}

fn hash(bytes: &[u8]) -> Hash {
    let full = Sha256::digest(bytes);
    let mut h = Hash::default();
    h.copy_from_slice(&full[..16]);
    h
}

/// The hash of a row's key: the fields at `indices` of its `record_out` text, each
/// framed (`0` for SQL NULL, `1`, length and bytes otherwise). `None` when the text is
/// not a record with those fields. `scratch` holds a quoted field while it is unescaped,
/// so a row costs no allocation.
fn key_hash(text: &str, indices: &[usize], scratch: &mut String) -> Option<Hash> {
    let mut hasher = Sha256::new();
    for &i in indices {
        let field = super::record::fields(text)?.nth(i)?.ok()?;
        if field.unescape_into(scratch) {
            hasher.update([1]);
            hasher.update((scratch.len() as u64).to_be_bytes());
            hasher.update(scratch.as_bytes());
        } else {
            hasher.update([0]);
        }
    }
    let full = hasher.finalize();
    let mut h = Hash::default();
    h.copy_from_slice(&full[..16]);
    Some(h)
}

/// Where entries are, for one statement.
#[derive(Debug)]
enum Store {
    Memory(Vec<u8>),
    File(File),
}

/// Takes a statement's captured rows one at a time; see the module docs.
#[derive(Debug)]
pub struct NetWriter {
    /// Field indices of the key in an image; `None`: rows have no key (`ctid`).
    key: Option<Vec<usize>>,
    buffer: Vec<u8>,
    file: Option<io::BufWriter<File>>,
    unknown: Option<String>,
    rekeyed: bool,
    counts: NetCounts,
    /// Reused while a key field is unescaped.
    scratch: String,
}

impl NetWriter {
    /// A writer for rows whose key fields are at `key` (`None` for rows keyed by ctid).
    pub fn new(key: Option<Vec<usize>>) -> NetWriter {
        let unknown = key.is_none().then(|| {
            "its rows have no primary or unique key, so a row cannot be followed from one statement to the next"
                .to_string()
        });
        NetWriter {
            key,
            buffer: Vec::new(),
            file: None,
            unknown,
            rekeyed: false,
            counts: NetCounts::default(),
            scratch: String::new(),
        }
    }

    /// Takes one row: its image before and after (`record_out` text), and whether it
    /// was changed in place (an upsert's update arrives with no image before).
    pub fn push(&mut self, old: Option<&str>, new: Option<&str>, updated: bool) {
        if self.unknown.is_some() {
            return;
        }
        if updated && old.is_none() {
            self.unknown = Some(
                "the old values of rows an INSERT … ON CONFLICT DO UPDATE changed are not captured"
                    .into(),
            );
            return;
        }
        let Some(indices) = self.key.as_deref() else {
            return;
        };
        let scratch = &mut self.scratch;
        let mut side = |text: Option<&str>| -> Result<Option<(Hash, Hash)>, ()> {
            match text {
                None => Ok(None),
                Some(t) => Ok(Some((
                    key_hash(t, indices, scratch).ok_or(())?,
                    hash(t.as_bytes()),
                ))),
            }
        };
        let (Ok(old), Ok(new)) = (side(old), side(new)) else {
            self.unknown = Some("a captured row's key could not be read".into());
            return;
        };
        match (old, new) {
            (Some((ko, io)), Some((kn, inew))) => {
                if ko != kn {
                    self.rekeyed = true;
                }
                if io != inew {
                    self.counts.changed += 1;
                }
            }
            (Some(_), None) => self.counts.deleted += 1,
            (None, Some(_)) => self.counts.inserted += 1,
            (None, None) => return,
        }
        Entry { old, new }.encode(&mut self.buffer);
        if self.buffer.len() >= IN_MEMORY {
            if let Err(e) = self.flush() {
                self.unknown = Some(format!("its row hashes could not be spilled ({e})"));
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            let file = super::spill::file().map_err(io::Error::other)?;
            self.file = Some(io::BufWriter::new(file));
        }
        if let Some(file) = self.file.as_mut() {
            file.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }

    /// The statement's rows, ready to merge.
    pub fn finish(mut self) -> NetRows {
        if self.unknown.is_none() && self.file.is_some() {
            if let Err(e) = self.flush() {
                self.unknown = Some(format!("its row hashes could not be spilled ({e})"));
            }
        }
        let store = match (self.unknown, self.file) {
            (Some(why), _) => Err(why),
            (None, None) => Ok(Store::Memory(self.buffer)),
            (None, Some(file)) => match file.into_inner() {
                Ok(file) => Ok(Store::File(file)),
                Err(e) => Err(format!(
                    "its row hashes could not be spilled ({})",
                    e.error()
                )),
            },
        };
        NetRows {
            store,
            rekeyed: self.rekeyed,
            counts: self.counts,
        }
    }
}

/// One statement's rows, reduced to hashes, and its own net effect.
#[derive(Debug)]
pub struct NetRows {
    store: Result<Store, String>,
    rekeyed: bool,
    counts: NetCounts,
}

impl NetRows {
    /// Why the net change cannot be computed from these rows.
    pub fn unknown(&self) -> Option<&str> {
        self.store.as_ref().err().map(String::as_str)
    }

    /// The statement's own rows: inserted, changed and deleted.
    pub fn counts(&self) -> NetCounts {
        self.counts
    }

    /// The statement changed the key of a row (`SET id = id + 1`).
    pub fn rekeyed(&self) -> bool {
        self.rekeyed
    }

    fn entries(&self) -> io::Result<Vec<Entry>> {
        let mut bytes = Vec::new();
        match &self.store {
            Err(why) => return Err(io::Error::other(why.clone())),
            Ok(Store::Memory(b)) => bytes.extend_from_slice(b),
            Ok(Store::File(f)) => {
                let mut f = f.try_clone()?;
                f.rewind()?;
                BufReader::new(f).read_to_end(&mut bytes)?;
            }
        }
        Ok(bytes
            .chunks_exact(ENTRY)
            .map(|c| Entry::decode(c.try_into().expect("ENTRY bytes")))
            .collect())
    }
}

/// The net change of a table that `statements` (in order) changed, and nothing else.
pub fn merge(statements: &[&NetRows]) -> Result<NetCounts, String> {
    if let Some(why) = statements.iter().find_map(|s| s.unknown()) {
        return Err(why.to_string());
    }
    if let [only] = statements {
        if !only.rekeyed {
            return Ok(only.counts);
        }
    }
    // key → (state at the start, state now); `None`: no such row.
    let mut rows: std::collections::HashMap<Hash, (Option<Hash>, Option<Hash>)> =
        std::collections::HashMap::new();
    for s in statements {
        let entries = s
            .entries()
            .map_err(|e| format!("its row hashes could not be read back ({e})"))?;
        // Every old state is the one before the statement, every new one after it:
        // all the old ones first, so a key one row leaves and another takes (`SET id =
        // id + 1`) is followed correctly.
        for e in &entries {
            if let Some((key, image)) = e.old {
                rows.entry(key).or_insert((Some(image), None)).1 = None;
            }
        }
        for e in &entries {
            if let Some((key, image)) = e.new {
                rows.entry(key).or_insert((None, None)).1 = Some(image);
            }
        }
    }
    let mut net = NetCounts::default();
    for (start, now) in rows.values() {
        match (start, now) {
            (None, Some(_)) => net.inserted += 1,
            (Some(_), None) => net.deleted += 1,
            (Some(a), Some(b)) if a != b => net.changed += 1,
            _ => {}
        }
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(list: &[(Option<&str>, Option<&str>)]) -> NetRows {
        let mut w = NetWriter::new(Some(vec![0]));
        for (old, new) in list {
            w.push(*old, *new, old.is_some() && new.is_some());
        }
        w.finish()
    }

    #[test]
    fn one_statement_counts_as_it_goes() {
        let s = rows(&[
            (Some("(1,a)"), Some("(1,b)")),
            (Some("(2,a)"), Some("(2,a)")),
            (None, Some("(3,a)")),
            (Some("(4,a)"), None),
        ]);
        assert_eq!(
            merge(&[&s]),
            Ok(NetCounts {
                inserted: 1,
                changed: 1,
                deleted: 1
            })
        );
    }

    #[test]
    fn reverted_and_transient_rows_leave_no_net_change() {
        let update = rows(&[
            (Some("(1,a)"), Some("(1,b)")),
            (Some("(2,x)"), Some("(2,y)")),
        ]);
        let revert = rows(&[
            (Some("(1,b)"), Some("(1,a)")),
            (Some("(2,y)"), Some("(2,x)")),
        ]);
        assert_eq!(merge(&[&update, &revert]), Ok(NetCounts::default()));
        let insert = rows(&[(None, Some("(9,a)"))]);
        let delete = rows(&[(Some("(9,a)"), None)]);
        assert_eq!(merge(&[&insert, &delete]), Ok(NetCounts::default()));
        // Deleted and inserted again as it was: no row differs.
        let back = rows(&[(None, Some("(9,a)"))]);
        let gone = rows(&[(Some("(9,a)"), None)]);
        assert_eq!(merge(&[&gone, &back]), Ok(NetCounts::default()));
        // Inserted, then changed: one row inserted.
        let change = rows(&[(Some("(9,a)"), Some("(9,b)"))]);
        let again = rows(&[(None, Some("(9,a)"))]);
        assert_eq!(
            merge(&[&again, &change]),
            Ok(NetCounts {
                inserted: 1,
                ..NetCounts::default()
            })
        );
    }

    #[test]
    fn keys_that_move_are_followed_by_key() {
        // UPDATE t SET id = id + 1 over ids 1 and 2: row 1 is gone, row 2 changed, row
        // 3 is new.
        let shift = rows(&[
            (Some("(1,a)"), Some("(2,a)")),
            (Some("(2,b)"), Some("(3,b)")),
        ]);
        assert_eq!(
            merge(&[&shift]),
            Ok(NetCounts {
                inserted: 1,
                changed: 1,
                deleted: 1
            })
        );
        // Shifted back: nothing differs.
        let back = rows(&[
            (Some("(2,a)"), Some("(1,a)")),
            (Some("(3,b)"), Some("(2,b)")),
        ]);
        assert_eq!(merge(&[&shift, &back]), Ok(NetCounts::default()));
    }

    #[test]
    fn null_json_null_and_empty_are_different_states() {
        let s = rows(&[
            (Some("(1,)"), Some("(1,null)")),
            (Some("(2,\"\")"), Some("(2,)")),
        ]);
        assert_eq!(merge(&[&s]).map(|n| n.changed), Ok(2));
    }

    #[test]
    fn unknown_where_rows_cannot_be_followed() {
        let mut w = NetWriter::new(None);
        w.push(Some("(1)"), Some("(2)"), true);
        assert!(merge(&[&w.finish()]).is_err());
        let mut w = NetWriter::new(Some(vec![0]));
        w.push(None, Some("(1,a)"), true);
        let upsert = w.finish();
        assert!(upsert.unknown().expect("why").contains("ON CONFLICT"));
        let mut w = NetWriter::new(Some(vec![5]));
        w.push(Some("(1,a)"), None, false);
        assert!(merge(&[&w.finish()]).is_err());
    }

    #[test]
    fn many_rows_spill_and_merge_the_same() {
        let n = IN_MEMORY / ENTRY + 10;
        let texts: Vec<(String, String)> = (0..n)
            .map(|i| (format!("({i},a)"), format!("({i},b)")))
            .collect();
        let mut up = NetWriter::new(Some(vec![0]));
        let mut down = NetWriter::new(Some(vec![0]));
        for (a, b) in &texts {
            up.push(Some(a), Some(b), true);
            down.push(Some(b), Some(a), true);
        }
        let (up, down) = (up.finish(), down.finish());
        assert!(matches!(up.store, Ok(Store::File(_))));
        assert_eq!(merge(&[&up]).map(|c| c.changed), Ok(n as i64));
        assert_eq!(merge(&[&up, &down]), Ok(NetCounts::default()));
    }
}
