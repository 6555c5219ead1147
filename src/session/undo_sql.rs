//! The undo SQL of the open transaction, generated at COMMIT before the summary from
//! every captured row's images (`preview::revert`), so a failure to generate or store it
//! is said in the summary as a reason undo is impossible. Statements are undone last
//! first, so a child deleted after its parent is inserted back after it; the rows one
//! statement deleted go back parents first ([`super::undo_inserts`]), and every
//! statement's other rows are undone last row first. A key a statement changed while it
//! deleted rows referencing its old value is set back before they go back, and a
//! statement whose rows no order puts back has no undo ([`super::undo_no_order`]).
//! Every row the undo restores has its
//! check line, including a key a row moved away from. Small undo goes inline into the
//! `commit_intent` record; larger undo streams into a gzip side file next to the
//! session log (memory stays flat), named and referenced by the SHA-256 of the SQL.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use crate::conn::Client;
use sha2::{Digest, Sha256};

use crate::audit::hex;
use crate::preview::images::{spill_line, ChangeKind, Datum, Image};
use crate::preview::revert::{Column, Target};

use super::changes::NetStatement;
use super::Session;

/// Undo SQL up to this many bytes goes inline into the record.
pub const INLINE_MAX: usize = 16 * 1024;

/// Where the generated undo SQL is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The SQL, when inline.
    pub sql: Option<String>,
    /// The side file's name, next to the log.
    pub file: Option<String>,
    /// SHA-256 (hex) of the SQL.
    pub sha256: String,
}

impl Session {
    /// Generates and stores the undo SQL where undo is possible; the result goes to
    /// `changes.undo_sql`, which the summary and the `commit_intent` record read.
    pub(super) async fn generate_undo(&mut self) {
        self.changes.undo_sql = None;
        if !super::undo::availability(&self.changes).possible {
            return;
        }
        let dir = self
            .log
            .path()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let mut out = Out::new(dir);
        let stored = match generate(&self.conn.client, &self.changes.net, &mut out).await {
            Ok(()) => out.finish(),
            Err(why) => Err(why),
        };
        self.changes.undo_sql = Some(stored);
    }
}

/// The prefix of a check line in the stored undo: a one-line read that returns a row
/// for each row changed since the commit (see [`Target::check`]). As SQL the line is a
/// comment, so the stored undo still runs as it is in psql.
pub const CHECK: &str = "-- check: ";

/// Writes the undo SQL of `statements`, last statement first. The rows one statement
/// deleted (its own, its cascades' and its parts') go back first, parents before
/// children ([`super::undo_inserts`]); then, for each of its row changes, its check
/// line (when this is the last change of that row in the transaction: only then is its
/// after-image the state the commit left) and its statement, except for rows an ON
/// UPDATE CASCADE changed, which the undo of their parents' key cascades back (a
/// statement of their own would then find nothing).
async fn generate(
    client: &Client,
    statements: &[NetStatement],
    out: &mut Out,
) -> Result<(), String> {
    let mut undo = Rows::default();
    for s in statements {
        *undo.written.entry(s.relid).or_default() += 1;
        if s.rows.rekeyed() {
            undo.rekeyed.insert(s.relid);
        }
        let t = target(client, s).await?;
        undo.targets.insert(s.relid, t);
    }
    let mut end = statements.len();
    while end > 0 {
        let step = statements[end - 1].step;
        let mut start = end - 1;
        while start > 0 && statements[start - 1].step == step {
            start -= 1;
        }
        let group: Vec<&NetStatement> = statements[start..end].iter().rev().collect();
        let first = super::undo_no_order::check(client, &group).await?;
        for s in group.iter().filter(|s| first.contains(&s.relid)) {
            undo.statement(s, out)?;
        }
        super::undo_inserts::write(client, &group, &undo.targets, out).await?;
        for s in group.iter().filter(|s| !first.contains(&s.relid)) {
            undo.statement(s, out)?;
        }
        end = start;
    }
    Ok(())
}

