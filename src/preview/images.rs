//! The sink for captured row images: it takes each returned row as it streams in, keeps
//! only the first few for display, counts every row, digests every image, and writes
//! every row's images to a gzip-compressed spill file (for undo), so memory stays flat
//! however many rows a write touches.
//!
//! # Images
//!
//! An image is the row as PostgreSQL's `record_out` prints it: each column through its
//! type's own output function (no cast a type owner could redefine, as `to_json` would
//! use), SQL NULL as an empty field and any other value, the empty string and JSON
//! `null` included, as text (quoted where it holds a delimiter). Column names come from
//! the catalog, in the table's order; an image with another number of fields is
//! refused. Two values are "changed" when their output texts differ (stricter than `=`:
//! `1.0` and `1.00` differ) or, for an UPDATE whose capture asks the server
//! ([`ImageSink::compare_on_server`], [`super::distinct`]), when the server calls them
//! distinct; a value the server calls distinct that prints alike refuses the capture.
//!
//! An UPDATE's new image may come narrowed to the columns the statement can change
//! ([`ImageSink::narrow_new`]; `preview::statement::narrowed_fields` says when): the
//! server then prints only those, and the sink splices them into the old image field by
//! field, as printed. `record_out` quotes each field on its own, so the result is the
//! text the server prints for the whole new row, and everything below (digest, spill,
//! net change, diff) sees whole rows either way. Rows stream through without a copy
//! per row: fields are read in place ([`super::record`]), spill lines are escaped
//! straight into a buffer in front of the gzip encoder.
//!
//! # Digest
//!
//! SHA-256 over `b"pgward-images-v2\n"`, the column names (count, then each as a
//! big-endian u64 length and its bytes), then, for each row in arrival order,
//! `b"row\n"`, one kind byte (`I` inserted, `U` updated, `D` deleted), then the old and
//! the new image, each framed as `0x00` when absent or `0x01`, its length in bytes as a
//! big-endian u64, and the bytes: the whole row's record text exactly as the server
//! prints it (a narrowed new image is digested spliced, so the digest is the same). The
//! ctid is not digested (it is where a row lives, not what it holds). Where the server
//! compares columns, `b"compared\n"`, their count and each position (big-endian u64)
//! follow the column names, and each row ends with the count and positions of those it
//! called distinct.
//!
//! # Spill file
//!
//! Lines, gzip: one line per row, `K<TAB>before<TAB>after` (`K` the digest's kind byte,
//! an absent image empty), each image the server's record text with `\` written as
//! `\\`, line feed as `\n`, carriage return as `\r` and tab as `\t`, so each row is one
//! line and reads back exactly ([`spill_line`]). Written in arrival order. Temporary spill files are nameless and private
//! (see [`super::spill`]): they vanish when the [`Spill`] is dropped or the process ends.

use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};
use tokio_postgres::SimpleQueryRow;

use super::conflict::Prior;
use super::keys::RowKey;
use super::net::{NetRows, NetWriter};
use super::rewrite::{CaptureColumn, CaptureKind};

/// Why an upsert's updated rows come without old values when nothing else is known.
const UPSERT_OLD: &str = "the old values of rows an upsert updates were not read before it";

/// How many changed rows are kept for display unless configured otherwise.
pub const DEFAULT_SHOWN: usize = 20;

/// Bytes of spill lines gathered before they go to the gzip encoder.
const SPILL_BUFFER: usize = 64 * 1024;

/// Why captured rows could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The spill file could not be created or written.
    #[error("could not write before-images to a spill file ({}): {source}", path.display())]
    Spill {
        /// The file (or the directory it was to be created in).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A returned row does not end with the columns the capture appended.
    #[error(
        "the captured row does not end with pgward's columns: expected {expected}, found {found}"
    )]
    Columns {
        /// The expected trailing column names.
        expected: String,
        /// The row's column names.
        found: String,
    },
    /// A row holds bytes that are not UTF-8 (a SQL_ASCII database): its image would
    /// show them escaped, not as stored, so neither the diff nor the digest could be exact.
    #[error("a changed row holds bytes that are not UTF-8 (this SQL_ASCII database), which the preview cannot show as stored")]
    NotUtf8,
    /// The server called a column's old and new value distinct, and its output text
    /// is the same: the session's settings or the type's output function print two
    /// values alike, so the images can neither show the change nor undo it.
    #[error("the server says column {column} of a row changed, yet it prints the same before and after (the session's output settings or the type's output function print different values alike)")]
    PrintedAlike {
        /// The column, quoted as PostgreSQL would.
        column: String,
    },
    /// A row carried neither an old nor a new image.
    #[error("a captured row carries no image")]
    Empty,
    /// An image is not a JSON object.
    #[error("a captured row image is not a JSON object: {0}")]
    Malformed(String),
}

/// Where before-images are spilled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpillTo {
    /// A nameless file in pgward's private directory under the system temp dir
    /// ([`super::spill::file`]), gone when the [`Spill`] is dropped.
    TempFile,
    /// A nameless file in this directory, gone when the [`Spill`] is dropped.
    TempIn(PathBuf),
    /// This file, created or truncated, and kept.
    Path(PathBuf),
    /// No spill file.
    Off,
}

