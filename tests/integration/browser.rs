//! The dashboard in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`, installed by `scripts/test.sh`; a missing browser fails
//! the test). Signs in, searches an access key id, opens its identity, suppresses a finding
//! with a reason and finds it in the finding's audit trail and the dashboard audit page, opens
//! the key's trace, with
//! no script error, CSP violation or console error on any page, and saves a screenshot of each
//! page under `<target>/test-artifacts/screenshots/`. Over TLS (a throw-away self-signed
//! certificate made with `openssl`) the session cookie is Secure and invisible to scripts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::web::{Fixture, ADMIN_PASSWORD};

/// A running chromedriver, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        // Its own process group, so that dropping the driver also ends the browsers it started
        // (a failed test never closes its session).
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "start chromedriver (apt-get install chromium-driver; scripts/test.sh does it)",
            );
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .expect("chromedriver exited before it was ready")
                .expect("chromedriver output");
            if line.contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artifacts/screenshots");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

/// The browser's console entries since the last call (chromedriver's log endpoint).
fn browser_log(port: u16, session: &str) -> Vec<Value> {
    let body = r#"{"type":"browser"}"#;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("chromedriver");
    write!(
        s,
        "POST /session/{session}/se/log HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut reader = BufReader::new(s);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read head");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().expect("content length");
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).expect("read body");
    let v: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("log answer {}: {e}", String::from_utf8_lossy(&body)));
    v["value"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("log answer {v}"))
}

struct Browser {
    c: Client,
    port: u16,
    session: String,
    base: String,
    shots: PathBuf,
}

impl Browser {
    /// A new headless Chromium session against the dashboard at `base`.
    async fn open(port: u16, base: String) -> Browser {
        let c = chrome(port).await;
        let session = c.session_id().await.expect("session").expect("id");
        Browser {
            c,
            port,
            session,
            base,
            shots: artifacts(),
        }
    }

