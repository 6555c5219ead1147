//! `\c ENV` on a real terminal, with two environments pointing at two databases: the
//! switch is refused while a transaction is open, an environment that cannot be reached
//! or whose role setup the check refuses leaves the current connection as it was, Tab
//! completes environment names after `\c`, and a switch ends one session log and
//! starts the next, both intact. Data checked as the superuser afterwards.

use std::process::Command;

use crate::term::Term;
use crate::util::{cluster, records, session_logs, write_config, TestDb, LOGIN, READER, WRITER};

/// `[environments.NAME]` for `db` with the usual roles, no approval.
fn environment(name: &str, db: &str, roles: &str) -> String {
    let c = cluster();
    format!(
        "[environments.{name}]\nurl = \"postgresql://{LOGIN}@{}:{}/{db}\"\n{roles}\nrequire_approval = false\n\n",
        c.host(),
        c.port(),
    )
}

#[test]
fn connect_switches_environments_only_when_safe_and_logs_each() {
    let a = TestDb::new("connect_a");
    let b = TestDb::new("connect_b");
    let home = tempfile::tempdir().expect("home");
    let roles = format!("write_role = \"{WRITER}\"\nread_role = \"{READER}\"");
    let config = format!(
        "author = \"tester\"\n\n{}{}{}{}",
        environment("alpha", &a.name, &roles),
        environment("beta", &b.name, &roles),
        environment("nowhere", "t_connect_no_such_db", &roles),
        // The login can become app_reader too, beyond this environment's one role: the
        // role check refuses to open it.
        environment("wrongroles", &b.name, &format!("write_role = \"{WRITER}\"")),
    );
    let cfg = write_config(home.path(), &config);
    let cfg = cfg.display().to_string();
    let mut t = Term::start_args(
        &a,
        home.path(),
        "alpha",
        &["--config", &cfg, "--env", "alpha"],
        &[],
    );
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");

    // A transaction is open: no switch, and the transaction and its write stay.
    t.line("update items set qty = 111 where id = 1;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("\\c beta");
    let out = t.prompt(WRITER, "=*>");
    t.ensure(
        out.contains("\\connect: a transaction is open")
            && out.contains("still connected to environment alpha"),
        "the switch is refused while the transaction is open",
    );
    t.line("commit;");
    t.expect("Type the environment name (alpha) to COMMIT");
    t.line("alpha");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.lines().any(|l| l.trim() == "COMMIT"),
        "the transaction the refused switch left open commits",
    );

    // Environments that cannot be opened leave the connection as it was.
    t.line("\\c nowhere");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.contains("t_connect_no_such_db")
            && out.contains("still connected to environment alpha"),
        "a database that does not exist is refused in one line",
    );
    t.line("\\c wrongroles");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.contains("still connected to environment alpha") && out.contains("accept_risks"),
        "a role setup the check refuses is not opened",
    );
    t.line("\\c nosuch");
    let out = t.prompt(READER, "=>");
    t.ensure(
        out.contains("unknown environment") && out.contains("alpha, beta, nowhere, wrongroles"),
        "an unknown name lists the configured ones",
    );
    t.line("select current_database() as db;");
    let out = t.prompt(READER, "=>");
    t.ensure(out.contains(&a.name), "still on alpha's database");

    // Tab completes the environment name; Enter switches.
    t.send("\\c be\t");
    t.expect("\\c beta");
    t.send("\r");
    t.expect(&format!(
        "You are now connected to database \"{}\" as user \"{LOGIN}\" (environment beta).",
        b.name
    ));
    t.expect("Session log: ");
    t.switched("beta", &b);
    t.prompt(READER, "=>");
    t.line("update items set qty = 222 where id = 2;");
    t.expect("UPDATE 1");
    t.prompt(WRITER, "=*>");
    t.line("commit;");
    t.expect("Type the environment name (beta) to COMMIT");
    t.line("beta");
    t.prompt(READER, "=>");
    t.quit();

    assert_eq!(
        a.items(),
        "1:111:item 1,2:20:item 2,3:30:item 3,4:40:item 4,5:50:item 5",
        "alpha's write committed in alpha's database only"
    );
    assert_eq!(
        b.items(),
        "1:10:item 1,2:222:item 2,3:30:item 3,4:40:item 4,5:50:item 5",
        "beta's write committed in beta's database only"
    );

    // One log per environment, each complete and intact.
    let logs = session_logs(home.path());
    assert_eq!(logs.len(), 2, "{logs:?}");
    let mut by_env = std::collections::BTreeMap::new();
    for log in &logs {
        let recs = records(log);
        let kinds: Vec<&str> = recs
            .iter()
            .map(|r| r["kind"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(kinds.first(), Some(&"session_start"), "{log:?}");
        assert_eq!(kinds.last(), Some(&"session_end"), "{log:?}");
        assert_eq!(
            kinds.iter().filter(|k| **k == "session_end").count(),
            1,
            "{log:?}: {kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "commit").count(),
            1,
            "{kinds:?}"
        );
        let env = recs[0]["env"].as_str().unwrap_or("?").to_string();
        by_env.insert(env, recs);
        let mut verify = Command::new(crate::util::bin());
        verify.args(["log", "verify"]).arg(log);
        crate::util::isolate(&mut verify, home.path());
        let verify = verify.output().expect("run pgward log verify");
        assert!(
            verify.status.success(),
            "{log:?}: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }
    let alpha = &by_env["alpha"];
    assert_eq!(alpha[0]["database"], a.name.as_str());
    assert_eq!(
        alpha.last().unwrap()["reason"],
        "\\connect to environment beta",
        "alpha's log says where the session went"
    );
    let beta = &by_env["beta"];
    assert_eq!(beta[0]["database"], b.name.as_str());
    assert!(
        beta.iter()
            .any(|r| r["kind"] == "statement" && r["text"].as_str().unwrap_or("").contains("222")),
        "beta's write is in beta's log"
    );
    assert!(
        !alpha
            .iter()
            .any(|r| r["text"].as_str().unwrap_or("").contains("222")),
        "and not in alpha's"
    );
}

#[test]
fn connect_is_refused_in_a_script() {
    let db = TestDb::new("connect_script");
    let home = tempfile::tempdir().expect("home");
    let roles = format!("write_role = \"{WRITER}\"\nread_role = \"{READER}\"");
    let cfg = write_config(home.path(), &environment("other", &db.name, &roles));
    let out = crate::util::TestShell::new(&db)
        .args(["--config"])
        .arg_path(&cfg)
        .args(["-c", "\\c other", "-c", "update items set qty = 0"])
        .run();
    assert_eq!(out.code, 2, "refused, exit code 2: {out:?}");
    assert!(
        out.stderr
            .contains("a script runs in the environment it was started in"),
        "{out:?}"
    );
    assert_eq!(
        db.items(),
        "1:10:item 1,2:20:item 2,3:30:item 3,4:40:item 4,5:50:item 5",
        "the script stopped at the refusal"
    );
}