/// What the undo of the rows keeps while it goes, statement by statement, last first.
#[derive(Default)]
struct Rows {
    /// Each table's undo target.
    targets: HashMap<u32, Target>,
    /// Statements per table.
    written: HashMap<u32, usize>,
    /// Tables a statement changed keys in.
    rekeyed: HashSet<u32>,
    /// Keys (hashed, 16 bytes each) of the rows later statements changed, only for
    /// tables that more than one statement changed: a single statement's rows are each
    /// their own last.
    later: HashSet<(u32, [u8; 16])>,
    /// Keys the commit left rows at, in tables a statement changed keys in: a key a
    /// row moved away from and no row holds at the commit must still be free when the
    /// undo moves the row back.
    occupied: KeySet,
}

impl Rows {
    /// Writes the checks of `s`'s rows and their statements (but the INSERTs of its
    /// deleted rows, written before). Every statement is undone last row first: it ran
    /// row by row with its unique keys and its RESTRICT foreign keys checked at each
    /// row, so undoing its rows in the reverse order passes back through the states it
    /// passed through (`SET code = code + 1` is undone lowest code first, whatever the
    /// key pgward finds rows by; a tree inserted parents first is deleted children
    /// first).
    fn statement(&mut self, s: &NetStatement, out: &mut Out) -> Result<(), String> {
        let target = self
            .targets
            .get(&s.relid)
            .ok_or_else(|| format!("{}: its undo target was not read", s.table))?;
        let track = self.written.get(&s.relid).copied().unwrap_or(0) > 1;
        let tracks_keys = self.rekeyed.contains(&s.relid);
        let Some(spill) = &s.spill else {
            if s.counted == (0, 0, 0) {
                return Ok(());
            }
            return Err(format!("{}: its row images were not kept", s.table));
        };
        let failed =
            |e: std::io::Error| format!("{}: its row images could not be read ({e})", s.table);
        let rows =
            || -> Result<_, String> { Ok(BufReader::new(spill.reader().map_err(failed)?).lines()) };
        let parse = |line: std::io::Result<String>| -> Result<Change, String> {
            let line = line.map_err(failed)?;
            let (kind, old, new) = spill_line(&line)
                .ok_or_else(|| format!("{}: a row image could not be read back", s.table))?;
            let image = |text: &Option<String>| {
                text.as_deref()
                    .map(|t| Image::parse(t, &s.columns))
                    .transpose()
                    .map_err(|e| format!("{}: {e}", s.table))
            };
            let (old_image, new_image) = (image(&old)?, image(&new)?);
            let key = |i: &Option<Image>| i.as_ref().map(|i| (s.relid, key_hash(target, i)));
            let (before, after) = if track || tracks_keys {
                (key(&old_image), key(&new_image))
            } else {
                (None, None)
            };
            Ok(Change {
                kind,
                new,
                old_image,
                new_image,
                before,
                after,
            })
        };
        // Each row's last change is judged against later statements only, never
        // against rows of its own (in `SET id = id + 1` one row takes the key another
        // leaves: both are the commit's state).
        let later = &self.later;
        let last = |c: &Change| {
            !track
                || !match c.kind {
                    ChangeKind::Deleted => c.before.is_some_and(|k| later.contains(&k)),
                    _ => c.after.is_some_and(|k| later.contains(&k)),
                }
        };
        let rekeyed = s.rows.rekeyed();
        if rekeyed {
            for line in rows()? {
                let c = parse(line)?;
                if last(&c) && c.kind != ChangeKind::Deleted {
                    self.occupied.extend(c.after);
                }
            }
        }
        let mut mine: Vec<(u32, [u8; 16])> = Vec::new();
        let mut reversed = Reversed::new().map_err(|e| format!("{}: {e}", s.table))?;
        let restores_deleted = super::undo_inserts::restores_deleted(s);
        for line in rows()? {
            let c = parse(line)?;
            let fail = |why: String| format!("{}: {why}", s.table);
            let mut chunk = String::new();
            if last(&c) {
                let check = target
                    .check(
                        c.kind,
                        c.old_image.as_ref(),
                        c.new_image.as_ref(),
                        c.new.as_deref(),
                    )
                    .map_err(fail)?;
                chunk.push_str(CHECK);
                chunk.push_str(&check);
                chunk.push('\n');
                if tracks_keys && !rekeyed && c.kind != ChangeKind::Deleted {
                    self.occupied.extend(c.after);
                }
            }
            if track {
                mine.extend(c.before);
                mine.extend(c.after);
            }
            // A key the row moved away from, which no row holds at the commit: the
            // undo puts the row back there, so it must still be free.
            if let (ChangeKind::Updated, Some(old), Some(before)) =
                (c.kind, c.old_image.as_ref(), c.before)
            {
                if rekeyed && c.after != Some(before) && !self.occupied.contains(before) {
                    chunk.push_str(CHECK);
                    chunk.push_str(&target.vacated_check(old).map_err(fail)?);
                    chunk.push('\n');
                }
            }
            match c.kind {
                // Put back by the server when the undo of its parent's key cascades.
                _ if s.by_cascade => {}
                // Inserted before, parents first.
                ChangeKind::Deleted if restores_deleted => {}
                ChangeKind::Deleted => {
                    return Err(fail(
                        "a deleted row its statement's counts do not show".to_string(),
                    ))
                }
                _ => {
                    let sql = target
                        .undo(
                            c.kind,
                            c.old_image.as_ref(),
                            c.new_image.as_ref(),
                            c.new.as_deref(),
                        )
                        .map_err(fail)?;
                    chunk.push_str(&sql);
                    chunk.push('\n');
                }
            }
            if !chunk.is_empty() {
                reversed
                    .push(&chunk)
                    .map_err(|e| format!("{}: {e}", s.table))?;
            }
        }
        reversed
            .drain(out)
            .map_err(|e| format!("{}: {e}", s.table))?;
        self.later.extend(mine);
        Ok(())
    }
}

