//! Running a write inside the guarded transaction with its preview: plan, capture (in a
//! savepoint, falling back to the user's text as typed when the rewrite does not fit the
//! relation), probe, report, and the guard thresholds (`max_rows`, no or trivially true
//! WHERE, TRUNCATE), which need the exact affected count typed to keep the change.

use crate::preview::cascade_images::{Pending, Restore};
use crate::preview::conflict::{PreRead, Prior};
use crate::preview::counts;
use crate::preview::images::{ImageSink, Images, SinkOptions, SpillTo};
use crate::preview::keys::RowKey;
use crate::preview::merge::{self, Found, ReadAround};
use crate::preview::rewrite::{self, Capture, CaptureKind, WhereShape};
use crate::preview::statement::{self, PlanContext, WriteKind};
use crate::render;

use super::changes::NetStatement;
use super::exec::{self, CaptureError};
use super::{Outcome, Session, TxState};

impl Session {
    /// Runs the write `text` in the open transaction and shows what it did. `prepared` is
    /// the text of the statement an EXECUTE runs: the guard judges that statement (its
    /// kind and WHERE clause), and the preview has its counts.
    pub(super) async fn write(&mut self, text: &str, ddl: bool, prepared: Option<&str>) -> Outcome {
        self.write_recorded(text, ddl, None, prepared).await
    }

    /// Runs the INSERT `text` that pgward built for a command (`\copy … FROM`) as a
    /// write: the transaction records `recorded` in its place, and the command tag is
    /// `tag` with the row count, as psql prints it.
    pub(super) async fn write_as(&mut self, text: &str, recorded: &str, tag: &str) -> Outcome {
        self.write_recorded(text, false, Some((recorded, tag)), None)
            .await
    }

