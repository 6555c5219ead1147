//! The screen property: random strings, biased toward the code points that drive a
//! terminal or reorder and hide text, go through every renderer of what the shared
//! screen shows (result tables, command tags, server errors and notices, the session's
//! writer and its result path in every `\pset` format, row diffs and statement previews, the COMMIT summary, describe titles and the
//! prompt). None may reach the output raw; with colour on, the output is the plain
//! output plus pgward's own SGR colours and nothing else; and a string meant for one
//! line never adds a line of its own.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use proptest::prelude::*;

use super::error::{fields, Fields};
use super::table::{self, Column};
use super::text::{foreign, without_colour};
use super::{tag, Style};
use crate::preview::cascade::{CascadeAction, CascadeEffect};
use crate::preview::counts::TableCounts;
use crate::preview::digest::TableTotals;
use crate::preview::images::{CapturedRow, ImageSink, SinkOptions, SpillTo};
use crate::preview::keys::RowKey;
use crate::preview::net::NetCounts;
use crate::preview::relation::Relation;
use crate::preview::rewrite::{Capture, CaptureKind, WhereShape};
use crate::preview::statement::{DdlFacts, Plan, Report, WriteKind};
use crate::repl::prompt::Prompt;
use crate::session::changes::NetLine;
use crate::session::{Io, Summary};

/// Pieces a hostile string is made of: whole sequences an attacker would use, single
/// dangerous code points, and ordinary text.
fn piece() -> impl Strategy<Value = String> {
    let sequences = prop::sample::select(vec![
        "\u{1b}[2J",
        "\u{1b}[1;5r",
        "\u{1b}[H",
        "\u{1b}]0;title\u{7}",
        "\u{9b}2J",
        "\u{1b}[8m",
        "\u{202e}",
        "\r\n",
        " | ",
        "Change digest: ",
    ])
    .prop_map(str::to_string);
    let dangerous = prop::sample::select(vec![
        '\u{0}',
        '\u{7}',
        '\u{8}',
        '\t',
        '\n',
        '\u{b}',
        '\u{c}',
        '\r',
        '\u{1b}',
        '\u{7f}',
        '\u{85}',
        '\u{9b}',
        '\u{9d}',
        '\u{202a}',
        '\u{202b}',
        '\u{202c}',
        '\u{202d}',
        '\u{202e}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{200e}',
        '\u{200f}',
        '\u{61c}',
        '\u{200b}',
        '\u{200c}',
        '\u{200d}',
        '\u{2060}',
        '\u{feff}',
        '\u{2028}',
        '\u{2029}',
        '\u{ad}',
        '\u{e0041}',
    ])
    .prop_map(String::from);
    let controls = prop_oneof![0u32..0x20, 0x7fu32..0xa0]
        .prop_map(|c| char::from_u32(c).map(String::from).unwrap_or_default());
    let ordinary = "[a-z0-9 ;\\[\\]é中→]{0,4}";
    prop_oneof![3 => sequences, 3 => dangerous, 1 => controls, 3 => ordinary]
}

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..8).prop_map(|pieces| pieces.concat())
}

/// A writer the test reads back.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.borrow().clone()).expect("utf-8")
    }
}

/// Nothing raw in `plain`.
fn clean(what: &str, plain: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        foreign(plain),
        None,
        "{} let a character through: {:?}",
        what,
        plain
    );
    Ok(())
}

/// With colour, only pgward's SGR on top of the plain output.
fn coloured(what: &str, plain: &str, coloured: &str) -> Result<(), TestCaseError> {
    clean(what, plain)?;
    prop_assert_eq!(without_colour(coloured), plain, "{} with colour", what);
    Ok(())
}

fn lines(s: &str) -> usize {
    s.lines().count()
}