/// Hashed keys, 20 bytes each in one sorted list (a hash set would take about twice
/// that): keys are added statement by statement and looked up only while a later
/// statement is written, so the list is sorted once per statement that looks.
#[derive(Default)]
struct KeySet {
    sorted: Vec<(u32, [u8; 16])>,
    added: Vec<(u32, [u8; 16])>,
}

impl KeySet {
    fn extend(&mut self, keys: impl IntoIterator<Item = (u32, [u8; 16])>) {
        self.added.extend(keys);
    }

    fn contains(&mut self, key: (u32, [u8; 16])) -> bool {
        if !self.added.is_empty() {
            self.sorted.append(&mut self.added);
            self.sorted.sort_unstable();
            self.sorted.dedup();
        }
        self.sorted.binary_search(&key).is_ok()
    }
}

/// One captured row change, read back from its spill line.
struct Change {
    kind: ChangeKind,
    /// The after-image as captured (`record_out` text).
    new: Option<String>,
    old_image: Option<Image>,
    new_image: Option<Image>,
    /// The row's key before and after, hashed, where keys are followed.
    before: Option<(u32, [u8; 16])>,
    after: Option<(u32, [u8; 16])>,
}

/// A statement's undo lines held back to be written last row first: in a nameless
/// scratch file (they hold production values), with each row's offset in memory.
struct Reversed {
    file: std::io::BufWriter<std::fs::File>,
    starts: Vec<u64>,
    at: u64,
}

impl Reversed {
    fn new() -> Result<Reversed, String> {
        let file = crate::preview::spill::file().map_err(|e| scratch_failed(&e))?;
        Ok(Reversed {
            file: std::io::BufWriter::new(file),
            starts: Vec::new(),
            at: 0,
        })
    }

    fn push(&mut self, chunk: &str) -> Result<(), String> {
        self.starts.push(self.at);
        self.file
            .write_all(chunk.as_bytes())
            .map_err(|e| scratch_failed(&e))?;
        self.at += chunk.len() as u64;
        Ok(())
    }

    /// Writes the held lines last first, reading the scratch file backwards a window
    /// at a time (one read per window, not one per row).
    fn drain(self, out: &mut Out) -> Result<(), String> {
        use std::io::{Read, Seek, SeekFrom};
        const WINDOW: u64 = 1 << 20;
        let mut file = self
            .file
            .into_inner()
            .map_err(|e| scratch_failed(&e.error()))?;
        let mut end = self.at;
        let mut window = Vec::new();
        let mut window_start = end;
        for &start in self.starts.iter().rev() {
            if start < window_start {
                let from = start.min(end.saturating_sub(WINDOW));
                window.resize((end - from) as usize, 0);
                file.seek(SeekFrom::Start(from))
                    .and_then(|_| file.read_exact(&mut window))
                    .map_err(|e| scratch_failed(&e))?;
                window.truncate((end - from) as usize);
                window_start = from;
            }
            let line = &window[(start - window_start) as usize..(end - window_start) as usize];
            out.write(std::str::from_utf8(line).map_err(|e| scratch_failed(&e))?)?;
            end = start;
        }
        Ok(())
    }
}