    async fn write_recorded(
        &mut self,
        text: &str,
        ddl: bool,
        recorded: Option<(&str, &str)>,
        prepared: Option<&str>,
    ) -> Outcome {
        let TxState::Open(tx) = &self.state else {
            return self.aborted();
        };
        let ctx = PlanContext {
            read_committed: tx.read_committed,
            ddl,
        };
        let mut plan = match statement::plan(&self.conn.client, text, &ctx).await {
            Ok(plan) => plan,
            Err(e) => return self.failed(e, text).await,
        };
        if let Some(prepared) = prepared {
            statement::judge_prepared(&mut plan, prepared);
        }
        if let Capture::Rows { kind, .. } = &plan.capture {
            // Before-images need a spill file. Tried before anything runs: a temp dir
            // that cannot take one means counts only, not a capture undone halfway
            // (whose rows the server would go on counting).
            let options = SinkOptions {
                shown: 0,
                spill: SpillTo::TempFile,
            };
            let mut probe = ImageSink::new(*kind, plan.key.clone(), plan.columns.clone(), options);
            if let Err(e) = probe.open_spill() {
                plan.capture = Capture::CountsOnly {
                    reason: format!("rows could not be captured ({e}): counts only"),
                };
            }
        }
        // The rows the statement's foreign keys will remove or change, read before
        // (and, when changed, after) it, for undo.
        let mark = self.conn.tls.escapes().count();
        let cascaded = crate::preview::cascade_images::preread(&self.conn.client, &plan)
            .await
            .transpose()
            .map(|read| unescaped(self.conn.tls.escapes(), mark, read));
        let client = &self.conn.client;
        let (executed, images, counts_only) = match &plan.capture {
            Capture::Rows { sql, kind, .. } => {
                let mut sink = ImageSink::new(
                    *kind,
                    plan.key.clone(),
                    plan.columns.clone(),
                    SinkOptions {
                        shown: self.settings.env.preview_rows,
                        spill: SpillTo::TempFile,
                    },
                );
                if let Some(fields) = &plan.new_fields {
                    sink.narrow_new(fields.clone());
                }
                if let Some(fields) = &plan.compared {
                    sink.compare_on_server(fields.clone());
                }
                // With no pre-read between them, the savepoint rides with the planner
                // settings: one statement in the server log.
                let savepoint_later = plan.tid_join && plan.old_values.is_none();
                if !savepoint_later {
                    if let Err(e) = client.batch_execute("SAVEPOINT pgward_capture").await {
                        return self.failed(e, text).await;
                    }
                }
                let mark = self.conn.tls.escapes().count();
                let sink = match &plan.old_values {
                    Some(Ok(read)) => match read_prior(client, read).await {
                        Ok(prior) => {
                            sink.with_prior(unescaped(self.conn.tls.escapes(), mark, prior))
                        }
                        Err(e) => {
                            let _ = client
                                .batch_execute("ROLLBACK TO SAVEPOINT pgward_capture; RELEASE SAVEPOINT pgward_capture")
                                .await;
                            return self.failed(e, text).await;
                        }
                    },
                    Some(Err(why)) => sink.with_prior(Err(why.clone())),
                    None => sink,
                };
                let restore = if plan.tid_join {
                    let first = if savepoint_later {
                        "SAVEPOINT pgward_capture; "
                    } else {
                        ""
                    };
                    match steer_to_tid_join(client, first).await {
                        Ok(restore) => restore,
                        Err(e) => {
                            let _ = client
                                .batch_execute("ROLLBACK TO SAVEPOINT pgward_capture; RELEASE SAVEPOINT pgward_capture")
                                .await;
                            return self.failed(e, text).await;
                        }
                    }
                } else {
                    String::new()
                };
                // The server log shows the statement as typed, not only the rewrite.
                let sql = super::typed_comment::with_typed_comment(
                    self.settings.ticket.as_deref(),
                    text,
                    sql,
                );
                let trailing = sink.trailing();
                let captured = self
                    .conn
                    .user_statement(exec::run_capture(
                        client,
                        &self.conn.tls,
                        &sql,
                        self.via(),
                        sink,
                        trailing,
                    ))
                    .await;
                match captured {
                    Ok((executed, images)) => {
                        // RELEASE keeps SET LOCAL values: put the planner back.
                        let release = format!("RELEASE SAVEPOINT pgward_capture; {restore}");
                        if let Err(e) = client.batch_execute(&release).await {
                            return self.failed(e, text).await;
                        }
                        (executed, Some(images), None)
                    }
                    Err(failure) => match self.capture_failed(failure, text).await {
                        Ok((executed, why)) => (executed, None, Some(why)),
                        Err(outcome) => return outcome,
                    },
                }
            }
            Capture::Parts(capture) => {
                let sinks = plan
                    .parts
                    .iter()
                    .map(|part| {
                        let mut sink = ImageSink::new(
                            part.kind,
                            part.key.clone(),
                            part.columns.clone(),
                            SinkOptions {
                                shown: self.settings.env.preview_rows,
                                spill: SpillTo::TempFile,
                            },
                        );
                        sink.open_spill().map(|()| sink)
                    })
                    .collect::<Result<Vec<ImageSink>, _>>();
                match sinks {
                    Err(e) => match self
                        .conn
                        .user_statement(exec::run(client, &self.conn.tls, text, self.via()))
                        .await
                    {
                        Ok(executed) => (
                            executed,
                            None,
                            Some(format!("rows could not be captured ({e}): counts only")),
                        ),
                        Err(e) => return self.failed_run(e, text).await,
                    },
                    Ok(sinks) => {
                        if let Err(e) = client.batch_execute("SAVEPOINT pgward_capture").await {
                            return self.failed(e, text).await;
                        }
                        let sql = super::typed_comment::with_typed_comment(
                            self.settings.ticket.as_deref(),
                            text,
                            &capture.sql,
                        );
                        let captured = self
                            .conn
                            .user_statement(exec::run_parts(
                                client,
                                &self.conn.tls,
                                &sql,
                                self.via(),
                                sinks,
                                capture.main_query,
                            ))
                            .await;
                        match captured {
                            Ok((executed, images)) => {
                                if let Err(e) = client
                                    .batch_execute("RELEASE SAVEPOINT pgward_capture")
                                    .await
                                {
                                    return self.failed(e, text).await;
                                }
                                for (part, images) in plan.parts.iter_mut().zip(images) {
                                    part.images = Some(images);
                                }
                                (executed, None, None)
                            }
                            Err(failure) => match self.capture_failed(failure, text).await {
                                Ok((executed, why)) => (executed, None, Some(why)),
                                Err(outcome) => return outcome,
                            },
                        }
                    }
                }
            }
            Capture::Around(read) => {
                let mark = self.conn.tls.escapes().count();
                let before = match read_found(client, &read.sql).await {
                    Ok(before) => unescaped(self.conn.tls.escapes(), mark, before),
                    Err(e) => return self.failed(e, text).await,
                };
                let executed = match self
                    .conn
                    .user_statement(exec::run(client, &self.conn.tls, text, self.via()))
                    .await
                {
                    Ok(executed) => executed,
                    Err(e) => return self.failed_run(e, text).await,
                };
                let sink = ImageSink::new(
                    CaptureKind::Merge,
                    plan.key.clone(),
                    plan.columns.clone(),
                    SinkOptions {
                        shown: self.settings.env.preview_rows,
                        spill: SpillTo::TempFile,
                    },
                );
                let relid = plan.target.as_ref().map_or(0, |t| t.relid);
                let captured = match before {
                    Err(why) => Err(why),
                    Ok(before) => {
                        let around = Around {
                            read,
                            relid,
                            baseline: &self.changes.baseline,
                            cumulative: &self.changes.cumulative,
                        };
                        let mark = self.conn.tls.escapes().count();
                        match around.capture(client, before, sink).await {
                            Ok(captured) => unescaped(self.conn.tls.escapes(), mark, captured),
                            Err(e) => return self.failed(e, text).await,
                        }
                    }
                };
                match captured {
                    Ok(images) => (executed, Some(images), None),
                    Err(why) => (executed, None, Some(why)),
                }
            }
            Capture::CountsOnly { reason } => match self
                .conn
                .user_statement(exec::run(client, &self.conn.tls, text, self.via()))
                .await
            {
                Ok(executed) => (executed, None, Some(reason.clone())),
                Err(e) => return self.failed_run(e, text).await,
            },
        };
        if let Some(outcome) = self.check_open().await {
            return outcome;
        }
        let after = statement::after(
            &self.conn.client,
            plan,
            executed.count,
            images,
            counts_only,
            &self.changes.baseline,
            &self.changes.cumulative,
        )
        .await;
        let (mut report, cumulative) = match after {
            Ok(r) => r,
            Err(e) => {
                let _ = self.rollback().await;
                self.say_error(&format!(
                    "the preview could not be built ({e}); the transaction was rolled back, nothing was committed"
                ));
                return Outcome::Refused;
            }
        };
        match recorded {
            Some((_, tag)) => {
                self.log_rows(executed.count);
                self.io
                    .result_tag(&format!("{tag} {}", executed.count.unwrap_or(0)));
            }
            None => self.show(text, &executed),
        }
        let null = self.io.pset().null.clone();
        let mut preview = report.render_with(self.all_columns, &null).trim_end();
        preview.push("\n");
        self.io.out(&preview);
        let image_digest = report.image_digest();
        self.log_preview(&report, image_digest.as_ref());
        if let Some(outcome) = self.threshold(&report).await {
            return outcome;
        }
        self.changes.cumulative = cumulative;
        if let (None, Some(why)) = (&self.changes.upper_bound, &report.upper_bound) {
            self.changes.upper_bound = Some(why.clone());
        }
        self.changes
            .truncated
            .extend(report.plan.truncated.iter().cloned());
        let number = self.statement_count() + 1;
        for line in report.schema_lines() {
            self.changes
                .schema
                .push(format!("statement {number}: {line}"));
        }
        let images = report.images.take();
        self.changes.images.add(image_digest.as_ref());
        self.changes.writes += 1;
        self.parts_net(&mut report);
        if let Some(images) = images {
            if let Some(target) = &report.plan.target {
                let counted = report
                    .delta
                    .iter()
                    .filter(|c| report.tree.contains(&c.relid))
                    .fold((0, 0, 0), |(i, u, d), c| {
                        (i + c.inserted, u + c.updated, d + c.deleted)
                    });
                let own = (
                    images.inserted as i64,
                    images.updated as i64,
                    images.deleted as i64,
                );
                // Rows the statement's foreign keys changed in its own table (a
                // self-reference) are counted there too: then its rows and theirs
                // together must be what the server counted.
                let (counted, exact) = match self.cascaded_net(&report, cascaded, own).await {
                    Some(exact) => (own, exact),
                    None => (counted, report.capture_exact),
                };
                self.changes.net.push(NetStatement {
                    step: self.changes.writes,
                    relid: target.relid,
                    table: target.display(),
                    tree: report.tree.clone(),
                    counted,
                    exact,
                    by_cascade: false,
                    keyed: report.plan.key != RowKey::Ctid,
                    rows: images.net,
                    quoted: target.quoted(),
                    columns: report.plan.columns.clone(),
                    key: report.plan.key.columns().to_vec(),
                    spill: images.spill,
                });
            }
        }
        if let TxState::Open(tx) = &mut self.state {
            tx.statements
                .push(recorded.map_or(text, |(r, _)| r).to_string());
        }
        Outcome::Ok
    }

