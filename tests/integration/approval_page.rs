//! The reviewer page in a real browser: headless Chromium driven through WebDriver
//! (Debian's `chromium` and `chromium-driver`). A reviewer logs in, sees a request whose
//! statement carries HTML and script shown as text, approves, reads the code in large
//! type, and the shell on a pseudo-terminal commits with it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

use crate::approval_util::*;
use crate::term::Term;
use crate::util::TestDb;

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "start /usr/bin/chromedriver (Debian: chromium-driver; script/deps installs it)",
            );
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const HOSTILE: &str = "<script>document.title=\"pwned\"</script><b>bold</b>";

#[test]
fn reviewer_approves_in_a_browser_and_the_shell_commits() {
    let db = TestDb::new("appr_browser");
    let ap = Approver::start("browser");
    let cred = ap.author("alice");
    let home = tempfile::tempdir().expect("home");
    let cfg = config(home.path(), &db, &ap.url(), &ap.public_key(), "");
    let script = format!("UPDATE items SET note = '{HOSTILE}' WHERE id = 1;\nCOMMIT;\n");
    let file = home.path().join("fix.sql");
    std::fs::write(&file, script).expect("script");
    let (cfg_s, file_s) = (cfg.display().to_string(), file.display().to_string());
    let mut t = Term::start_args(
        &db,
        home.path(),
        "t",
        &[
            "--config", &cfg_s, "--env", "t", "--ticket", "OPS-9", "-f", &file_s,
        ],
        &[(CRED_VAR, &cred)],
    );
    t.expect_within("/review/", Duration::from_secs(15));

    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("profile");
    let code = rt().block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("WebDriver session");
        c.goto(&format!("{}/review", ap.url()))
            .await
            .expect("open the page");
        c.wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Id("name"))
            .await
            .expect("name")
            .send_keys("bob")
            .await
            .expect("type");
        c.wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Id("password"))
            .await
            .expect("password")
            .send_keys(REVIEWER_PW)
            .await
            .expect("type");
        c.wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Id("login"))
            .await
            .expect("login")
            .click()
            .await
            .expect("click");
        // The pending request, its statement shown as text.
        let stmt = c
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("pre.stmt"))
            .await
            .expect("statement")
            .text()
            .await
            .expect("text");
        assert!(stmt.contains(HOSTILE), "{stmt}");
        assert!(c
            .find_all(Locator::Css("script, pre *"))
            .await
            .expect("query")
            .is_empty());
        assert_ne!(c.title().await.expect("title"), "pwned");
        let author = c
            .find(Locator::Css(".author"))
            .await
            .expect("author")
            .text()
            .await
            .expect("text");
        assert_eq!(author, "alice");
        c.wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("button.approve"))
            .await
            .expect("approve")
            .click()
            .await
            .expect("click");
        let code = c
            .find(Locator::Id("code"))
            .await
            .expect("code shown")
            .text()
            .await
            .expect("text");
        c.close().await.expect("close");
        code
    });
    t.expect_within("Approval code (1 of 3): ", Duration::from_secs(15));
    t.send(&format!("{code}\n"));
    assert_eq!(t.exit_code(), 0, "{}", t.transcript);
    assert_eq!(
        db.value("SELECT note FROM items WHERE id = 1").as_deref(),
        Some(HOSTILE)
    );
}
