//! Query results drawn exactly as psql's `printTable` draws them (psql's format is the
//! contract, so a psql user reads pgward's output without a second look): the aligned
//! format with borders 0, 1 and 2, its expanded form (`-[ RECORD 1 ]-`), the unaligned
//! and csv formats and theirs, titles, tuples only, the `(N rows)` footer and the blank
//! line after a table. A result drawn in parts as it arrives ([`Part`], psql's
//! `FETCH_COUNT`) gives, part by part, what psql gives with the same `FETCH_COUNT`.
//!
//! In the aligned formats every line of every header and cell is prepared as psql's
//! `pg_wcsformat` does (a tab moves to the next multiple of 8, a newline starts a
//! continuation line marked `+`) and escaped ([`escape::one_line`]) before it is
//! measured: widths are true and no value drives the terminal. The unaligned and csv
//! formats hand values on as they are; the session's writer escapes them on the way out.

use unicode_width::UnicodeWidthStr;

use super::escape;
use super::pset::{Expanded, Format, Pset};
use super::table::Column;

/// Which piece of a result this is, as psql's `start_table`, `stop_table` and
/// `prior_records`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// The first piece: title and header are drawn.
    pub start: bool,
    /// The last piece: footer and the closing blank line are drawn.
    pub stop: bool,
    /// Rows drawn in earlier pieces (for record numbers and the footer).
    pub prior: u64,
}

impl Part {
    /// A whole result in one piece.
    pub const WHOLE: Part = Part {
        start: true,
        stop: true,
        prior: 0,
    };
}

/// What the printer needs besides the rows.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The options.
    pub pset: &'a Pset,
    /// The terminal's width when the result goes to a terminal (for `\x auto`), else 0.
    pub columns: usize,
    /// `\gx`: expanded for this result, whatever `pset.expanded` says.
    pub force_expanded: bool,
    /// psql's own footers (a describe page's `Indexes:` and the lines under it): when
    /// given they replace the `(N rows)` default footer, as `printTableAddFooter` with
    /// `default_footer` off does.
    pub footers: Option<&'a [String]>,
}

/// The footer lines of a result that ends: its own footers, else `(N rows)` unless
/// `\pset footer off` (psql's `footers_with_default`); none with tuples only.
fn footer_lines(pset: &Pset, own: Option<&[String]>, rows: u64) -> Vec<String> {
    if pset.tuples_only {
        return Vec::new();
    }
    match own {
        Some(lines) => lines.to_vec(),
        None if pset.footer => vec![footer(rows)],
        None => Vec::new(),
    }
}

/// Draws `rows` of a result with `columns` as psql would.
pub fn table(
    columns: &[Column],
    rows: &[Vec<Option<String>>],
    target: Target<'_>,
    part: Part,
) -> String {
    let pset = target.pset;
    let expanded = target.force_expanded || pset.expanded == Expanded::On;
    let value = |v: &Option<String>| -> String { v.clone().unwrap_or_else(|| pset.null.clone()) };
    let own = target.footers;
    match pset.format {
        Format::Csv => csv(columns, rows, pset, expanded, part, value),
        Format::Unaligned if expanded => unaligned_vertical(columns, rows, pset, part, own, value),
        Format::Unaligned => unaligned(columns, rows, pset, part, own, value),
        Format::Aligned => {
            let heads: Vec<Lines> = columns.iter().map(|c| Lines::of(&c.name)).collect();
            let cells: Vec<Vec<Lines>> = rows
                .iter()
                .map(|r| {
                    (0..columns.len())
                        .map(|i| match r.get(i) {
                            Some(Some(v)) => Lines::of(v),
                            _ => Lines::of(&pset.null),
                        })
                        .collect()
                })
                .collect();
            if expanded {
                return vertical(&heads, &cells, pset, part, own);
            }
            let right: Vec<bool> = columns.iter().map(|c| c.numeric).collect();
            let aligned = Aligned::new(&heads, &cells, pset, own);
            let auto = pset.expanded == Expanded::Auto
                && target.columns > 0
                && columns.len() > 1
                && (target.columns < aligned.header_total || target.columns < aligned.total);
            if auto {
                vertical(&heads, &cells, pset, part, own)
            } else {
                aligned.draw(&heads, &cells, &right, part)
            }
        }
    }
}