/// How the sink behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOptions {
    /// How many rows are kept for display.
    pub shown: usize,
    /// Where before-images go.
    pub spill: SpillTo,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            shown: DEFAULT_SHOWN,
            spill: SpillTo::TempFile,
        }
    }
}

/// What a write did to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The row is new.
    Inserted,
    /// The row was changed in place.
    Updated,
    /// The row is gone.
    Deleted,
}

impl ChangeKind {
    fn digest_byte(self) -> u8 {
        match self {
            ChangeKind::Inserted => b'I',
            ChangeKind::Updated => b'U',
            ChangeKind::Deleted => b'D',
        }
    }
}

/// One column value of an image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Datum {
    /// SQL NULL.
    Null,
    /// The type's output text (JSON `null` is the text `null`, not [`Datum::Null`]).
    Text(String),
}

impl Datum {
    /// The value as shown: `NULL`, or the text.
    pub fn display(&self) -> &str {
        match self {
            Datum::Null => "NULL",
            Datum::Text(s) => s,
        }
    }
}

/// A row image: column names and values in the table's column order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image {
    /// `(column, value)` pairs.
    pub columns: Vec<(String, Datum)>,
}

impl Image {
    /// Parses the `record_out` text of a row whose columns are `names`.
    pub fn parse(text: &str, names: &[String]) -> Result<Image, ImageError> {
        let mut values = record_fields(text).ok_or_else(|| ImageError::Malformed(excerpt(text)))?;
        if values.is_empty() && names.len() == 1 {
            // A one-column row holding NULL prints as `()`, like a row of no columns.
            values.push(Datum::Null);
        }
        if values.len() != names.len() {
            return Err(ImageError::Malformed(format!(
                "{} fields for {} columns: {}",
                values.len(),
                names.len(),
                excerpt(text)
            )));
        }
        Ok(Image {
            columns: names.iter().cloned().zip(values).collect(),
        })
    }

    /// The value of `column`, if the image has it.
    pub fn get(&self, column: &str) -> Option<&Datum> {
        self.columns
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, value)| value)
    }
}

/// One changed row kept for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowChange {
    /// The row's key: `(column, value)` per key column, or `("ctid", …)` for ctid keying.
    pub key: Vec<(String, String)>,
    /// What happened to the row.
    pub kind: ChangeKind,
    /// The row before (UPDATE, DELETE).
    pub old: Option<Image>,
    /// The row after (INSERT, UPDATE, upsert).
    pub new: Option<Image>,
    /// The row's ctid as returned (after an UPDATE, the new version's).
    pub ctid: Option<String>,
}

/// The before-image spill file. A temporary one has no name and is gone when this is
/// dropped.
#[derive(Debug)]
pub struct Spill {
    file: File,
    path: Option<PathBuf>,
    rows: u64,
}

impl Spill {
    /// The file's path; `None` for a temporary (nameless) one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// How many before-images it holds.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Reads the spill back from its start: gzip-compressed JSON Lines.
    pub fn reader(&self) -> io::Result<flate2::read::GzDecoder<File>> {
        let mut file = self.file.try_clone()?;
        file.rewind()?;
        Ok(flate2::read::GzDecoder::new(file))
    }
}

/// Everything the sink took in.
#[derive(Debug)]
pub struct Images {
    /// The kind of statement captured.
    pub kind: CaptureKind,
    /// The first rows, at most the configured number.
    pub shown: Vec<RowChange>,
    /// All rows returned.
    pub total: u64,
    /// Rows inserted.
    pub inserted: u64,
    /// Rows updated.
    pub updated: u64,
    /// Rows deleted.
    pub deleted: u64,
    /// SHA-256 of all images (see the module docs for the framing).
    pub digest: [u8; 32],
    /// Before-images, when the statement had any and spilling was on.
    pub spill: Option<Spill>,
    /// Every row reduced to hashes, for the transaction's net change.
    pub net: NetRows,
    /// Why rows an upsert updated are shown without their old values; `None` when every
    /// updated row has them.
    pub old_values: Option<String>,
}

impl Images {
    /// The digest as lowercase hex.
    pub fn digest_hex(&self) -> String {
        self.digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The pgward columns of one returned row, as text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapturedRow<'a> {
    /// `pgward_old`.
    pub old: Option<&'a str>,
    /// `pgward_new`.
    pub new: Option<&'a str>,
    /// `pgward_inserted`, for upserts.
    pub inserted: Option<bool>,
    /// `pgward_ctid`.
    pub ctid: Option<&'a str>,
    /// `pgward_distinct`, where the server compares columns
    /// ([`ImageSink::compare_on_server`]).
    pub distinct: Option<&'a str>,
}

/// A fetched row as the sink reads it, whichever way it travelled: through the simple
/// query protocol, or as COPY's text in a SQL_ASCII database
/// ([`crate::session::copy_rows`]).
pub trait RowFields {
    /// How many columns the row has.
    fn width(&self) -> usize;
    /// The name of column `index`.
    fn name(&self, index: usize) -> Option<&str>;
    /// The text of column `index` (`Some(None)` is NULL); `None` when there is no such
    /// column or its value is not text pgward can read.
    fn text(&self, index: usize) -> Option<Option<&str>>;
    /// False when the text of column `index` shows bytes that are not UTF-8 escaped
    /// (`\xe9`), so it is not the value as stored.
    fn exact(&self, _index: usize) -> bool {
        true
    }
}

impl RowFields for SimpleQueryRow {
    fn width(&self) -> usize {
        self.len()
    }