    /// The guard thresholds. `Some(outcome)` when the change was not kept.
    async fn threshold(&mut self, report: &statement::Report) -> Option<Outcome> {
        let affected = report.affected();
        let max = self.settings.env.max_rows;
        let kind = report.plan.guard_kind;
        let why = match (&report.plan.where_shape, kind) {
            (_, WriteKind::Truncate) if affected > 0 => {
                Some("TRUNCATE removes every row".to_string())
            }
            (WhereShape::None, WriteKind::Update | WriteKind::Delete) if affected > 0 => {
                Some("it has no WHERE clause".to_string())
            }
            (WhereShape::TriviallyTrue, WriteKind::Update | WriteKind::Delete) if affected > 0 => {
                Some("its WHERE clause is always true".to_string())
            }
            _ if affected > 0 && report.plan.unbounded_part.is_some() => Some(format!(
                "it has no WHERE clause ({})",
                report.plan.unbounded_part.as_deref().unwrap_or_default()
            )),
            _ if report.hidden_schema_change() => Some(
                "it changed the schema or storage of tables (TRUNCATE, DROP, a rewrite) where pgward cannot show rows"
                    .to_string(),
            ),
            _ if affected > max => Some(format!("that is more than max_rows ({max})")),
            _ => None,
        }?;
        let verb = kind.verb();
        // What the number counts, per table and operation with its cause, so nobody
        // types the statement's own count and loses the work: in the question when
        // there is one, else on the warning line.
        let parts = report.count_parts();
        let scope = if parts.is_empty() || !self.previewing {
            String::new()
        } else {
            format!(" ({parts})")
        };
        // The number asked for is always a true statement: exact, or labelled as the
        // upper bound it is, with the reason.
        let estimated = report.plan.estimated.first();
        let (amount, label) = match (&report.upper_bound, estimated) {
            (_, Some(why)) if kind == WriteKind::Truncate => (
                format!("about {affected}"),
                format!(" (an estimate: {why})"),
            ),
            (Some(why), _) => (
                format!("at most {affected}"),
                format!(" (an upper bound: {why})"),
            ),
            (None, _) => (affected.to_string(), String::new()),
        };
        self.say_warn(&format!(
            "This {verb} changed {amount} rows in all{scope}{label}, and {why}."
        ));
        if self.previewing {
            // The preview is undone anyway: declining here must not cost the author the
            // rest of the transaction.
            self.say_note("a real run would ask for the exact count here");
            return None;
        }
        let asked = match (&report.upper_bound, estimated) {
            (_, Some(_)) if kind == WriteKind::Truncate => {
                format!("the estimate shown ({affected})")
            }
            (Some(_), _) => format!("the upper bound shown ({affected})"),
            (None, _) => format!("the exact number of rows ({affected})"),
        };
        let asked = match asked.strip_suffix(')') {
            Some(open) if !parts.is_empty() => format!("{open}: {parts})"),
            _ => asked,
        };
        self.conn.settle().await;
        // Under the implicit savepoint a "no" undoes only this statement (see
        // `super::implicit`); otherwise it ends the transaction.
        let only_this = self.under_statement_savepoint();
        let otherwise = if only_this {
            "undoes only this statement"
        } else {
            "rolls back the transaction"
        };
        let answer = self.confirm.ask(&format!(
            "Type {asked} to keep this change; anything else {otherwise}: "
        ));
        if answer.as_deref().map(str::trim) == Some(affected.to_string().as_str()) {
            return None;
        }
        if only_this {
            self.say_error(&format!(
                "refused: the {verb} of {affected} rows was not confirmed"
            ));
            self.say_hint("narrow the WHERE clause, or type the exact count when asked");
            return Some(Outcome::Refused);
        }
        let _ = self.rollback().await;
        self.say_error(&format!(
            "refused: the {verb} of {affected} rows was not confirmed; the transaction was rolled back, nothing was committed"
        ));
        self.say_hint("narrow the WHERE clause, or type the exact count when asked");
        Some(Outcome::Refused)
    }
}