/// A header or cell as psql's `pg_wcsformat` prepares it: its lines, escaped, each with
/// its display width.
#[derive(Debug, Clone)]
struct Lines(Vec<(String, usize)>);

impl Lines {
    fn of(value: &str) -> Lines {
        Lines(value.split('\n').map(line).collect())
    }

    fn width(&self) -> usize {
        self.0.iter().map(|(_, w)| *w).max().unwrap_or(0)
    }

    fn height(&self) -> usize {
        self.0.len()
    }

    fn get(&self, i: usize) -> Option<&(String, usize)> {
        self.0.get(i)
    }
}

/// One line of a value: tabs to the next multiple of 8, everything that could drive the
/// terminal escaped, and the display width of the result.
fn line(s: &str) -> (String, usize) {
    if !s.contains('\t') && !s.chars().any(escape::is_dangerous) {
        return (s.to_string(), s.width());
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut width = 0;
    for c in s.chars() {
        if c == '\t' {
            loop {
                out.push(' ');
                width += 1;
                if width % 8 == 0 {
                    break;
                }
            }
        } else {
            let mut buf = [0u8; 4];
            let shown = escape::one_line(c.encode_utf8(&mut buf));
            width += shown.as_str().width();
            out.push_str(&shown);
        }
    }
    (out, width)
}

fn spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn dashes(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n('-', n));
}

fn footer(rows: u64) -> String {
    super::table::footer(rows as usize)
}

/// psql's `print_aligned_text`, measured.
struct Aligned {
    widths: Vec<usize>,
    border: u16,
    total: usize,
    header_total: usize,
    tuples_only: bool,
    title: Option<String>,
    pset: Pset,
    own: Option<Vec<String>>,
}