    fn name(&self, index: usize) -> Option<&str> {
        self.columns().get(index).map(|c| c.name())
    }

    fn text(&self, index: usize) -> Option<Option<&str>> {
        self.try_get(index).ok()
    }
}

/// Takes captured rows one at a time; see the module docs.
pub struct ImageSink {
    kind: CaptureKind,
    key: RowKey,
    columns: Vec<String>,
    shown_limit: usize,
    spill_to: SpillTo,
    spill: Option<SpillWriter>,
    shown: Vec<RowChange>,
    total: u64,
    inserted: u64,
    updated: u64,
    deleted: u64,
    hasher: Sha256,
    net: NetWriter,
    /// For an upsert: the old images read before it, or why there are none.
    prior: Result<Prior, String>,
    /// Rows an upsert updated that came without their old image.
    unpaired: u64,
    /// The new image carries only these fields of the row (ascending): see
    /// [`ImageSink::narrow_new`].
    new_fields: Option<Vec<usize>>,
    /// The whole new image, spliced together (reused from row to row).
    spliced: String,
    /// The fields the server compares (ascending): see [`ImageSink::compare_on_server`].
    compared: Option<Vec<usize>>,
}

impl std::fmt::Debug for ImageSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageSink")
            .field("kind", &self.kind)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

struct SpillWriter {
    /// Lines are buffered before the encoder: it pays a fixed cost per write (it
    /// clears its output buffer each time), too much to pay once per row.
    encoder: BufWriter<GzEncoder<BufWriter<File>>>,
    /// The file, or for a nameless one the directory it is in (for messages).
    path: PathBuf,
    named: bool,
    rows: u64,
}

impl ImageSink {
    /// A sink for rows of a statement captured as `kind` on a table whose columns are
    /// `columns` (in order), keyed by `key`.
    pub fn new(
        kind: CaptureKind,
        key: RowKey,
        columns: Vec<String>,
        options: SinkOptions,
    ) -> ImageSink {
        let mut hasher = Sha256::new();
        hasher.update(b"pgward-images-v2\n");
        hasher.update((columns.len() as u64).to_be_bytes());
        for name in &columns {
            hasher.update((name.len() as u64).to_be_bytes());
            hasher.update(name.as_bytes());
        }
        let key_fields = match &key {
            RowKey::Primary(names) | RowKey::Unique(names) => names
                .iter()
                .map(|n| columns.iter().position(|c| c == n))
                .collect::<Option<Vec<usize>>>(),
            RowKey::Ctid => None,
        };
        ImageSink {
            net: NetWriter::new(key_fields),
            kind,
            key,
            columns,
            shown_limit: options.shown,
            spill_to: options.spill,
            spill: None,
            shown: Vec::new(),
            total: 0,
            inserted: 0,
            updated: 0,
            deleted: 0,
            hasher,
            prior: Err(UPSERT_OLD.into()),
            unpaired: 0,
            new_fields: None,
            spliced: String::new(),
            compared: None,
        }
    }

    /// For an upsert: the old images of the rows it may update, read before it ran
    /// ([`super::conflict`]), or why they were not read. Each updated row is paired
    /// with its old image by its conflict key.
    pub fn with_prior(mut self, prior: Result<Prior, String>) -> ImageSink {
        self.prior = prior;
        self
    }

    /// Takes new images that carry only the row's fields at `fields` (ascending
    /// positions in the table's columns), as `record_out(ROW(…))` prints them
    /// ([`super::rewrite::narrow_new_image`]), because the statement cannot change any
    /// other column. Each is spliced into the row's old image, field by field as
    /// printed, which gives exactly the text `record_out` prints for the whole new row
    /// (it quotes each field on its own): the digest, the spill and the diff see the
    /// whole new row.
    pub fn narrow_new(&mut self, fields: Vec<usize>) {
        self.new_fields = Some(fields);
    }

    /// Takes rows that end with `pgward_distinct`, the fields at `fields` (ascending
    /// positions in the table's columns) whose old and new values the server called
    /// distinct ([`super::distinct::compare_on_server`]). A field it calls distinct must
    /// print differently too, or the row is refused ([`ImageError::PrintedAlike`]). The
    /// digest binds which fields were compared and each row's verdict.
    pub fn compare_on_server(&mut self, fields: Vec<usize>) {
        self.hasher.update(b"compared\n");
        self.hasher.update((fields.len() as u64).to_be_bytes());
        for &field in &fields {
            self.hasher.update((field as u64).to_be_bytes());
        }
        self.compared = Some(fields);
    }