/// Reads the target's rows around a MERGE (see [`crate::preview::merge`]), in a
/// savepoint of its own: a read that fails leaves the MERGE with counts only and says
/// why. Only a failure to manage the savepoint is an error.
async fn read_found(
    client: &crate::conn::Client,
    sql: &str,
) -> Result<Result<Vec<Found>, String>, tokio_postgres::Error> {
    client.batch_execute("SAVEPOINT pgward_read").await?;
    match client.simple_query(sql).await {
        Ok(messages) => {
            client
                .batch_execute("RELEASE SAVEPOINT pgward_read")
                .await?;
            Ok(Ok(messages
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(Found {
                        place: r.get(0)?.to_string(),
                        image: r.get(1)?.to_string(),
                    }),
                    _ => None,
                })
                .collect()))
        }
        Err(e) => {
            client
                .batch_execute("ROLLBACK TO SAVEPOINT pgward_read; RELEASE SAVEPOINT pgward_read")
                .await?;
            Ok(Err(format!(
                "the rows around the MERGE could not be read ({}): counts only",
                render::error::one_line(&e)
            )))
        }
    }
}

/// The MERGE that ran, with what is needed to pair its rows and check them against the
/// server's counts.
struct Around<'a> {
    read: &'a ReadAround,
    relid: u32,
    baseline: &'a counts::Baseline,
    cumulative: &'a [counts::TableCounts],
}