fn scratch_failed(e: &dyn std::fmt::Display) -> String {
    format!("its undo could not be put in order (a scratch file: {e})")
}

/// A row's key values, hashed (128 bits, as the net change hashes keys).
fn key_hash(target: &Target, image: &Image) -> [u8; 16] {
    let mut h = Sha256::new();
    for k in &target.key {
        frame(&mut h, image.get(k));
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    out
}

/// The values of `cols` in `image`, hashed as [`key_hash`] hashes a key; `None` when
/// one of them is NULL (such a foreign key references nothing).
pub(super) fn column_hash(image: &Image, cols: &[String]) -> Option<[u8; 16]> {
    let mut h = Sha256::new();
    for c in cols {
        match image.get(c) {
            Some(Datum::Text(_)) => frame(&mut h, image.get(c)),
            _ => return None,
        }
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize()[..16]);
    Some(out)
}

fn frame(h: &mut Sha256, value: Option<&Datum>) {
    match value {
        Some(Datum::Text(v)) => {
            h.update([1]);
            h.update((v.len() as u64).to_be_bytes());
            h.update(v.as_bytes());
        }
        _ => h.update([0]),
    }
}

/// The undo target of `s`: its columns with their types, from the catalog.
async fn target(client: &Client, s: &NetStatement) -> Result<Target, String> {
    let rows = client
        .query(
            "SELECT attname::pg_catalog.text, \
                    pg_catalog.format_type(atttypid, atttypmod), \
                    attgenerated OPERATOR(pg_catalog.<>) '' \
             FROM pg_catalog.pg_attribute \
             WHERE attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid \
               AND attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped \
             ORDER BY attnum",
            &[&s.relid],
        )
        .await
        .map_err(|e| format!("{}: its column types could not be read ({e})", s.table))?;
    let mut columns = Vec::new();
    for row in &rows {
        let read = |e: tokio_postgres::Error| format!("{}: {e}", s.table);
        columns.push(Column {
            name: row.try_get(0).map_err(read)?,
            ty: row.try_get(1).map_err(read)?,
            generated: row.try_get(2).map_err(read)?,
        });
    }
    one_line(
        &s.table,
        std::iter::once(s.quoted.as_str()).chain(
            columns
                .iter()
                .flat_map(|c| [c.name.as_str(), c.ty.as_str()]),
        ),
    )?;
    let names: Vec<&String> = columns.iter().map(|c| &c.name).collect();
    if names != s.columns.iter().collect::<Vec<_>>() {
        return Err(format!(
            "{}: its columns changed after its rows were captured",
            s.table
        ));
    }
    Ok(Target {
        table: s.quoted.clone(),
        columns,
        key: s.key.clone(),
    })
}

/// Undo is stored one statement per line: values are literals with their line breaks
/// escaped, but a name (quoted as an identifier) or a type name keeps a line break as it
/// is, which would cut its statement in two. Such a table has no undo, said before COMMIT.
fn one_line<'a>(table: &str, names: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    match names.into_iter().find(|n| n.contains(['\n', '\r'])) {
        Some(name) => Err(format!(
            "{table}: the name {} holds a line break, which undo's one-statement-per-line record cannot carry",
            crate::render::escape::one_line(name)
        )),
        None => Ok(()),
    }
}

/// Where undo SQL is written as it is generated: in memory up to [`INLINE_MAX`] bytes,
/// then into a gzip file in the log's directory, so memory stays flat however many rows
/// the change touched. Hashed throughout.
pub(super) struct Out {
    dir: Option<std::path::PathBuf>,
    inline: String,
    file: Option<(
        std::path::PathBuf,
        flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>,
    )>,
    hasher: Sha256,
}

impl Out {
    fn new(dir: Option<std::path::PathBuf>) -> Out {
        Out {
            dir,
            inline: String::new(),
            file: None,
            hasher: Sha256::new(),
        }
    }