    /// How many columns pgward appends to each row of this capture.
    pub fn trailing(&self) -> usize {
        self.kind.columns().len() + usize::from(self.compared.is_some())
    }

    /// Opens the spill file now, before the statement runs, when this capture carries
    /// before-images: a temp dir that cannot take them is then known before anything
    /// ran, rather than failing the capture halfway through.
    pub fn open_spill(&mut self) -> Result<(), ImageError> {
        if self.spill.is_none() {
            self.spill = open_spill(&self.spill_to)?;
        }
        Ok(())
    }

    /// Takes one row of the capturing statement as it was fetched: pgward's trailing
    /// columns, found by name.
    pub fn push_fields(&mut self, row: &dyn RowFields) -> Result<(), ImageError> {
        let wanted = self.kind.columns();
        let flags = usize::from(self.compared.is_some());
        // Built only when the row does not fit: this runs once per captured row.
        let mismatch = || ImageError::Columns {
            expected: wanted
                .iter()
                .map(|c| c.name())
                .chain((flags > 0).then_some(super::distinct::FLAGS))
                .collect::<Vec<_>>()
                .join(", "),
            found: (0..row.width())
                .filter_map(|i| row.name(i))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let base = row
            .width()
            .checked_sub(wanted.len() + flags)
            .ok_or_else(mismatch)?;
        let mut captured = CapturedRow::default();
        for (offset, column) in wanted.iter().enumerate() {
            let index = base + offset;
            if row.name(index) != Some(column.name()) {
                return Err(mismatch());
            }
            let value = row.text(index).ok_or_else(mismatch)?;
            if !row.exact(index) {
                return Err(ImageError::NotUtf8);
            }
            match column {
                CaptureColumn::Old => captured.old = value,
                CaptureColumn::New => captured.new = value,
                CaptureColumn::Inserted => captured.inserted = value.map(|v| v == "t"),
                CaptureColumn::Ctid => captured.ctid = value,
            }
        }
        if flags > 0 {
            let index = base + wanted.len();
            if row.name(index) != Some(super::distinct::FLAGS) {
                return Err(mismatch());
            }
            captured.distinct = row.text(index).ok_or_else(mismatch)?;
        }
        self.push(captured)
    }

    /// Takes one row.
    pub fn push(&mut self, row: CapturedRow<'_>) -> Result<(), ImageError> {
        let Some(fields) = &self.new_fields else {
            return self.push_whole(row);
        };
        let (Some(old), Some(new)) = (row.old, row.new) else {
            return Err(ImageError::Malformed(
                "a narrowed new image without its old image".into(),
            ));
        };
        let mut spliced = std::mem::take(&mut self.spliced);
        let taken = splice(old, new, fields, self.columns.len(), &mut spliced).and_then(|()| {
            self.push_whole(CapturedRow {
                new: Some(&spliced),
                ..row
            })
        });
        self.spliced = spliced;
        taken
    }

    fn push_whole(&mut self, row: CapturedRow<'_>) -> Result<(), ImageError> {
        let paired;
        let row = match (self.kind, row.old, row.new, row.inserted) {
            (CaptureKind::Upsert, None, Some(new), Some(false)) => {
                paired = match &mut self.prior {
                    Ok(prior) => prior.take(new)?,
                    Err(_) => None,
                };
                if paired.is_none() {
                    self.unpaired += 1;
                }
                CapturedRow {
                    old: paired.as_deref(),
                    ..row
                }
            }
            _ => row,
        };
        let kind = match (row.old, row.new) {
            (Some(_), Some(_)) => ChangeKind::Updated,
            (Some(_), None) => ChangeKind::Deleted,
            (None, Some(_)) if row.inserted == Some(false) => ChangeKind::Updated,
            (None, Some(_)) => ChangeKind::Inserted,
            (None, None) => return Err(ImageError::Empty),
        };
        let distinct = match &self.compared {
            Some(compared) => self.server_verdict(compared, &row)?,
            None => Vec::new(),
        };
        self.hasher.update(b"row\n");
        self.hasher.update([kind.digest_byte()]);
        for image in [row.old, row.new] {
            match image {
                None => self.hasher.update([0u8]),
                Some(text) => {
                    self.hasher.update([1u8]);
                    self.hasher.update((text.len() as u64).to_be_bytes());
                    self.hasher.update(text.as_bytes());
                }
            }
        }
        if self.compared.is_some() {
            self.hasher.update((distinct.len() as u64).to_be_bytes());
            for field in &distinct {
                self.hasher.update((*field as u64).to_be_bytes());
            }
        }
        self.spill(kind, &row)?;
        self.net.push(row.old, row.new, kind == ChangeKind::Updated);
        self.total += 1;
        match kind {
            ChangeKind::Inserted => self.inserted += 1,
            ChangeKind::Updated => self.updated += 1,
            ChangeKind::Deleted => self.deleted += 1,
        }
        if self.shown.len() < self.shown_limit {
            let old = row
                .old
                .map(|t| Image::parse(t, &self.columns))
                .transpose()?;
            let new = row
                .new
                .map(|t| Image::parse(t, &self.columns))
                .transpose()?;
            let key = self.key_of(old.as_ref().or(new.as_ref()), row.ctid);
            self.shown.push(RowChange {
                key,
                kind,
                old,
                new,
                ctid: row.ctid.map(str::to_owned),
            });
        }
        Ok(())
    }

    /// The fields of `row` the server called distinct (`pgward_distinct`), each checked
    /// to print differently in the old and the new image.
    fn server_verdict(
        &self,
        compared: &[usize],
        row: &CapturedRow<'_>,
    ) -> Result<Vec<usize>, ImageError> {
        let flags = row.distinct.unwrap_or_default();
        let distinct = super::distinct::parse_flags(flags)
            .filter(|fields| fields.iter().all(|f| compared.contains(f)))
            .ok_or_else(|| {
                ImageError::Malformed(format!("the server's verdict {}", excerpt(flags)))
            })?;
        let width = self.columns.len();
        for &field in &distinct {
            let (Some(old), Some(new)) = (row.old, row.new) else {
                return Err(ImageError::Malformed(
                    "a verdict on a row without both images".into(),
                ));
            };
            let malformed = |text: &str| {
                ImageError::Malformed(format!(
                    "an image does not fit the table: {}",
                    excerpt(text)
                ))
            };
            let before = nth_field(old, field, width).ok_or_else(|| malformed(old))?;
            let after = nth_field(new, field, width).ok_or_else(|| malformed(new))?;
            if before == after {
                return Err(ImageError::PrintedAlike {
                    column: super::relation::quote_ident(&self.columns[field]),
                });
            }
        }
        Ok(distinct)
    }

    /// Flushes the spill file and returns what was taken in.
    pub fn finish(self) -> Result<Images, ImageError> {
        let spill = match self.spill {
            None => None,
            Some(writer) => {
                let path = writer.path.clone();
                let io = |source| ImageError::Spill {
                    path: path.clone(),
                    source,
                };
                let encoder = writer
                    .encoder
                    .into_inner()
                    .map_err(|e| io(e.into_error()))?;
                let buffered = encoder.finish().map_err(io)?;
                let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
                Some(Spill {
                    file,
                    path: writer.named.then_some(writer.path),
                    rows: writer.rows,
                })
            }
        };
        let old_values = (self.unpaired > 0).then(|| match &self.prior {
            Err(why) => why.clone(),
            Ok(_) => format!(
                "{} updated rows were not among the rows read before the statement: their \
                 old values are not captured",
                self.unpaired
            ),
        });
        Ok(Images {
            old_values,
            kind: self.kind,
            shown: self.shown,
            total: self.total,
            inserted: self.inserted,
            updated: self.updated,
            deleted: self.deleted,
            digest: self.hasher.finalize().into(),
            spill,
            net: self.net.finish(),
        })
    }

    fn key_of(&self, image: Option<&Image>, ctid: Option<&str>) -> Vec<(String, String)> {
        match &self.key {
            RowKey::Primary(columns) | RowKey::Unique(columns) => columns
                .iter()
                .map(|column| {
                    let value = image
                        .and_then(|i| i.get(column))
                        .map_or("?", Datum::display);
                    (column.clone(), value.to_owned())
                })
                .collect(),
            RowKey::Ctid => vec![("ctid".to_owned(), ctid.unwrap_or("?").to_owned())],
        }
    }

    fn spill(&mut self, kind: ChangeKind, row: &CapturedRow<'_>) -> Result<(), ImageError> {
        if self.spill.is_none() {
            self.spill = open_spill(&self.spill_to)?;
        }
        let Some(writer) = self.spill.as_mut() else {
            return Ok(());
        };
        write_spill_line(&mut writer.encoder, kind, row).map_err(|source| ImageError::Spill {
            path: writer.path.clone(),
            source,
        })?;
        writer.rows += 1;
        Ok(())
    }
}

/// The whole new row's `record_out` text into `out`: the `width` fields of `old`, with
/// the ones at `fields` (ascending) taken from `narrowed`, each as printed.
fn splice(
    old: &str,
    narrowed: &str,
    fields: &[usize],
    width: usize,
    out: &mut String,
) -> Result<(), ImageError> {
    use super::record::Field;
    let malformed = |what: &str, text: &str| {
        ImageError::Malformed(format!("{what} does not fit the table: {}", excerpt(text)))
    };
    // `()` is one NULL field when one field is expected (see `Image::parse`).
    let mut olds = super::record::fields(old).ok_or_else(|| malformed("an old image", old))?;
    let mut news =
        super::record::fields(narrowed).ok_or_else(|| malformed("a new image", narrowed))?;
    let (old_null, new_null) = (
        old == "()" && width == 1,
        narrowed == "()" && fields.len() == 1,
    );
    fn take<'a>(fields: &mut super::record::Fields<'a>, null: bool) -> Option<Field<'a>> {
        match fields.next() {
            Some(Ok(field)) => Some(field),
            None if null => Some(Field::Null),
            _ => None,
        }
    }
    out.clear();
    out.push('(');
    let mut wanted = fields.iter().peekable();
    for i in 0..width {
        if i > 0 {
            out.push(',');
        }
        let from_old = take(&mut olds, old_null).ok_or_else(|| malformed("an old image", old))?;
        let field = if wanted.peek() == Some(&&i) {
            wanted.next();
            take(&mut news, new_null).ok_or_else(|| malformed("a new image", narrowed))?
        } else {
            from_old
        };
        match field {
            Field::Null => {}
            Field::Plain(text) => out.push_str(text),
            Field::Quoted(raw) => {
                out.push('"');
                out.push_str(raw);
                out.push('"');
            }
        }
    }
    out.push(')');
    if wanted.next().is_some() || olds.next().is_some() || news.next().is_some() {
        return Err(malformed("an image", narrowed));
    }
    Ok(())
}