/// An UPDATE's images: key column `key`, value column `column`, `n` rows.
fn images_of(
    kind: CaptureKind,
    key: &str,
    column: &str,
    old: &str,
    new: &str,
    n: usize,
) -> crate::preview::images::Images {
    let mut sink = ImageSink::new(
        kind,
        RowKey::Primary(vec![key.to_string()]),
        vec![key.to_string(), column.to_string()],
        SinkOptions {
            shown: 5,
            spill: SpillTo::Off,
        },
    );
    // record_out text: every field quoted, `"` and `\` doubled as record_out does.
    let field = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\"\""));
    let rows: Vec<(String, String)> = (0..n)
        .map(|i| {
            let image = |v: &str| format!("({},{})", field(&format!("{old}{i}")), field(v));
            (image(old), image(new))
        })
        .collect();
    for (i, (o, n)) in rows.iter().enumerate() {
        let row = match kind {
            CaptureKind::Delete => CapturedRow {
                old: Some(o),
                ..CapturedRow::default()
            },
            CaptureKind::Insert => CapturedRow {
                new: Some(n),
                ..CapturedRow::default()
            },
            CaptureKind::Upsert => CapturedRow {
                new: Some(n),
                inserted: Some(i % 2 == 0),
                ..CapturedRow::default()
            },
            CaptureKind::Update | CaptureKind::Merge => CapturedRow {
                old: Some(o),
                new: Some(n),
                ..CapturedRow::default()
            },
        };
        sink.push(row).expect("push");
    }
    sink.finish().expect("finish")
}

fn report(s: &[String; 4], kind: CaptureKind) -> Report {
    let [a, b, c, d] = s;
    let target = Relation {
        relid: 1,
        schema: a.clone(),
        name: b.clone(),
        kind: "r".into(),
    };
    let effect = |action| CascadeEffect {
        table: c.clone(),
        relid: 2,
        action,
        rows: 3,
        depth: 1,
        via: d.clone(),
        columns: vec![a.clone(), d.clone()],
        incomplete: true,
    };
    Report {
        plan: Plan {
            text: a.clone(),
            kind: WriteKind::Other,
            guard_kind: WriteKind::Other,
            target: Some(target),
            where_shape: WhereShape::Present(b.clone()),
            unbounded_part: None,
            capture: Capture::CountsOnly { reason: c.clone() },
            key: RowKey::Primary(vec![a.clone()]),
            columns: vec![a.clone(), b.clone()],
            right_aligned: vec![b.clone()],
            cascade: Some(Ok(vec![
                effect(CascadeAction::Delete),
                effect(CascadeAction::SetNull),
                effect(CascadeAction::Blocked),
            ])),
            truncated: vec![(d.clone(), 4)],
            estimated: vec![format!("{d}: {a}")],
            storage: None,
            names_before: Default::default(),
            catalog_before: 0,
            locks_before: Vec::new(),
            notes: vec![b.clone()],
            tid_join: false,
            capture_checked: true,
            old_values: None,
            new_fields: None,
            compared: None,
            parts: Vec::new(),
        },
        rows: Some(1),
        images: Some(images_of(
            kind,
            &format!("{a}#k"),
            &format!("{b}#c"),
            c,
            d,
            2,
        )),
        counts_only: Some(c.clone()),
        delta: vec![TableCounts {
            relid: 3,
            table: d.clone(),
            inserted: 1,
            updated: 2,
            deleted: 3,
        }],
        upper_bound: Some(a.clone()),
        tree: vec![1],
        cascade_trees: Default::default(),
        parts: Vec::new(),
        triggered: vec![b.clone()],
        ddl: Some(DdlFacts {
            locks: vec![(a.clone(), "ACCESS EXCLUSIVE".into())],
            rewritten: vec![b.clone()],
            dropped: vec![c.clone()],
            catalog_changed: true,
        }),
        warnings: vec![d.clone()],
        capture_exact: false,
    }
}