impl Around<'_> {
    /// Reads the rows after the MERGE, pairs them with those read `before`, and keeps
    /// the images only when they explain every row the server counted on the target's
    /// tree; otherwise says why (counts only).
    async fn capture(
        &self,
        client: &crate::conn::Client,
        before: Vec<Found>,
        mut sink: ImageSink,
    ) -> Result<Result<Images, String>, tokio_postgres::Error> {
        let after = match read_found(client, &self.read.sql).await? {
            Ok(after) => after,
            Err(why) => return Ok(Err(why)),
        };
        let unreadable = |e: &dyn std::fmt::Display| {
            format!("the rows around the MERGE could not be taken in ({e}): counts only")
        };
        if let Err(e) = sink.open_spill() {
            return Ok(Err(unreadable(&e)));
        }
        let found = match merge::pair(before, after, &self.read.key_fields, &mut sink) {
            Ok(found) => found,
            Err(e) => return Ok(Err(unreadable(&e))),
        };
        let counted = async {
            let now = counts::since(client, self.baseline).await?;
            let tree = statement::tree(client, self.relid).await?;
            Ok::<_, crate::preview::PreviewError>(
                statement::difference(&now, self.cumulative)
                    .iter()
                    .filter(|c| tree.contains(&c.relid))
                    .fold((0, 0, 0), |(i, u, d), c| {
                        (i + c.inserted, u + c.updated, d + c.deleted)
                    }),
            )
        };
        let counted = match counted.await {
            Ok(counted) => counted,
            Err(e) => return Ok(Err(unreadable(&e))),
        };
        if found != counted {
            return Ok(Err(format!(
                "the rows read before and after the MERGE ({} inserted, {} updated, {} \
                 deleted) do not explain the server's counts ({} inserted, {} updated, {} \
                 deleted): a trigger, or a row moved across partitions, did more than the \
                 reads can pair: counts only",
                found.0, found.1, found.2, counted.0, counted.1, counted.2
            )));
        }
        Ok(sink.finish().map_err(|e| unreadable(&e)))
    }
}