/// Field `n` of the whole-row image `text` of a table of `width` columns.
fn nth_field(text: &str, n: usize, width: usize) -> Option<super::record::Field<'_>> {
    if text == "()" && width == 1 {
        return (n == 0).then_some(super::record::Field::Null);
    }
    super::record::fields(text)?.nth(n)?.ok()
}

/// Writes one row's spill line (see the module docs).
fn write_spill_line(
    out: &mut impl Write,
    kind: ChangeKind,
    row: &CapturedRow<'_>,
) -> io::Result<()> {
    out.write_all(&[kind.digest_byte(), b'\t'])?;
    write_escaped(out, row.old.unwrap_or_default())?;
    out.write_all(b"\t")?;
    write_escaped(out, row.new.unwrap_or_default())?;
    out.write_all(b"\n")
}

/// Writes an image as it stands on a spill line: `\` as `\\`, line feed, carriage
/// return and tab as `\n`, `\r`, `\t`; the runs between them as they are.
fn write_escaped(out: &mut impl Write, text: &str) -> io::Result<()> {
    let bytes = text.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => continue,
        };
        out.write_all(&bytes[run..i])?;
        out.write_all(escape)?;
        run = i + 1;
    }
    out.write_all(&bytes[run..])
}

/// Reads an image back from its spill form.
fn spill_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// One spill line read back: what happened to the row, its before and after image.
pub fn spill_line(line: &str) -> Option<(ChangeKind, Option<String>, Option<String>)> {
    let mut fields = line.splitn(3, '\t');
    let kind = match fields.next()? {
        "I" => ChangeKind::Inserted,
        "U" => ChangeKind::Updated,
        "D" => ChangeKind::Deleted,
        _ => return None,
    };
    let image = |f: Option<&str>| f.filter(|t| !t.is_empty()).map(spill_unescape);
    let old = image(fields.next());
    let new = image(Some(fields.next()?));
    Some((kind, old, new))
}