    pub(super) fn write(&mut self, text: &str) -> Result<(), String> {
        self.hasher.update(text.as_bytes());
        if self.file.is_none() && self.inline.len() + text.len() <= INLINE_MAX {
            self.inline.push_str(text);
            return Ok(());
        }
        if self.file.is_none() {
            let dir = self.dir.as_ref().ok_or(
                "the undo SQL is too large to keep inline and the session is not logged to a file",
            )?;
            let path = dir.join(format!(".undo-{}.sql.gz.part", std::process::id()));
            let file = std::fs::File::create(&path).map_err(|e| side_failed(&path, &e))?;
            let gz = flate2::write::GzEncoder::new(
                std::io::BufWriter::new(file),
                flate2::Compression::default(),
            );
            let held = std::mem::take(&mut self.inline);
            self.file = Some((path, gz));
            self.write_file(&held)?;
        }
        self.write_file(text)
    }

    fn write_file(&mut self, text: &str) -> Result<(), String> {
        if let Some((path, gz)) = self.file.as_mut() {
            gz.write_all(text.as_bytes())
                .map_err(|e| side_failed(path, &e))?;
        }
        Ok(())
    }

    /// Where the SQL ended up: inline, or the side file renamed to its SHA-256.
    fn finish(self) -> Result<Stored, String> {
        let sha256 = hex::encode(&self.hasher.finalize());
        let Some((part, gz)) = self.file else {
            return Ok(Stored {
                sql: Some(self.inline),
                file: None,
                sha256,
            });
        };
        let name = format!("undo-{sha256}.sql.gz");
        let path = part.with_file_name(&name);
        let done = gz
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&part, &path));
        if let Err(e) = done {
            let _ = std::fs::remove_file(&part);
            return Err(side_failed(&path, &e));
        }
        Ok(Stored {
            sql: None,
            file: Some(name),
            sha256,
        })
    }
}

fn side_failed(path: &Path, e: &std::io::Error) -> String {
    format!(
        "the undo side file {} could not be written ({e})",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_set_finds_keys_added_in_any_order() {
        let mut set = KeySet::default();
        set.extend([(2, [9; 16]), (1, [3; 16])]);
        assert!(set.contains((1, [3; 16])));
        assert!(!set.contains((1, [9; 16])));
        set.extend([(1, [9; 16]), (2, [9; 16])]);
        assert!(set.contains((1, [9; 16])) && set.contains((2, [9; 16])));
        assert_eq!(set.sorted.len(), 3);
    }

    #[test]
    fn a_name_with_a_line_break_has_no_undo() {
        assert!(one_line("t", ["\"t\"", "a", "integer"]).is_ok());
        for bad in ["a\nDROP TABLE x; --", "b\rc"] {
            let why = one_line("t", ["\"t\"", bad, "text"]).expect_err(bad);
            assert!(why.contains("line break") && !why.contains('\n'), "{why}");
        }
    }

    fn stored(text: &str, dir: Option<&Path>) -> Result<Stored, String> {
        let mut out = Out::new(dir.map(Path::to_path_buf));
        for line in text.split_inclusive('\n') {
            out.write(line)?;
        }
        out.finish()
    }

    #[test]
    fn small_undo_is_inline_and_large_goes_to_a_side_file() {
        let small = stored("DELETE FROM t WHERE id = 1;\n", None).expect("inline");
        assert!(small.sql.is_some() && small.file.is_none());
        assert_eq!(small.sha256.len(), 64);
        let dir = tempfile::tempdir().expect("dir");
        let big = "DELETE FROM t WHERE id = 1;\n".repeat(INLINE_MAX / 10);
        assert!(stored(&big, None).is_err(), "no log directory: refused");
        let kept = stored(&big, Some(dir.path())).expect("side file");
        let name = kept.file.expect("file");
        assert_eq!(name, format!("undo-{}.sql.gz", kept.sha256));
        assert_eq!(kept.sha256, hex::encode(&Sha256::digest(big.as_bytes())));
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("ls").count(),
            1,
            "no part file left"
        );
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(
                std::fs::File::open(dir.path().join(name)).expect("open"),
            ),
            &mut text,
        )
        .expect("gunzip");
        assert_eq!(text, big);
    }
}