/// Reads the old images of the rows an upsert may update (see
/// [`crate::preview::conflict`]), in a savepoint of its own: a read that fails (a
/// privilege, a cast) leaves the old values uncaptured, says why, and changes nothing
/// the statement does. Only a failure to manage the savepoint is an error.
async fn read_prior(
    client: &crate::conn::Client,
    read: &PreRead,
) -> Result<Result<Prior, String>, tokio_postgres::Error> {
    client.batch_execute("SAVEPOINT pgward_prior").await?;
    match client.simple_query(&read.sql).await {
        Ok(messages) => {
            client
                .batch_execute("RELEASE SAVEPOINT pgward_prior")
                .await?;
            let images = messages
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                    _ => None,
                })
                .collect();
            Ok(Prior::new(read.key_fields.clone(), images).map_err(|e| {
                format!("the rows read before the upsert could not be read back ({e}): old values not captured")
            }))
        }
        Err(e) => {
            client
                .batch_execute("ROLLBACK TO SAVEPOINT pgward_prior; RELEASE SAVEPOINT pgward_prior")
                .await?;
            Ok(Err(format!(
                "the rows an upsert updates could not be read before it ({}): old values not captured",
                render::error::one_line(&e)
            )))
        }
    }
}

/// Runs `first` (the capture's savepoint, or nothing), then turns hash and merge joins
/// off for the capture (inside its savepoint, so a rollback to it undoes this too) and
/// returns the statements that restore the settings. One statement in the server log:
/// it reads both settings, then sets both (a simple query runs its parts in order, and
/// an error stops it there).
async fn steer_to_tid_join(
    client: &crate::conn::Client,
    first: &str,
) -> Result<String, tokio_postgres::Error> {
    const SETTINGS: [&str; 2] = ["enable_hashjoin", "enable_mergejoin"];
    let off: String = SETTINGS
        .iter()
        .map(|setting| format!("; SET LOCAL {setting} = off"))
        .collect();
    let rows = client
        .simple_query(&format!(
            "{first}SELECT pg_catalog.current_setting('enable_hashjoin'), pg_catalog.current_setting('enable_mergejoin'){off}"
        ))
        .await?;
    let row = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    let mut restore = String::new();
    for (i, setting) in SETTINGS.iter().enumerate() {
        let previous = row
            .and_then(|r| r.get(i))
            .filter(|v| *v == "on" || *v == "off")
            .unwrap_or("on");
        restore.push_str(&format!("SET LOCAL {setting} = {previous}; "));
    }
    Ok(restore)
}