fn open_spill(to: &SpillTo) -> Result<Option<SpillWriter>, ImageError> {
    let (file, path, named) = match to {
        SpillTo::Off => return Ok(None),
        SpillTo::TempFile => {
            let file = super::spill::file().map_err(|e| ImageError::Spill {
                path: e.dir,
                source: e.source,
            })?;
            let dir = super::spill::current_dir().unwrap_or_else(std::env::temp_dir);
            (file, dir, false)
        }
        SpillTo::TempIn(dir) => {
            let file = super::spill::nameless_in(dir).map_err(|source| ImageError::Spill {
                path: dir.clone(),
                source,
            })?;
            (file, dir.clone(), false)
        }
        SpillTo::Path(path) => {
            let file = File::create(path).map_err(|source| ImageError::Spill {
                path: path.clone(),
                source,
            })?;
            (file, path.clone(), true)
        }
    };
    Ok(Some(SpillWriter {
        encoder: BufWriter::with_capacity(
            SPILL_BUFFER,
            GzEncoder::new(BufWriter::new(file), Compression::fast()),
        ),
        path,
        named,
        rows: 0,
    }))
}

/// The start of a long text, for an error message.
fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The fields of `record_out` text: `None` for SQL NULL (an empty, unquoted field),
/// the text otherwise. `None` overall when `text` is not one record.
pub(super) fn record_fields(text: &str) -> Option<Vec<Datum>> {
    super::record::fields(text)?
        .map(|field| field.map(|f| f.to_datum()))
        .collect::<Result<_, ()>>()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_images_exactly() {
        let cols = names(&["id", "price", "name", "gone", "j", "empty", "tags"]);
        let image = Image::parse(
            r#"(1,10.50,"a ""q"" \\ (x, y)
z",,null,"","{x,""}""}")"#,
            &cols,
        )
        .expect("parse");
        let shown: Vec<(&str, &str)> = image
            .columns
            .iter()
            .map(|(k, v)| (k.as_str(), v.display()))
            .collect();
        assert_eq!(
            shown,
            [
                ("id", "1"),
                ("price", "10.50"),
                ("name", "a \"q\" \\ (x, y)\nz"),
                ("gone", "NULL"),
                ("j", "null"),
                ("empty", ""),
                ("tags", r#"{x,"}"}"#),
            ]
        );
        // SQL NULL and JSON null are different values.
        assert_eq!(image.get("gone"), Some(&Datum::Null));
        assert_eq!(image.get("j"), Some(&Datum::Text("null".into())));
        assert_eq!(Image::parse("()", &[]).expect("empty").columns.len(), 0);
        assert_eq!(
            Image::parse("()", &names(&["a"]))
                .expect("one NULL")
                .get("a"),
            Some(&Datum::Null)
        );
        assert_eq!(
            Image::parse("(,)", &names(&["a", "b"]))
                .expect("two NULLs")
                .columns,
            [("a".into(), Datum::Null), ("b".into(), Datum::Null)]
        );
    }

    #[test]
    fn malformed_images_are_errors_not_panics() {
        let two = names(&["a", "b"]);
        for text in [
            "",
            "(",
            ")",
            "(1)",
            "(1,2,3)",
            "(\"a,2)",
            "(a\"b,2)",
            "(1,2) x",
            "x(1,2)",
            "(\"a\"b,2)",
            "(\"\\",
            "((1,2)",
        ] {
            assert!(Image::parse(text, &two).is_err(), "{text:?}");
        }
    }

    #[test]
    fn keeps_few_counts_all_and_spills_every_before_image() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("before.gz");
        let mut sink = ImageSink::new(
            CaptureKind::Update,
            RowKey::Primary(vec!["id".into()]),
            names(&["id", "v"]),
            SinkOptions {
                shown: 2,
                spill: SpillTo::Path(path.clone()),
            },
        );
        for i in 0..1000 {
            let old = format!("({i},\"a\nb\\\\\")");
            let new = format!("({i},c)");
            sink.push(CapturedRow {
                old: Some(&old),
                new: Some(&new),
                inserted: None,
                ctid: Some("(0,1)"),
                distinct: None,
            })
            .expect("push");
        }
        let images = sink.finish().expect("finish");
        assert_eq!(
            (images.total, images.updated, images.shown.len()),
            (1000, 1000, 2)
        );
        assert_eq!(images.shown[1].key, [("id".to_owned(), "1".to_owned())]);
        let spill = images.spill.as_ref().expect("spill");
        assert_eq!(spill.rows(), 1000);
        assert_eq!(spill.path(), Some(path.as_path()));
        let mut text = String::new();
        flate2::read::GzDecoder::new(File::open(&path).expect("open"))
            .read_to_string(&mut text)
            .expect("gunzip");
        assert_eq!(text.lines().count(), 1000);
        assert_eq!(text.lines().nth(7), Some("U\t(7,\"a\\nb\\\\\\\\\")\t(7,c)"));
        let (kind, old, new) = spill_line(text.lines().nth(7).expect("line")).expect("parsed");
        assert_eq!(kind, ChangeKind::Updated);
        assert_eq!(old.as_deref(), Some("(7,\"a\nb\\\\\")"));
        assert_eq!(new.as_deref(), Some("(7,c)"));
    }

    #[test]
    fn narrowed_new_images_are_spliced_into_the_old_ones_as_printed() {
        let mut out = String::new();
        let spliced = |old: &str, narrowed: &str, fields: &[usize], width: usize| {
            let mut out = String::new();
            splice(old, narrowed, fields, width, &mut out).map(|()| out)
        };
        assert_eq!(
            spliced(r#"(1,"a b",,x)"#, r#"("",7)"#, &[1, 3], 4).expect("splice"),
            r#"(1,"",,7)"#
        );
        assert_eq!(
            spliced(r#"(1,"a ""b""",2)"#, "()", &[2], 3).expect("one NULL"),
            r#"(1,"a ""b""",)"#
        );
        assert_eq!(spliced("()", "(5)", &[0], 1).expect("one column"), "(5)");
        assert_eq!(spliced("(5)", "()", &[0], 1).expect("to NULL"), "()");
        assert_eq!(spliced("(,)", "(,)", &[0, 1], 2).expect("NULLs"), "(,)");
        for (old, narrowed, fields, width) in [
            ("(1,2)", "(3)", &[0, 1][..], 2),
            ("(1,2)", "(3,4)", &[1][..], 2),
            ("(1,2,3)", "(3)", &[1][..], 2),
            ("(1)", "(3)", &[1][..], 2),
            ("(1,\"2)", "(3)", &[0][..], 2),
        ] {
            assert!(
                splice(old, narrowed, fields, width, &mut out).is_err(),
                "{old} {narrowed}"
            );
        }
    }

    #[test]
    fn digest_frames_rows_unambiguously() {
        let digest = |columns: &[&str], rows: &[CapturedRow<'_>]| {
            let mut sink = ImageSink::new(
                CaptureKind::Update,
                RowKey::Ctid,
                names(columns),
                SinkOptions {
                    shown: 0,
                    spill: SpillTo::Off,
                },
            );
            for row in rows {
                sink.push(*row).expect("push");
            }
            sink.finish().expect("finish").digest
        };
        let row = |old, new| CapturedRow {
            old,
            new,
            inserted: None,
            ctid: None,
            distinct: None,
        };
        let a = digest(&["a"], &[row(Some("(1)"), Some("(2)"))]);
        assert_eq!(a, digest(&["a"], &[row(Some("(1)"), Some("(2)"))]));
        assert_ne!(a, digest(&["a"], &[row(Some("(2)"), Some("(1)"))]));
        assert_ne!(a, digest(&["b"], &[row(Some("(1)"), Some("(2)"))]));
        // SQL NULL, JSON null and the empty string are three different images.
        let null = digest(&["j"], &[row(Some("()"), Some("(null)"))]);
        assert_ne!(null, digest(&["j"], &[row(Some("(null)"), Some("(null)"))]));
        assert_ne!(null, digest(&["j"], &[row(Some("(\"\")"), Some("(null)"))]));
        assert_ne!(
            digest(&["a"], &[row(Some("(1)"), None), row(None, Some("(1)"))]),
            digest(&["a"], &[row(Some("(1)"), Some("(1)"))])
        );
    }

    #[test]
    fn the_servers_verdict_is_bound_and_checked_against_the_text() {
        let run = |compared: Option<Vec<usize>>, old: &str, new: &str, flags: &str| {
            let mut sink = ImageSink::new(
                CaptureKind::Update,
                RowKey::Ctid,
                names(&["n", "f"]),
                SinkOptions {
                    shown: 0,
                    spill: SpillTo::Off,
                },
            );
            if let Some(fields) = compared {
                sink.compare_on_server(fields);
            }
            sink.push(CapturedRow {
                old: Some(old),
                new: Some(new),
                distinct: Some(flags),
                ..CapturedRow::default()
            })
            .and_then(|()| sink.finish())
            .map(|images| images.digest)
        };
        let plain = run(None, "(1.0,1)", "(1.00,1)", "").expect("taken");
        let equal = run(Some(vec![0, 1]), "(1.0,1)", "(1.00,1)", "").expect("taken");
        let distinct = run(Some(vec![0, 1]), "(1.0,1)", "(1.00,1)", "0 ").expect("taken");
        // Which fields were compared, and the verdict on each row, are bound.
        assert_ne!(plain, equal);
        assert_ne!(equal, distinct);
        assert_ne!(
            equal,
            run(Some(vec![0]), "(1.0,1)", "(1.00,1)", "").expect("taken")
        );
        // Distinct on the server, alike in print: refused, naming the column.
        assert!(matches!(
            run(Some(vec![0, 1]), "(1.0,0.1)", "(1.00,0.1)", "1 "),
            Err(ImageError::PrintedAlike { column }) if column == "\"f\""
        ));
        // A verdict on a field that was not compared, or unreadable: malformed.
        assert!(matches!(
            run(Some(vec![0]), "(1,1)", "(2,2)", "1 "),
            Err(ImageError::Malformed(_))
        ));
        assert!(matches!(
            run(Some(vec![0]), "(1,1)", "(2,2)", "x"),
            Err(ImageError::Malformed(_))
        ));
    }

    #[test]
    fn temporary_spill_has_no_name_and_reads_back() {
        let dir = tempfile::tempdir().expect("dir");
        let sink_with = |dir: &Path| {
            let mut sink = ImageSink::new(
                CaptureKind::Delete,
                RowKey::Ctid,
                names(&["a"]),
                SinkOptions {
                    shown: 1,
                    spill: SpillTo::TempIn(dir.to_path_buf()),
                },
            );
            sink.push(CapturedRow {
                old: Some("(1)"),
                ctid: Some("(0,1)"),
                ..CapturedRow::default()
            })
            .expect("push");
            sink.finish().expect("finish")
        };
        let images = sink_with(dir.path());
        assert_eq!(images.deleted, 1);
        assert_eq!(
            images.shown[0].key,
            [("ctid".to_owned(), "(0,1)".to_owned())]
        );
        let spill = images.spill.expect("spill");
        assert_eq!(spill.path(), None);
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
        let mut text = String::new();
        spill
            .reader()
            .expect("reader")
            .read_to_string(&mut text)
            .expect("gunzip");
        assert_eq!(text, "D\t(1)\t\n");
    }

    #[test]
    fn an_unwritable_spill_directory_is_known_before_any_row() {
        let mut sink = ImageSink::new(
            CaptureKind::Update,
            RowKey::Ctid,
            names(&["a"]),
            SinkOptions {
                shown: 1,
                spill: SpillTo::TempIn(PathBuf::from("/nonexistent/pgward")),
            },
        );
        assert!(matches!(sink.open_spill(), Err(ImageError::Spill { .. })));
    }
}