    async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("goto");
    }

    /// Checks the page ran its script without errors and logged nothing, then saves a
    /// screenshot named `name`.
    async fn check(&self, name: &str) {
        self.c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("html[data-ready='1']"))
            .await
            .unwrap_or_else(|e| panic!("{name}: page script did not run: {e}"));
        let errors = self
            .c
            .execute("return document.documentElement.dataset.jsErrors", vec![])
            .await
            .expect("execute");
        assert_eq!(
            errors,
            json!("0"),
            "{name}: script errors or CSP violations"
        );
        let log = browser_log(self.port, &self.session);
        let bad: Vec<&Value> = log
            .iter()
            .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
            .collect();
        assert!(bad.is_empty(), "{name}: console: {bad:?}");
        let png = self.c.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("save screenshot");
    }

    async fn text(&self, css: &str) -> String {
        match self
            .c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el.text().await.expect("text"),
            Err(e) => {
                let url = self.c.current_url().await.map(|u| u.to_string());
                let page = self.c.source().await.unwrap_or_default();
                panic!("no {css} ({e}) at {url:?}:\n{page}");
            }
        }
    }

    /// Waits (up to 10 s) until the element's text is `expected`.
    async fn wait_text(&self, css: &str, expected: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(el) = self.c.find(Locator::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if t == expected {
                        return;
                    }
                    last = t;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} stayed {last:?}, expected {expected:?}");
    }

    async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.c.find(Locator::Css(css)).await.expect("field");
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A WebDriver session with headless Chromium (console logged, self-signed certificates of the
/// TLS test accepted).
async fn chrome(port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1400,1100"]
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    caps.insert("acceptInsecureCerts".into(), json!(true));
    ClientBuilder::rustls()
        .expect("connector")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session with headless Chromium")
}

#[test]
fn sign_in_search_a_key_open_the_identity_and_suppress_a_finding() {
    let fx = Fixture::new();
    let (key, holder) = fx.access_key();
    let driver = Driver::start();
    let rt = runtime();
    let state = fx.state.clone();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(nhiscope_web::serve::run(
            listener,
            state,
            std::future::pending(),
        ));
        let b = Browser::open(driver.port, base).await;

        // Anonymous: sent to the login page.
        b.goto("/inventory").await;
        assert!(b
            .c
            .current_url()
            .await
            .expect("url")
            .path()
            .ends_with("/login"));
        b.check("login").await;
        b.type_into("#name", "admin").await;
        b.type_into("#password", ADMIN_PASSWORD).await;
        b.click("#sign-in").await;
        assert!(
            !b.text("#result-count").await.is_empty(),
            "not sent on to the inventory"
        );
        assert!(b.text("#who").await.contains("admin"));

        b.goto("/").await;
        b.check("overview").await;

        // Search the access key id.
        b.goto("/inventory").await;
        b.type_into("#q", &key).await;
        b.click("#search-button").await;
        b.wait_text("#result-count", "1").await;
        assert!(b
            .c
            .current_url()
            .await
            .expect("url")
            .as_str()
            .contains(&key));
        b.check("inventory").await;

        // Open the identity.
        b.click("a.identity-link").await;
        assert_eq!(b.text("#identity-name").await, holder);
        assert!(b.text("#credentials").await.contains(&key));
        b.check("identity").await;

        // Open one of its findings and suppress it with a reason.
        b.click("a.finding-link").await;
        assert_eq!(b.text("#finding-status").await, "open");
        b.check("finding").await;
        let reason = "Accepted until the Q1 key rotation (browser test)";
        b.type_into("#reason", reason).await;
        b.click("#suppress").await;
        assert_eq!(
            b.text("#finding-status.status-suppressed").await,
            "suppressed"
        );
        let events = b.text("#events").await;
        assert!(
            events.contains("suppressed") && events.contains("admin") && events.contains(reason),
            "{events}"
        );
        b.check("finding-suppressed").await;

        // The dashboard audit trail has it too.
        b.goto("/audit").await;
        let audit = b.text("#audit").await;
        assert!(
            audit.contains("suppress") && audit.contains(reason),
            "{audit}"
        );
        b.check("audit").await;

        // The trace of the key, as the identity page's credential row links it.
        b.goto(&format!("/trace?q={key}")).await;
        let trace = b.text("#trace").await;
        assert!(trace.contains(&key) && trace.contains(&holder), "{trace}");
        b.check("trace").await;

        for (name, path) in [
            ("findings", "/findings"),
            ("scans", "/scans"),
            ("diff", "/scans/diff?from=1&to=2"),
            ("rules", "/rules"),
            ("inventory-as-of", "/inventory?as_of=2026-11-15"),
        ] {
            b.goto(path).await;
            b.check(name).await;
        }
        b.c.close().await.expect("close");
    });
    for name in [
        "login",
        "overview",
        "inventory",
        "identity",
        "finding",
        "audit",
        "trace",
        "findings",
        "scans",
        "diff",
        "rules",
    ] {
        assert!(
            artifacts().join(format!("{name}.png")).exists(),
            "no screenshot {name}"
        );
    }
}

#[test]
fn over_tls_the_session_cookie_is_secure_and_hidden_from_scripts() {
    let fx = Fixture::with_tls(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let driver = Driver::start();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("https://{}", listener.local_addr().expect("addr"));
    let rt = runtime();
    let state = fx.state.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            nhiscope_web::serve::run_tls(listener, state, &cert, &key)
                .await
                .expect("TLS server");
        });
        let b = Browser::open(driver.port, base).await;
        b.goto("/").await;
        assert_eq!(b.c.current_url().await.expect("url").scheme(), "https");
        b.type_into("#name", "viewer").await;
        b.type_into("#password", ADMIN_PASSWORD).await;
        b.click("#sign-in").await;
        assert!(b.text("#who").await.contains("viewer"));
        let secure =
            b.c.execute("return [window.isSecureContext, document.cookie]", vec![])
                .await
                .expect("execute");
        assert_eq!(
            secure,
            json!([true, ""]),
            "the session cookie must be HttpOnly"
        );
        b.check("overview-tls").await;
        b.c.close().await.expect("close");
    });
}