impl Aligned {
    fn new(heads: &[Lines], cells: &[Vec<Lines>], pset: &Pset, own: Option<&[String]>) -> Aligned {
        let n = heads.len();
        let border = pset.border.min(2);
        let mut widths: Vec<usize> = heads.iter().map(Lines::width).collect();
        let header_widths = widths.clone();
        for row in cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.width());
            }
        }
        let frame = match border {
            0 => n,
            1 => (n * 3).saturating_sub(1),
            _ => n * 3 + 1,
        };
        Aligned {
            total: frame + widths.iter().sum::<usize>(),
            header_total: frame + header_widths.iter().sum::<usize>(),
            widths,
            border,
            tuples_only: pset.tuples_only,
            title: pset.title.clone(),
            pset: pset.clone(),
            own: own.map(<[String]>::to_vec),
        }
    }

    /// A rule: `----+----` (border 1), `+----+----+` (border 2), `---- ----` (border 0).
    fn rule(&self, out: &mut String) {
        let n = self.widths.len();
        match self.border {
            1 => out.push('-'),
            2 => out.push_str("+-"),
            _ => {}
        }
        for (i, w) in self.widths.iter().enumerate() {
            dashes(out, *w);
            if i + 1 < n {
                out.push_str(if self.border == 0 { " " } else { "-+-" });
            }
        }
        match self.border {
            1 => out.push('-'),
            2 => out.push_str("-+"),
            _ => {}
        }
        out.push('\n');
    }

    fn draw(&self, heads: &[Lines], cells: &[Vec<Lines>], right: &[bool], part: Part) -> String {
        let n = heads.len();
        let border = self.border;
        let mut out = String::with_capacity(cells.len() * (self.total + 1) + 64);
        if part.start && !self.tuples_only {
            if let Some(title) = &self.title {
                let (t, w) = line(title);
                if w < self.total {
                    spaces(&mut out, (self.total - w) / 2);
                }
                out.push_str(&t);
                out.push('\n');
            }
            if border == 2 {
                self.rule(&mut out);
            }
            let mut done = vec![false; n];
            let mut left = n;
            let mut l = 0;
            while left > 0 {
                if border == 2 {
                    out.push('|');
                }
                for (i, h) in heads.iter().enumerate() {
                    if border != 0 {
                        out.push(' ');
                    }
                    if !done[i] {
                        let (text, w) = h.get(l).map_or(("", 0), |(s, w)| (s.as_str(), *w));
                        let pad = self.widths[i] - w;
                        spaces(&mut out, pad / 2);
                        out.push_str(text);
                        spaces(&mut out, pad.div_ceil(2));
                        if l + 1 >= h.height() {
                            left -= 1;
                            done[i] = true;
                        }
                    } else {
                        spaces(&mut out, self.widths[i]);
                    }
                    out.push(if done[i] { ' ' } else { '+' });
                    if border != 0 && i + 1 < n {
                        out.push('|');
                    }
                }
                l += 1;
                if border == 2 {
                    out.push('|');
                }
                out.push('\n');
            }
            self.rule(&mut out);
        }
        let mut at = vec![0usize; n];
        let mut newline = vec![false; n];
        // Rows of no columns have no cells to draw: psql draws only the count.
        for row in cells.iter().filter(|_| n > 0) {
            at.iter_mut().for_each(|a| *a = 0);
            loop {
                let mut more = false;
                if border == 2 {
                    out.push('|');
                }
                for j in 0..n {
                    let width = self.widths[j];
                    let last = j + 1 == n;
                    let finalspaces = border == 2 || !last;
                    if border != 0 {
                        out.push(' ');
                    }
                    let mut shown = width;
                    match row[j].get(at[j]) {
                        None => {
                            if finalspaces {
                                spaces(&mut out, width);
                            }
                        }
                        Some((text, w)) => {
                            shown = *w;
                            if right[j] {
                                spaces(&mut out, width - w);
                            }
                            out.push_str(text);
                            at[j] += 1;
                            if at[j] < row[j].height() {
                                more = true;
                            }
                        }
                    }
                    newline[j] = at[j] < row[j].height() && at[j] != 0;
                    if !right[j] && (finalspaces || newline[j]) {
                        spaces(&mut out, width - shown);
                    }
                    if newline[j] {
                        out.push('+');
                    } else if finalspaces {
                        out.push(' ');
                    }
                    if border != 0 && !last {
                        out.push('|');
                    }
                }
                if border == 2 {
                    out.push('|');
                }
                out.push('\n');
                if !more {
                    break;
                }
            }
        }
        if part.stop {
            if border == 2 {
                self.rule(&mut out);
            }
            let rows = part.prior + cells.len() as u64;
            for f in footer_lines(&self.pset, self.own.as_deref(), rows) {
                out.push_str(&f);
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }
}

/// psql's `print_aligned_vertical_line`: `-[ RECORD 1 ]----+------`.
fn record_line(out: &mut String, border: u16, record: u64, hwidth: usize, dwidth: usize) {
    let fill = if border > 0 { '-' } else { ' ' };
    match border {
        2 => out.push_str("+-"),
        1 => out.push('-'),
        _ => {}
    }
    let mut reclen: i64 = 0;
    if record > 0 {
        let label = if border == 0 {
            format!("* Record {record}")
        } else {
            format!("[ RECORD {record} ]")
        };
        reclen = label.len() as i64;
        out.push_str(&label);
    }
    if border != 2 {
        reclen += 1;
    }
    for _ in reclen.max(0)..hwidth as i64 {
        out.push(fill);
    }
    reclen -= hwidth as i64;
    let mut step = |s: char, out: &mut String| {
        if reclen <= 0 {
            out.push(s);
        }
        reclen -= 1;
    };
    if border > 0 {
        step('-', out);
        step('+', out);
        step('-', out);
    } else {
        step(' ', out);
    }
    for _ in reclen.max(0)..dwidth as i64 {
        out.push(fill);
    }
    if border == 2 {
        out.push_str("-+");
    }
    out.push('\n');
}

/// psql's `print_aligned_vertical`: one line per column, a record header per row.
fn vertical(
    heads: &[Lines],
    cells: &[Vec<Lines>],
    pset: &Pset,
    part: Part,
    own: Option<&[String]>,
) -> String {
    let border = pset.border.min(2);
    let mut out = String::new();
    if (cells.is_empty() || heads.is_empty()) && part.start && part.stop {
        for f in footer_lines(pset, own, part.prior + cells.len() as u64) {
            out.push_str(&f);
            out.push('\n');
        }
        out.push('\n');
        return out;
    }
    let hwidth = heads.iter().map(Lines::width).max().unwrap_or(0);
    let hmultiline = heads.iter().any(|h| h.height() > 1);
    let mut dwidth = cells.iter().flatten().map(Lines::width).max().unwrap_or(0);
    let dmultiline = cells.iter().flatten().any(|c| c.height() > 1);
    if part.start && !pset.tuples_only {
        if let Some(title) = &pset.title {
            out.push_str(&line(title).0);
            out.push('\n');
        }
    }
    let mut swidth = match border {
        0 => 1 + usize::from(hmultiline),
        1 => 3,
        _ => 7,
    };
    if dmultiline && border < 2 {
        swidth += 1;
    }
    let mut rwidth = 0;
    if !pset.tuples_only {
        if !cells.is_empty() {
            rwidth = 1 + cells.len().ilog10() as usize;
        }
        rwidth += match border {
            0 => 9,
            1 => 12,
            _ => 15,
        };
    }
    let width = (hwidth + swidth + dwidth).max(rwidth);
    dwidth = width - hwidth - swidth;

    let mut record = part.prior + 1;
    for (r, row) in cells.iter().enumerate() {
        for (c, (head, data)) in heads.iter().zip(row).enumerate() {
            if c == 0 {
                if !pset.tuples_only {
                    record_line(&mut out, border, record, hwidth, dwidth);
                    record += 1;
                } else if r != 0 || !part.start || border == 2 {
                    record_line(&mut out, border, 0, hwidth, dwidth);
                }
            }
            let (mut hline, mut dline) = (0, 0);
            let (mut hcomplete, mut dcomplete) = (false, false);
            while !dcomplete || !hcomplete {
                if border == 2 {
                    out.push('|');
                }
                if !hcomplete {
                    if border == 2 {
                        out.push(' ');
                    }
                    let (text, w) = head.get(hline).map_or(("", 0), |(s, w)| (s.as_str(), *w));
                    out.push_str(text);
                    spaces(&mut out, hwidth - w);
                    if hline + 1 < head.height() {
                        if border > 0 || hmultiline {
                            out.push('+');
                        }
                        hline += 1;
                    } else {
                        if border > 0 || hmultiline {
                            out.push(' ');
                        }
                        hcomplete = true;
                    }
                } else {
                    let mut pad = hwidth + border as usize;
                    if border == 0 && hmultiline {
                        pad += 1;
                    }
                    spaces(&mut out, pad.max(1));
                }
                if border > 0 {
                    out.push('|');
                }
                if !dcomplete {
                    out.push(' ');
                    let (text, w) = data.get(dline).map_or(("", 0), |(s, w)| (s.as_str(), *w));
                    out.push_str(text);
                    let pad = dwidth.saturating_sub(w);
                    if dline + 1 < data.height() {
                        if border > 1 || dmultiline {
                            spaces(&mut out, pad);
                            out.push('+');
                        }
                        dline += 1;
                    } else {
                        if border > 1 {
                            spaces(&mut out, pad);
                            out.push(' ');
                        }
                        dcomplete = true;
                    }
                    if border == 2 {
                        out.push('|');
                    }
                    out.push('\n');
                } else if border < 2 {
                    out.push('\n');
                } else {
                    spaces(&mut out, dwidth);
                    out.push_str("  |\n");
                }
            }
        }
    }
    if part.stop {
        if border == 2 {
            record_line(&mut out, border, 0, hwidth, dwidth);
        }
        // Only a table's own footers (psql prints no `(N rows)` for records).
        let own = own.filter(|f| !f.is_empty() && !pset.tuples_only);
        if let Some(lines) = own {
            if border < 2 {
                out.push('\n');
            }
            for f in lines {
                out.push_str(f);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out
}

/// psql's `print_unaligned_text`.
fn unaligned(
    columns: &[Column],
    rows: &[Vec<Option<String>>],
    pset: &Pset,
    part: Part,
    own: Option<&[String]>,
    value: impl Fn(&Option<String>) -> String,
) -> String {
    let (fs, rs) = (pset.fieldsep.as_str(), pset.recordsep.as_str());
    let mut out = String::new();
    let mut need_rs = false;
    if part.start {
        if !pset.tuples_only {
            if let Some(title) = &pset.title {
                out.push_str(title);
                out.push_str(rs);
            }
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    out.push_str(fs);
                }
                out.push_str(&c.name);
            }
            need_rs = true;
        }
    } else {
        need_rs = true;
    }
    let n = columns.len();
    for row in rows {
        for i in 0..n {
            if need_rs {
                out.push_str(rs);
                need_rs = false;
            }
            out.push_str(&row.get(i).map(&value).unwrap_or_default());
            if i + 1 < n {
                out.push_str(fs);
            } else {
                need_rs = true;
            }
        }
    }
    if part.stop {
        for f in footer_lines(pset, own, part.prior + rows.len() as u64) {
            if need_rs {
                out.push_str(rs);
            }
            out.push_str(&f);
            need_rs = true;
        }
        if need_rs {
            out.push('\n');
        }
    }
    out
}

/// psql's `print_unaligned_vertical`.
fn unaligned_vertical(
    columns: &[Column],
    rows: &[Vec<Option<String>>],
    pset: &Pset,
    part: Part,
    own: Option<&[String]>,
    value: impl Fn(&Option<String>) -> String,
) -> String {
    let (fs, rs) = (pset.fieldsep.as_str(), pset.recordsep.as_str());
    let mut out = String::new();
    let mut need_rs = !part.start;
    if part.start && !pset.tuples_only {
        if let Some(title) = &pset.title {
            out.push_str(title);
            need_rs = true;
        }
    }
    let n = columns.len();
    for row in rows {
        for (i, c) in columns.iter().enumerate() {
            if need_rs {
                out.push_str(rs);
                out.push_str(rs);
                need_rs = false;
            }
            out.push_str(&c.name);
            out.push_str(fs);
            out.push_str(&row.get(i).map(&value).unwrap_or_default());
            if i + 1 < n {
                out.push_str(rs);
            } else {
                need_rs = true;
            }
        }
    }
    if part.stop {
        // Only a table's own footers, each after a record separator.
        if let Some(lines) = own.filter(|f| !f.is_empty() && !pset.tuples_only) {
            out.push_str(rs);
            for f in lines {
                out.push_str(rs);
                out.push_str(f);
            }
            need_rs = true;
        }
        if need_rs {
            out.push('\n');
        }
    }
    out
}

/// psql's `print_csv_text` and `print_csv_vertical`: no title, no footer.
fn csv(
    columns: &[Column],
    rows: &[Vec<Option<String>>],
    pset: &Pset,
    expanded: bool,
    part: Part,
    value: impl Fn(&Option<String>) -> String,
) -> String {
    let sep = pset.csv_fieldsep;
    let mut out = String::new();
    if expanded {
        for row in rows {
            for (i, c) in columns.iter().enumerate() {
                csv_field(&mut out, &c.name, sep);
                out.push(sep);
                csv_field(&mut out, &row.get(i).map(&value).unwrap_or_default(), sep);
                out.push('\n');
            }
        }
        return out;
    }
    if part.start && !pset.tuples_only {
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            csv_field(&mut out, &c.name, sep);
        }
        out.push('\n');
    }
    for row in rows.iter().filter(|_| !columns.is_empty()) {
        for i in 0..columns.len() {
            if i > 0 {
                out.push(sep);
            }
            csv_field(&mut out, &row.get(i).map(&value).unwrap_or_default(), sep);
        }
        out.push('\n');
    }
    out
}

/// psql's `csv_print_field`: quoted when it holds the separator, a quote, CR or LF, is
/// exactly `\.`, or the separator is `\` or `.`.
fn csv_field(out: &mut String, s: &str, sep: char) {
    let quote =
        s.contains(sep) || s.contains(['\r', '\n', '"']) || s == "\\." || sep == '\\' || sep == '.';
    if !quote {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<Column> {
        vec![
            Column {
                name: "a".into(),
                numeric: true,
            },
            Column::text("b"),
            Column::text("c"),
        ]
    }

    fn rows() -> Vec<Vec<Option<String>>> {
        vec![
            vec![Some("12345".into()), Some("x\ny".into()), None],
            vec![Some("1".into()), Some("a\tb".into()), Some("日本".into())],
        ]
    }

    fn draw(pset: &Pset) -> String {
        let target = Target {
            pset,
            columns: 0,
            force_expanded: false,
            footers: None,
        };
        table(&cols(), &rows(), target, Part::WHOLE)
    }

    #[test]
    fn aligned_as_psql() {
        assert_eq!(
            draw(&Pset::default()),
            "   a   |     b     |  c   \n\
             -------+-----------+------\n\
             \x2012345 | x        +| \n\
             \x20      | y         | \n\
             \x20    1 | a       b | 日本\n\
             (2 rows)\n\n"
        );
    }

    #[test]
    fn expanded_as_psql() {
        let pset = Pset {
            expanded: Expanded::On,
            null: "NULL".into(),
            ..Pset::default()
        };
        assert_eq!(
            draw(&pset),
            "-[ RECORD 1 ]\n\
             a | 12345\n\
             b | x        +\n\
             \x20 | y\n\
             c | NULL\n\
             -[ RECORD 2 ]\n\
             a | 1\n\
             b | a       b\n\
             c | 日本\n\n"
        );
    }

    #[test]
    fn unaligned_and_csv_as_psql() {
        let pset = Pset {
            format: Format::Unaligned,
            ..Pset::default()
        };
        assert_eq!(draw(&pset), "a|b|c\n12345|x\ny|\n1|a\tb|日本\n(2 rows)\n");
        let pset = Pset {
            format: Format::Csv,
            ..Pset::default()
        };
        assert_eq!(draw(&pset), "a,b,c\n12345,\"x\ny\",\n1,a\tb,日本\n");
        let mut out = String::new();
        csv_field(&mut out, "q\"", ',');
        assert_eq!(out, "\"q\"\"\"");
    }

    #[test]
    fn parts_join_as_one_table_would_in_unaligned() {
        let pset = Pset {
            format: Format::Unaligned,
            ..Pset::default()
        };
        let target = Target {
            pset: &pset,
            columns: 0,
            force_expanded: false,
            footers: None,
        };
        let all = rows();
        let first = table(
            &cols(),
            &all[..1],
            target,
            Part {
                start: true,
                stop: false,
                prior: 0,
            },
        );
        let second = table(
            &cols(),
            &all[1..],
            target,
            Part {
                start: false,
                stop: true,
                prior: 1,
            },
        );
        assert_eq!(first + &second, draw(&pset));
    }

    #[test]
    fn nothing_raw_reaches_the_screen() {
        let pset = Pset::default();
        let target = Target {
            pset: &pset,
            columns: 0,
            force_expanded: false,
            footers: None,
        };
        let out = table(
            &[Column::text("h\u{1b}[2J")],
            &[vec![Some("\u{202e}x\u{7}".into())]],
            target,
            Part::WHOLE,
        );
        assert_eq!(super::super::text::foreign(&out), None, "{out:?}");
    }
}