impl Session {
    /// A capturing statement failed. Where the rewrite did not fit the relation (see
    /// [`rewrite::is_fallback_error`]) or its rows could not be taken in, the capture's
    /// savepoint is rolled back and the statement runs as typed: its result and why
    /// the preview has counts only. The statement's own error is reported as such
    /// (`Err`, the outcome).
    async fn capture_failed(
        &mut self,
        failure: CaptureError,
        text: &str,
    ) -> Result<(exec::Executed, String), Outcome> {
        let client = &self.conn.client;
        let undo = "ROLLBACK TO SAVEPOINT pgward_capture; RELEASE SAVEPOINT pgward_capture";
        let why = match failure {
            CaptureError::Db(e) if rewrite::is_fallback_error(&e) => render::error::one_line(&e),
            CaptureError::Db(e) => {
                // The user's statement itself failed: report it as such, with the
                // caret where the typed statement has it, not where the rewrite does.
                let (e, at) = locate_in_typed(client, e, text).await;
                let _ = client.batch_execute(undo).await;
                return Err(self.failed_at(e, text, at).await);
            }
            CaptureError::Image(e) => e.to_string(),
            CaptureError::Copy(e) => e.to_string(),
        };
        if let Err(e) = client.batch_execute(undo).await {
            return Err(self.failed(e, text).await);
        }
        // The attempt may have changed rows before it failed, and the server still
        // counts them: measured now, they leave the counts.
        match counts::since(client, &self.changes.baseline).await {
            Ok(now) => self.changes.undone_since_last_write(&now),
            Err(e) => return Err(self.counters_failed(&e).await),
        }
        let client = &self.conn.client;
        match self
            .conn
            .user_statement(exec::run(client, &self.conn.tls, text, self.via()))
            .await
        {
            Ok(executed) => Ok((
                executed,
                format!(
                    "rows could not be captured ({why}), so the statement ran as typed: counts only"
                ),
            )),
            Err(e) => Err(self.failed_run(e, text).await),
        }
    }

    /// Each captured part of a statement with data-modifying WITH joins the change set
    /// as a statement on its table would: its rows for the net change and undo, marked
    /// exact only where they explain the server's counts on its tree.
    fn parts_net(&mut self, report: &mut statement::Report) {
        for part in &mut report.parts {
            let Some(images) = part.images.take() else {
                continue;
            };
            self.changes.net.push(NetStatement {
                step: self.changes.writes,
                relid: part.target.relid,
                table: part.target.display(),
                tree: part.tree.clone(),
                counted: part.counted(&report.delta),
                exact: part.exact,
                by_cascade: false,
                keyed: part.key != RowKey::Ctid,
                rows: images.net,
                quoted: part.target.quoted(),
                columns: part.columns.clone(),
                key: part.key.columns().to_vec(),
                spill: images.spill,
            });
        }
    }