/// Harmless strings with the same pattern of equalities as `s`, so any difference in
/// layout comes from the characters, not from which names happen to be equal.
fn benign<const N: usize>(s: &[String; N]) -> [String; N] {
    std::array::from_fn(|i| {
        let first = s.iter().position(|x| *x == s[i]).unwrap_or(i);
        format!("v{first}")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn result_tables_and_tags(names in prop::collection::vec(hostile(), 1..4), values in prop::collection::vec(prop::option::of(hostile()), 0..6), n in 0u64..5) {
        let columns: Vec<Column> = names.iter().enumerate().map(|(i, name)| Column { name: name.clone(), numeric: i % 2 == 1 }).collect();
        let rows: Vec<Vec<Option<String>>> = values.chunks(columns.len()).map(<[_]>::to_vec).collect();
        let out = table::render(&columns, &rows);
        clean("result table", &out)?;
        // Each line of a value is a line of its own behind a `+`: nothing else adds lines.
        let value_lines: usize = rows.iter().map(|r| r.iter().map(|v| v.as_deref().unwrap_or("").split('\n').count()).max().unwrap_or(1).max(1)).sum();
        prop_assert_eq!(lines(&out), 2 + value_lines + 1, "{:?}", out);
        let tagged = tag::command_tag(&names[0], Some(n), names.last().map(String::as_str));
        clean("command tag", &tagged)?;
        prop_assert_eq!(lines(&tagged), 1usize.min(tagged.len()));
    }

    /// The session's own path to the screen, `Io::result` (and `Io::result_page`), in
    /// every `\pset` format psql users switch to: aligned, unaligned and csv, expanded
    /// or not, border 0 to 2, with or without a header, a hostile title, null string and
    /// footers, whole or streamed in two parts.
    #[test]
    fn the_sessions_result_path_in_every_pset_format(names in prop::collection::vec(hostile(), 1..4), values in prop::collection::vec(prop::option::of(hostile()), 0..6), title in prop::option::of(hostile()), null in hostile(), footer in hostile()) {
        use super::print::Part;
        use super::pset::{Expanded, Format};
        let columns: Vec<Column> = names.iter().enumerate().map(|(i, name)| Column { name: name.clone(), numeric: i % 2 == 1 }).collect();
        let rows: Vec<Vec<Option<String>>> = values.chunks(columns.len()).map(<[_]>::to_vec).collect();
        let half = rows.len() / 2;
        for format in [Format::Aligned, Format::Unaligned, Format::Csv] {
            for expanded in [Expanded::Off, Expanded::On, Expanded::Auto] {
                for border in 0..=2u16 {
                    for tuples_only in [false, true] {
                        let what = format!("Io::result {format:?}, expanded {expanded:?}, border {border}, tuples_only {tuples_only}");
                        let (out, err) = (Shared::default(), Shared::default());
                        let mut io = Io::new(Box::new(out.clone()), Box::new(err.clone()), Style::plain());
                        {
                            let p = io.pset_mut();
                            p.format = format;
                            p.expanded = expanded;
                            p.border = border;
                            p.tuples_only = tuples_only;
                            p.title = title.clone();
                            p.null = null.clone();
                        }
                        io.result(&columns, &rows, Part::WHOLE);
                        clean(&what, &out.text())?;
                        // Streamed: the first rows, then the rest.
                        let (out, err2) = (Shared::default(), Shared::default());
                        let mut streamed = Io::new(Box::new(out.clone()), Box::new(err2.clone()), Style::plain());
                        *streamed.pset_mut() = io.pset().clone();
                        streamed.result(&columns, &rows[..half], Part { start: true, stop: false, prior: 0 });
                        streamed.result(&columns, &rows[half..], Part { start: false, stop: true, prior: half as u64 });
                        clean(&format!("{what}, streamed"), &out.text())?;
                        let (out, err3) = (Shared::default(), Shared::default());
                        let mut page = Io::new(Box::new(out.clone()), Box::new(err3.clone()), Style::plain());
                        *page.pset_mut() = io.pset().clone();
                        page.result_page(title.clone(), &columns, &rows, Some(std::slice::from_ref(&footer)), false);
                        clean(&format!("{what}, describe page"), &out.text())?;
                        for e in [&err, &err2, &err3] {
                            clean(&format!("{what}, messages"), &e.text())?;
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn errors_notices_and_the_writer(f in prop::array::uniform8(hostile()), position in prop::option::of(0u32..40)) {
        let shown = fields(&Fields {
            severity: &f[0],
            code: &f[1],
            message: &f[2],
            position,
            detail: Some(&f[3]),
            hint: Some(&f[4]),
            context: Some(&f[5]),
        }, &f[6]);
        clean("error", &shown)?;
        for style in [Style::plain(), Style { color: true }] {
            let (out, err) = (Shared::default(), Shared::default());
            let mut io = Io::new(Box::new(out.clone()), Box::new(err.clone()), style);
            io.say_err(&shown);
            io.say_out(&f[7]);
            io.say_error(&f[7]);
            io.say_warn(&f[7]);
            io.say_hint(&f[7]);
            io.say_note(&f[7]);
            let plain_err = without_colour(&err.text());
            clean("the writer's message stream", &plain_err)?;
            clean("the writer's result stream", &out.text())?;
        }
    }

    #[test]
    fn diffs_and_previews(s in prop::array::uniform4(hostile())) {
        for kind in [CaptureKind::Update, CaptureKind::Delete, CaptureKind::Insert, CaptureKind::Upsert] {
            let key = format!("{}#k", s[0]);
            let column = format!("{}#c", s[1]);
            let images = images_of(kind, &key, &column, &s[2], &s[3], 3);
            let diff = crate::preview::diff::render(&s[0], &images, &RowKey::Primary(vec![key.clone()]), true);
            coloured("diff", &diff.to_string(), &diff.to_screen(Style { color: true }))?;
            let b = benign(&s);
            let calm = crate::preview::diff::render(&b[0], &images_of(kind, &format!("{}#k", b[0]), &format!("{}#c", b[1]), &b[2], &b[3], 3), &RowKey::Primary(vec![format!("{}#k", b[0])]), true);
            prop_assert_eq!(lines(&diff.to_string()), lines(&calm.to_string()), "diff {:?}", diff.to_string());

            let preview = report(&s, kind).render(true);
            coloured("preview", &preview.to_string(), &preview.to_screen(Style { color: true }))?;
            let calm = report(&benign(&s), kind).render(true);
            prop_assert_eq!(lines(&preview.to_string()), lines(&calm.to_string()), "preview {:?}", preview.to_string());
        }
    }

    #[test]
    fn commit_summary(s in prop::array::uniform4(hostile())) {
        let summary = |s: &[String; 4]| {
            let statements = vec![s[0].clone(), s[1].clone()];
            let totals = vec![TableTotals { table: s[2].clone(), inserted: 1, updated: 0, deleted: 2 }];
            let truncated = vec![(s[3].clone(), 7)];
            let schema = vec![s[1].clone()];
            let net = vec![
                NetLine { table: s[2].clone(), net: Ok(NetCounts { inserted: 1, changed: 0, deleted: 2 }) },
                NetLine { table: s[3].clone(), net: Err(s[1].clone()) },
            ];
            Summary {
                environment: &s[0],
                database: &s[1],
                role: &s[2],
                txid: &s[3],
                statements: &statements,
                totals: &totals,
                net: &net,
                upper_bound: Some(&s[2]),
                truncated: &truncated,
                schema: &schema,
                undo: &schema,
                digest: &s[0],
            }
            .render()
        };
        let out = summary(&s);
        clean("summary", &out)?;
        prop_assert_eq!(lines(&out), lines(&summary(&benign(&s))), "{:?}", out);
    }

    #[test]
    fn describe_titles_and_prompt(s in prop::array::uniform3(hostile())) {
        use crate::repl::describe::{page::Page, plan, Plan};
        for command in ["\\d", "\\dt", "\\df", "\\du", "\\l", "\\dx", "\\dp"] {
            if let Some(Ok(Plan::List(queries))) = plan(command, &[s[0].clone()], &s[0]) {
                for q in queries {
                    clean("describe title", &q.title)?;
                    prop_assert!(!q.title.contains('\n'), "{:?}", q.title);
                }
            }
        }
        // A describe page: title, cells and footers from the server, each on its lines.
        let page = Page {
            title: s[0].clone(),
            columns: vec![crate::render::table::Column::text(s[1].clone())],
            rows: vec![vec![Some(s[2].clone())]],
            footers: vec![s[1].clone()],
            count: false,
            expandable: false,
        };
        let drawn = page.render(&crate::render::pset::Pset::default());
        clean("describe page", &drawn)?;
        // Title and footers stay one line each, whatever they hold.
        let b = benign(&s);
        let lined = |title: &str, footer: &str| Page {
            title: format!("T{title}"),
            columns: vec![crate::render::table::Column::text("c")],
            rows: Vec::new(),
            footers: vec![footer.to_string()],
            count: false,
            expandable: false,
        }
        .render(&crate::render::pset::Pset::default());
        let drawn = lined(&s[0], &s[1]);
        clean("describe page", &drawn)?;
        prop_assert_eq!(lines(&drawn), lines(&lined(&b[0], &b[1])), "{:?}", drawn);
        let prompt = Prompt { env: s[0].clone(), role: s[1].clone(), db: s[2].clone(), marker: "=*>", standby: false };
        let plain = prompt.plain();
        prop_assert!(!plain.contains('\n'));
        coloured("prompt", &plain, &prompt.colored(crate::config::file::PromptColor::Red))?;
    }
}