    /// The rows the statement removed or changed through its foreign keys, read before
    /// it (and, when changed, after it), join the change set ahead of the statement's
    /// own, as one step with it: undo inserts the removed rows back parents first
    /// (`undo_inserts`) and puts a parent's key back before its children's
    /// references. Each table's rows are marked exact only when the server counted for
    /// that table exactly the rows read (together with the statement's own rows `own`,
    /// when the table is its target): anything else makes undo unavailable, and the
    /// session says why now. `Some(exact)` when cascaded rows lie in the target's own
    /// table, for the target's rows too.
    async fn cascaded_net(
        &mut self,
        report: &statement::Report,
        cascaded: Option<Result<Pending, String>>,
        own: (i64, i64, i64),
    ) -> Option<bool> {
        let read = match cascaded {
            None => return None,
            Some(Ok(pending)) => {
                let mark = self.conn.tls.escapes().count();
                let read = pending.finish(&self.conn.client).await;
                unescaped(self.conn.tls.escapes(), mark, read)
            }
            Some(Err(why)) => Err(why),
        };
        let cascaded = match read {
            Ok(cascaded) => cascaded,
            Err(why) => {
                self.say_note(&format!("undo: {why}; this change will have no undo"));
                return None;
            }
        };
        let add = |a: (i64, i64, i64), b: (i64, i64, i64)| (a.0 + b.0, a.1 + b.1, a.2 + b.2);
        let mut relids: Vec<u32> = cascaded.iter().map(|c| c.relation.relid).collect();
        relids.sort_unstable();
        relids.dedup();
        let mut exact_of: Vec<(u32, bool)> = Vec::new();
        let mut target_exact = None;
        for relid in relids {
            let entries: Vec<_> = cascaded
                .iter()
                .filter(|c| c.relation.relid == relid)
                .collect();
            let in_target = report.tree.contains(&relid);
            let tree = if in_target {
                &report.tree
            } else {
                &entries[0].tree
            };
            let counted = report
                .delta
                .iter()
                .filter(|d| tree.contains(&d.relid))
                .fold((0, 0, 0), |acc, c| {
                    add(acc, (c.inserted, c.updated, c.deleted))
                });
            let mut read = entries.iter().fold((0, 0, 0), |acc, c| {
                add(
                    acc,
                    (
                        c.images.inserted as i64,
                        c.images.updated as i64,
                        c.images.deleted as i64,
                    ),
                )
            });
            let table = entries[0].relation.display();
            let mut whose = String::new();
            if in_target {
                read = add(read, own);
                whose = " (with the statement's own rows)".to_string();
                target_exact = Some(read == counted);
            }
            if read != counted {
                self.say_warn(&format!(
                    "undo: {} deleted and {} updated rows of {table} were read around the \
                     statement for its foreign keys{whose}, but the server counted {} \
                     deleted, {} updated, {} inserted there: this change will have no undo",
                    read.2, read.1, counted.2, counted.1, counted.0
                ));
            }
            exact_of.push((relid, read == counted));
        }
        for c in cascaded {
            let relid = c.relation.relid;
            self.changes.net.push(NetStatement {
                step: self.changes.writes,
                relid,
                table: c.relation.display(),
                tree: c.tree,
                counted: (
                    c.images.inserted as i64,
                    c.images.updated as i64,
                    c.images.deleted as i64,
                ),
                exact: exact_of.iter().any(|(r, e)| *r == relid && *e),
                by_cascade: c.restore == Restore::ByCascade,
                keyed: c.key != RowKey::Ctid,
                rows: c.images.net,
                quoted: c.relation.quoted(),
                columns: c.columns,
                key: c.key.columns().to_vec(),
                spill: c.images.spill,
            });
        }
        target_exact
    }
}

/// The error a failed capture answered, placed in the typed statement `text`. The
/// server's position counts characters of the capture, a rewrite around the typed text,
/// so it points nowhere the user typed. An error with a position comes from parsing or
/// analysing the statement, which the typed statement alone repeats: it is prepared
/// (never executed) inside the capture's savepoint, and its error, if the same, is shown
/// with its own position. Otherwise the caret is left out rather than misplaced. Costs a
/// round trip only when the capture failed with a position.
async fn locate_in_typed(
    client: &crate::conn::Client,
    e: tokio_postgres::Error,
    text: &str,
) -> (tokio_postgres::Error, render::error::At) {
    use tokio_postgres::error::ErrorPosition;
    let Some(code) = e
        .as_db_error()
        .filter(|db| matches!(db.position(), Some(ErrorPosition::Original(_))))
        .map(|db| db.code().clone())
    else {
        return (e, render::error::At::Typed);
    };
    if client
        .batch_execute("ROLLBACK TO SAVEPOINT pgward_capture")
        .await
        .is_err()
    {
        return (e, render::error::At::Elsewhere);
    }
    // The raw client: the typed text is sent without pgward's marker in front, so the
    // server counts positions in it alone.
    let raw: &tokio_postgres::Client = client;
    match raw.prepare(text).await {
        Err(typed) if typed.code() == Some(&code) => (typed, render::error::At::Typed),
        _ => (e, render::error::At::Elsewhere),
    }
}

/// Why rows read for images are not kept when the byte bridge escaped anything of the
/// answer ([`crate::conn::bridge`]): an image would hold `\xe9` text instead of the
/// stored bytes, and an undo would write that text back.
const ESCAPED: &str = "a row it read holds bytes that are not UTF-8 (this SQL_ASCII database), which pgward has only as \\xe9, not as stored";

/// `read`, unless the byte bridge escaped something since `mark`.
fn unescaped<T>(
    escapes: &crate::conn::bridge::Escapes,
    mark: u64,
    read: Result<T, String>,
) -> Result<T, String> {
    if escapes.count() == mark {
        read
    } else {
        Err(ESCAPED.to_string())
    }
}
