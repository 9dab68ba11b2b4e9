//! The dashboard through its router, without a port (`tower::ServiceExt::oneshot`): every
//! route refuses anonymous requests, sign-in sets a strict HttpOnly cookie, mutations need the
//! admin role and a CSRF token (or an API token), hostile filter values are harmless, pages
//! and the JSON API answer with the security headers, errors carry an operation id.
//!
//! The store is the demo estate (loaded once by the `nhiscope` binary at a fixed time, then
//! copied per test) with an admin and a viewer account.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use nhiscope_engine::rules;
use nhiscope_engine::store::auth::Role;
use nhiscope_engine::store::inventory_page::InventoryQuery;
use nhiscope_engine::store::{FindingFilter, Snapshot};
use nhiscope_engine::time;
use nhiscope_engine::Store;
use nhiscope_web::{secret, AppState};
use tower::ServiceExt;

use crate::harness::{nhiscope, repo};

/// The demo's clock.
pub const NOW: &str = "2026-11-20T12:00:00Z";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub fn now() -> i64 {
    time::parse(NOW).expect("NOW parses")
}

/// The demo store with accounts `admin` and `viewer`, built once per test binary.
fn template() -> &'static PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("nhiscope-web-template-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("template dir");
        let path = dir.join("demo.duckdb");
        let out = nhiscope(&path, &["--now", NOW, "demo", "--no-serve"]);
        assert!(
            out.status.success(),
            "demo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let store = Store::open(&path).expect("open demo store");
        let hash = secret::hash_password(ADMIN_PASSWORD).expect("hash");
        store
            .put_web_user("admin", &hash, Role::Admin, now())
            .expect("admin");
        store
            .put_web_user("viewer", &hash, Role::Viewer, now())
            .expect("viewer");
        drop(store);
        path
    })
}

/// A private copy of the demo store and the dashboard state over it.
pub struct Fixture {
    /// Keeps the store's directory alive.
    pub _dir: tempfile::TempDir,
    pub state: AppState,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_tls(false)
    }

    /// A fixture whose state says it is served over TLS.
    pub fn with_tls(tls: bool) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = template();
        let dst = dir.path().join("demo.duckdb");
        std::fs::copy(src, &dst).expect("copy store");
        let wal = src.with_extension("duckdb.wal");
        if wal.exists() {
            std::fs::copy(&wal, dst.with_extension("duckdb.wal")).expect("copy wal");
        }
        let store = Store::open(&dst).expect("open copy");
        let mut rules_set = rules::RuleSet::default();
        rules_set
            .extend(rules::builtin().expect("builtin"))
            .expect("rules");
        let at = now();
        let state =
            nhiscope_web::serve::state(store, rules_set, Arc::new(move || at), tls).expect("state");
        Fixture { _dir: dir, state }
    }

    /// A session cookie for `user` (created straight in the store).
    pub fn cookie(&self, user: &str) -> (String, String) {
        let id = secret::new_token().expect("token");
        let store = self.store();
        store
            .create_web_session(&secret::digest(&id), user, now(), now() + 3_600_000_000)
            .expect("session");
        (
            format!("{}={id}", nhiscope_web::auth::SESSION_COOKIE),
            secret::csrf_token(&id),
        )
    }

    /// Another connection to the fixture's store.
    pub fn store(&self) -> Store {
        let pool = self.state.pool.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async {
            pool.run(move |s| {
                let _ = tx.send(s.try_clone().map_err(|e| e.to_string()));
                Ok(())
            })
            .await
            .expect("pool");
        });
        rx.recv().expect("clone").expect("clone ok")
    }

    /// Sends one request through the router.
    pub fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let router = nhiscope_web::router(self.state.clone());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async move {
            let res: Response<Body> = router.oneshot(req).await.expect("infallible");
            let status = res.status();
            let headers = res.headers().clone();
            let body = res.into_body().collect().await.expect("body").to_bytes();
            (status, headers, String::from_utf8_lossy(&body).into_owned())
        })
    }

    pub fn get(
        &self,
        path: &str,
        cookie: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.send(req.body(Body::empty()).expect("request"))
    }

    pub fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let body = serde_urlencoded::to_string(form).expect("form");
        let mut req =
            Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.send(req.body(Body::from(body)).expect("request"))
    }

    /// The first open finding on an identity, with its identity id.
    pub fn open_finding(&self) -> (String, String) {
        let f = self
            .store()
            .findings(
                &FindingFilter {
                    statuses: vec!["open".into()],
                    ..Default::default()
                },
                now(),
            )
            .expect("findings")
            .into_iter()
            .find(|f| f.identity_id.is_some())
            .expect("an open finding on an identity");
        (f.finding_id, f.identity_id.unwrap_or_default())
    }

    /// The first identity page the inventory links for a search of `q`.
    pub fn identity_link(&self, cookie: &str, q: &str) -> String {
        let (_, _, body) = self.get(&format!("/inventory?q={q}"), Some(cookie));
        body.split("href=\"")
            .find(|s| s.starts_with("/identity?"))
            .and_then(|s| s.split('"').next())
            .expect("identity link")
            .replace("&amp;", "&")
    }

    /// An active access key id of the demo and its holder's name.
    pub fn access_key(&self) -> (String, String) {
        let store = self.store();
        let page = store
            .inventory_page(
                &InventoryQuery {
                    search: Some("ci-deploy".into()),
                    ..Default::default()
                },
                now(),
            )
            .expect("inventory");
        for item in page.items {
            let d = store
                .identity_detail(Snapshot::Current, &item.tenant, &item.identity_id, now())
                .expect("detail")
                .expect("exists");
            if let Some(c) = d.credentials.iter().find(|c| c.kind == "access_key") {
                return (c.credential_id.clone(), item.name);
            }
        }
        panic!("no access key in the demo's ci-deploy identities");
    }
}

/// Every (method, path) in `web/src/router.rs`, with path parameters filled in.
fn routes() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("web/src/router.rs")).expect("router.rs");
    let mut out = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with(".route(\""))
    {
        let path = line["\".route(".len()..]
            .split('"')
            .next()
            .unwrap_or_default();
        let path = path
            .replace("{id}", "F-0000000000000000")
            .replace("{sid}", "1")
            .replace("{file}", "app.css");
        for method in ["get", "post"] {
            if line.contains(&format!("{method}(")) {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(out.len() >= 25, "router.rs parsed to {out:?}");
    out
}

const PUBLIC: &[&str] = &["/login", "/static/app.css"];

#[test]
fn every_route_refuses_anonymous_requests() {
    let fx = Fixture::new();
    for (method, path) in routes() {
        if PUBLIC.contains(&path.as_str()) {
            continue;
        }
        let req = Request::builder()
            .method(method.as_str())
            .uri(&path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("csrf=x&reason=y"))
            .expect("request");
        let (status, headers, _) = fx.send(req);
        if path.starts_with("/api/") {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        } else {
            assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path}");
            let loc = headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            assert!(loc.starts_with("/login?next="), "{method} {path} -> {loc}");
        }
    }
    // A forged or expired cookie and a made-up token are no better than none.
    let (status, _, _) = fx.get(
        "/",
        Some("nhiscope_session=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let req = Request::get("/api/v1/overview")
        .header("authorization", "Bearer not-a-token")
        .body(Body::empty())
        .expect("request");
    assert_eq!(fx.send(req).0, StatusCode::UNAUTHORIZED);
}

#[test]
fn login_sets_a_strict_http_only_session_and_is_audited() {
    let fx = Fixture::new();
    let (status, headers, body) = fx.post_form(
        "/login",
        None,
        &[
            ("name", "admin"),
            ("password", "wrong password!"),
            ("next", "/"),
        ],
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get("set-cookie").is_none());
    assert!(body.contains("Unknown user or wrong password"), "{body}");
    let (status, headers, _) = fx.post_form(
        "/login",
        None,
        &[
            ("name", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "//evil.example/"),
        ],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/", "no open redirect");
    let cookie = headers["set-cookie"].to_str().expect("cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    let session = cookie.split(';').next().expect("pair").to_string();
    let (status, _, body) = fx.get("/", Some(&session));
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("admin (admin)"), "{body}");
    let audit = fx.store().web_audit(10).expect("audit");
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["login", "login_failed"]);
    // Logging out ends the session (and needs the CSRF token).
    let id = session.split('=').nth(1).expect("id");
    let (status, _, _) = fx.post_form("/logout", Some(&session), &[("csrf", "nope")]);
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = fx.post_form(
        "/logout",
        Some(&session),
        &[("csrf", &secret::csrf_token(id))],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(fx.get("/", Some(&session)).0, StatusCode::SEE_OTHER);
}

#[test]
fn pages_render_with_security_headers() {
    let fx = Fixture::new();
    let (cookie, _) = fx.cookie("viewer");
    let (key, holder) = fx.access_key();
    let (finding, _) = fx.open_finding();
    let pages = [
        ("/", "open findings"),
        ("/inventory", "identities match"),
        (&format!("/inventory?q={key}"), holder.as_str()),
        (
            "/inventory?sort=findings&dir=desc&stale=no&owner=no&key_age=over_365_days",
            "identities match",
        ),
        ("/inventory?as_of=2026-11-15", "as of 2026-11-15"),
        ("/inventory?scan=1", "exactly what scan 1 collected"),
        ("/findings", "findings in"),
        ("/findings?status=all&severity=high&owasp=NHI7", "NHI7"),
        (&format!("/findings/{finding}"), "Audit trail"),
        ("/scans", "demo:aws:999900001111"),
        ("/scans/diff?from=1&to=2", "differences"),
        ("/rules", "rules loaded"),
        ("/audit", "Audit trail"),
    ];
    for (path, expect) in pages {
        let (status, headers, body) = fx.get(path, Some(&cookie));
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(body.contains(expect), "{path} lacks {expect:?}");
        assert!(headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("frame-ancestors 'none'"));
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert!(!body.contains("<script>"), "{path} has inline script");
        assert!(
            !body.contains("style=\""),
            "{path} has an inline style (blocked by the CSP)"
        );
    }
    // A viewer sees no mutation forms.
    let (_, _, body) = fx.get(&format!("/findings/{finding}"), Some(&cookie));
    assert!(!body.contains("id=\"suppress-form\""));
}

#[test]
fn inventory_search_pages_and_exports_csv() {
    let fx = Fixture::new();
    let (cookie, _) = fx.cookie("viewer");
    let (key, holder) = fx.access_key();
    let (_, _, body) = fx.get(&format!("/api/v1/inventory?q={key}"), Some(&cookie));
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["items"][0]["name"], holder.as_str());
    // Keyset pages of 7 cover every identity once.
    let (_, _, body) = fx.get(
        "/api/v1/inventory?limit=7&sort=last_used&dir=desc",
        Some(&cookie),
    );
    let mut v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let total = v["total"].as_i64().expect("total");
    let mut seen = Vec::new();
    loop {
        for i in v["items"].as_array().expect("items") {
            seen.push(i["identity_id"].as_str().expect("id").to_string());
        }
        let Some(next) = v["next"].as_str().map(str::to_string) else {
            break;
        };
        let (_, _, body) = fx.get(
            &format!("/api/v1/inventory?limit=7&sort=last_used&dir=desc&after={next}"),
            Some(&cookie),
        );
        v = serde_json::from_str(&body).expect("json");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len() as i64, unique.len() as i64), (total, total));
    // The page's next link carries the cursor.
    let (_, _, body) = fx.get("/inventory?limit=5", Some(&cookie));
    assert!(body.contains("id=\"next-page\""), "no next page link");
    // CSV of the current filter: header plus one line per identity.
    let (status, headers, csv) = fx.get("/inventory.csv?kind=user", Some(&cookie));
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/csv"));
    let (_, _, body) = fx.get("/api/v1/inventory?kind=user", Some(&cookie));
    let users: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        csv.lines().count() as i64,
        users["total"].as_i64().expect("total") + 1
    );
    assert!(csv.starts_with("provider,tenant,kind,name,identity_id"));
}

#[test]
fn identity_page_shows_credentials_permissions_findings_and_history() {
    let fx = Fixture::new();
    let (cookie, _) = fx.cookie("viewer");
    let (key, holder) = fx.access_key();
    let link = fx.identity_link(&cookie, &key);
    let (status, _, page) = fx.get(&link, Some(&cookie));
    assert_eq!(status, StatusCode::OK, "{link}");
    for expect in [
        holder.as_str(),
        key.as_str(),
        "Effective permissions",
        "Privilege-escalation paths",
        "History across snapshots",
        "Remediation for",
    ] {
        assert!(page.contains(expect), "identity page lacks {expect:?}");
    }
    let (_, _, json) = fx.get(
        &link.replace("/identity?", "/api/v1/identity?"),
        Some(&cookie),
    );
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["attributes"]["name"], holder.as_str());
    assert!(
        v["history"].as_array().is_some_and(|h| !h.is_empty()),
        "{}",
        v["history"]
    );
    assert!(!v["findings"].as_array().expect("findings").is_empty());
    let (status, _, _) = fx.get(
        "/identity?tenant=999900001111&id=arn:aws:iam::999900001111:user/nobody",
        Some(&cookie),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn identity_page_shows_the_identitys_activity_from_ingested_logs() {
    let fx = Fixture::new();
    let (cookie, _) = fx.cookie("viewer");
    let (key, holder) = fx.access_key();
    let link = fx.identity_link(&cookie, &key);
    let (_, _, page) = fx.get(&link, Some(&cookie));
    assert!(page.contains("id=\"activity-none\""), "no logs yet");
    let api = link.replace("/identity?", "/api/v1/identity?");
    let (_, _, json) = fx.get(&api, Some(&cookie));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(v["activity"].is_null(), "{}", v["activity"]);
    let tenant = v["attributes"]["tenant"]
        .as_str()
        .expect("tenant")
        .to_string();
    // Two calls signed by its key (one refused), one by somebody else's.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ct.ndjson");
    let event = |id: &str, at: &str, name: &str, key: &str, error: Option<&str>| {
        let mut e = serde_json::json!({
            "eventVersion": "1.08", "eventID": id, "eventTime": at, "eventSource": "s3.amazonaws.com",
            "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15.0", "recipientAccountId": tenant, "eventType": "AwsApiCall",
            "userIdentity": {"type": "IAMUser", "accountId": tenant, "accessKeyId": key,
                             "userName": "someone", "principalId": "AIDAEXAMPLE"}
        });
        if let Some(code) = error {
            e["errorCode"] = code.into();
        }
        e.to_string()
    };
    std::fs::write(
        &path,
        [
            event("e-1", "2026-11-01T10:00:00Z", "ListBuckets", &key, None),
            event(
                "e-2",
                "2026-11-02T10:00:00Z",
                "GetObject",
                &key,
                Some("AccessDenied"),
            ),
            event(
                "e-3",
                "2026-11-03T10:00:00Z",
                "PutObject",
                "AKIAOTHEROTHER000000",
                None,
            ),
        ]
        .join("\n"),
    )
    .expect("write");
    let mut store = fx.store();
    nhiscope_scanners::logs::ingest::ingest(
        &mut store,
        &[nhiscope_scanners::logs::input::Input::File(path)],
        &nhiscope_scanners::logs::ingest::IngestOptions::default(),
        now(),
        &nhiscope_scanners::logs::ingest::Silent,
    )
    .expect("ingest");
    let (status, _, page) = fx.get(&link, Some(&cookie));
    assert_eq!(status, StatusCode::OK);
    let table = page
        .split("id=\"activity\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("activity table");
    assert!(
        table.contains("ListBuckets") && table.contains("GetObject"),
        "{table}"
    );
    assert!(
        table.contains("AccessDenied") && table.contains("203.0.113.7"),
        "{table}"
    );
    assert!(!table.contains("PutObject"), "another key's call: {table}");
    assert!(page.contains(&holder));
    let (_, _, json) = fx.get(&api, Some(&cookie));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["activity"]["total"], 2, "{}", v["activity"]);
    assert_eq!(
        v["activity"]["events"][0]["action"], "GetObject",
        "newest first"
    );
}

#[test]
fn trace_page_follows_a_credential_and_is_linked_from_the_identity_page() {
    let fx = Fixture::new();
    let (cookie, _) = fx.cookie("viewer");
    let (key, holder) = fx.access_key();
    let link = fx.identity_link(&cookie, &key);
    let (_, _, page) = fx.get(&link, Some(&cookie));
    let trace_link = format!("/trace?q={key}");
    assert!(page.contains(&trace_link), "credential rows link the trace");
    assert!(
        page.contains("id=\"trace-link\""),
        "the identity links its trace"
    );
    let (status, headers, page) = fx.get(&trace_link, Some(&cookie));
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("content-security-policy"));
    assert!(page.contains("<ol id=\"trace\""), "{page}");
    assert!(page.contains(&key) && page.contains(&holder), "{page}");
    let (status, _, json) = fx.get(&format!("/api/v1/trace?q={key}"), Some(&cookie));
    assert_eq!(status, StatusCode::OK, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["kind"], "credential");
    assert!(v["steps"].as_array().is_some_and(|s| s
        .iter()
        .any(|s| s["text"].as_str().is_some_and(|t| t.contains(&holder)))));
    // No subject: the page shows the form, the API says what is missing.
    let (status, _, page) = fx.get("/trace", Some(&cookie));
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"trace-q\"") && !page.contains("<ol id=\"trace\""));
    let (status, _, _) = fx.get("/api/v1/trace", Some(&cookie));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A subject nobody knows, and a hostile one, are answered, not errors.
    for q in [
        "AKIANOTHINGKNOWN0000",
        "x%27%20OR%201%3D1%20--",
        "%3Cscript%3E",
    ] {
        let (status, _, page) = fx.get(&format!("/trace?q={q}"), Some(&cookie));
        assert_eq!(status, StatusCode::OK, "{q}");
        assert!(!page.contains("<script>"), "{q}");
    }
}

#[test]
fn mutations_need_admin_and_a_csrf_token() {
    let fx = Fixture::new();
    let (admin, csrf) = fx.cookie("admin");
    let (viewer, viewer_csrf) = fx.cookie("viewer");
    let (finding, _) = fx.open_finding();
    let path = format!("/findings/{finding}/suppress");
    let form =
        |token: &'static str| vec![("csrf", token), ("reason", "accepted risk"), ("days", "30")];
    // No token, a wrong token, a viewer, a cross-site origin: all refused.
    assert_eq!(
        fx.post_form(&path, Some(&admin), &form("")[1..]).0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        fx.post_form(&path, Some(&admin), &form("0000")).0,
        StatusCode::FORBIDDEN
    );
    let f: Vec<(&str, &str)> = vec![("csrf", viewer_csrf.as_str()), ("reason", "x")];
    assert_eq!(
        fx.post_form(&path, Some(&viewer), &f).0,
        StatusCode::FORBIDDEN
    );
    let body =
        serde_urlencoded::to_string([("csrf", csrf.as_str()), ("reason", "x")]).expect("form");
    let req = Request::post(&path)
        .header("cookie", &admin)
        .header("origin", "https://evil.example")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    assert_eq!(fx.send(req).0, StatusCode::FORBIDDEN);
    assert!(fx
        .store()
        .web_audit(10)
        .expect("audit")
        .iter()
        .all(|a| a.action != "suppress"));
    // The real thing.
    let f: Vec<(&str, &str)> = vec![
        ("csrf", csrf.as_str()),
        ("reason", "accepted risk <b>until Q1</b>"),
        ("days", "30"),
    ];
    let (status, headers, _) = fx.post_form(&path, Some(&admin), &f);
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], format!("/findings/{finding}").as_str());
    let (_, _, page) = fx.get(&format!("/findings/{finding}"), Some(&admin));
    assert!(
        page.contains("id=\"finding-status\" class=\"status-suppressed\">suppressed"),
        "not suppressed"
    );
    assert!(
        page.contains("accepted risk &#60;b&#62;until Q1&#60;/b&#62;"),
        "reason not escaped"
    );
    let audit = fx.store().web_audit(10).expect("audit");
    assert_eq!(audit[0].action, "suppress");
    assert_eq!(audit[0].actor, "admin");
    assert_eq!(audit[0].target.as_deref(), Some(finding.as_str()));
    // Reopen.
    let sid = audit[0]
        .detail
        .as_deref()
        .and_then(|d| d.strip_prefix("suppression "))
        .and_then(|d| d.split(':').next())
        .expect("sid")
        .to_string();
    let f: Vec<(&str, &str)> = vec![("csrf", csrf.as_str()), ("finding", finding.as_str())];
    let (status, _, _) = fx.post_form(&format!("/suppressions/{sid}/revoke"), Some(&admin), &f);
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = fx.get(&format!("/findings/{finding}"), Some(&admin));
    assert!(page.contains("class=\"status-open\">open"), "not reopened");
    assert!(page.contains("unsuppressed"), "no unsuppressed event");
    assert_eq!(
        fx.store().web_audit(1).expect("audit")[0].action,
        "unsuppress"
    );
}

#[test]
fn api_tokens_read_and_mutate_and_cookie_json_needs_the_csrf_header() {
    let fx = Fixture::new();
    let store = fx.store();
    let admin_token = secret::new_token().expect("token");
    store
        .create_api_token(&secret::digest(&admin_token), "admin", "ci", now())
        .expect("token");
    let viewer_token = secret::new_token().expect("token");
    store
        .create_api_token(&secret::digest(&viewer_token), "viewer", "ci", now())
        .expect("token");
    let (finding, _) = fx.open_finding();
    let post = |auth: (&str, String), extra: Option<(&str, &str)>| {
        let mut req = Request::post(format!("/api/v1/findings/{finding}/suppress"))
            .header(auth.0, auth.1)
            .header("content-type", "application/json");
        if let Some((k, v)) = extra {
            req = req.header(k, v);
        }
        fx.send(
            req.body(Body::from(
                r#"{"reason":"known test account","expires_at":"2027-01-01"}"#,
            ))
            .expect("request"),
        )
    };
    assert_eq!(
        post(("authorization", format!("Bearer {viewer_token}")), None).0,
        StatusCode::FORBIDDEN
    );
    let (admin_cookie, csrf) = fx.cookie("admin");
    assert_eq!(
        post(("cookie", admin_cookie.clone()), None).0,
        StatusCode::FORBIDDEN
    );
    let (status, _, body) = post(("cookie", admin_cookie), Some(("x-csrf-token", &csrf)));
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = post(("authorization", format!("Bearer {admin_token}")), None);
    assert_eq!(status, StatusCode::OK, "{body}");
    let req = Request::get(format!("/api/v1/findings/{finding}"))
        .header("authorization", format!("Bearer {viewer_token}"))
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = fx.send(req);
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["finding"]["status"], "suppressed");
    assert!(v["events"]
        .as_array()
        .expect("events")
        .iter()
        .any(|e| e["event"] == "suppressed" && e["actor"] == "admin"));
}

#[test]
fn hostile_filter_values_are_harmless() {
    let fx = Fixture::new();
    let (cookie, _) = fx.cookie("viewer");
    let before = fx.store().kind_counts(Snapshot::Current).expect("counts");
    let payloads = [
        "' OR 1=1 --",
        "x'); DROP TABLE identities; --",
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "%' UNION SELECT password_hash FROM web_users --",
        "../../etc/passwd",
    ];
    let pages: [(&str, &[&str]); 7] = [
        (
            "/inventory",
            &[
                "q", "provider", "tenant", "kind", "findings", "severity", "stale", "owner",
                "key_age", "sort", "dir", "as_of", "scan", "after", "limit",
            ],
        ),
        ("/inventory.csv", &["q", "tenant", "sort"]),
        ("/api/v1/inventory", &["q", "kind", "after"]),
        (
            "/findings",
            &["status", "severity", "rule", "owasp", "q", "limit"],
        ),
        ("/api/v1/findings", &["rule", "q"]),
        ("/identity", &["tenant", "id", "as_of"]),
        ("/scans/diff", &["from", "to"]),
    ];
    for p in payloads {
        for (page, params) in pages {
            for param in params {
                let path = format!(
                    "{page}?{}",
                    serde_urlencoded::to_string([(param, p)]).expect("query")
                );
                let (status, _, body) = fx.get(&path, Some(&cookie));
                assert!(
                    matches!(
                        status,
                        StatusCode::OK | StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
                    ),
                    "{path}: {status} {body}"
                );
                assert!(!body.contains("<script>alert"), "{path} reflects a script");
                assert!(!body.contains("<img src=x"), "{path} reflects markup");
                assert!(!body.contains("$argon2"), "{path} leaks a hash");
            }
        }
    }
    let (_, _, body) = fx.get(
        "/inventory?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        Some(&cookie),
    );
    assert!(
        body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "search not echoed escaped"
    );
    assert_eq!(
        fx.store().kind_counts(Snapshot::Current).expect("counts"),
        before
    );
}

#[test]
fn errors_carry_an_operation_id_and_the_openapi_document_covers_the_api() {
    let fx = Fixture::new();
    let (cookie, _) = fx.cookie("viewer");
    let (status, _, body) = fx.get("/findings/F-doesnotexist", Some(&cookie));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("id=\"operation-id\""), "{body}");
    let (status, _, body) = fx.get("/api/v1/scans/diff?from=1&to=x", Some(&cookie));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["operation_id"].as_str().map(str::len), Some(16));
    let (status, _, body) = fx.get("/api/v1/openapi.json", Some(&cookie));
    assert_eq!(status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&body).expect("openapi json");
    assert_eq!(doc["openapi"], "3.0.3");
    for (method, path) in routes() {
        let Some(rest) = path.strip_prefix("/api/v1") else {
            continue;
        };
        let templ = rest
            .replace("F-0000000000000000", "{id}")
            .replace("/1/", "/{sid}/");
        assert!(
            doc["paths"][&templ][method.to_lowercase()].is_object(),
            "openapi.json lacks {method} {templ}"
        );
    }
}

#[test]
fn the_web_crate_contains_no_sql_and_knows_no_database() {
    let dir = repo().join("web");
    let mut problems = Vec::new();
    let mut stack = vec![dir.join("src")];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&p).expect("read").to_lowercase();
            for word in [
                "select ",
                "insert into",
                "update ",
                "delete from",
                "duckdb::",
                "datafusion",
            ] {
                if text.contains(word) {
                    problems.push(format!("{}: {word:?}", p.display()));
                }
            }
        }
    }
    assert!(files > 15, "{files} files");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("manifest");
    assert!(!manifest.contains("duckdb") && !manifest.contains("datafusion"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn over_tls_cookies_are_secure_and_hsts_is_sent() {
    let fx = Fixture::with_tls(true);
    let (status, headers, _) = fx.post_form(
        "/login",
        None,
        &[("name", "viewer"), ("password", ADMIN_PASSWORD)],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["set-cookie"]
        .to_str()
        .expect("cookie")
        .contains("; Secure"));
    assert!(headers["strict-transport-security"]
        .to_str()
        .expect("hsts")
        .contains("max-age="));
    let plain = Fixture::new();
    let (_, headers, _) = plain.get("/login", None);
    assert!(headers.get("strict-transport-security").is_none());
}

#[test]
fn user_commands_create_accounts_and_tokens_that_the_api_accepts() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("s.duckdb");
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nhiscope"))
            .arg("--store")
            .arg(&store)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nhiscope");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        child.wait_with_output().expect("output")
    };
    let short = run(
        &["user", "add", "ops", "--role", "admin", "--password-stdin"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12"));
    let ok = run(
        &["user", "add", "ops", "--role", "admin", "--password-stdin"],
        "a long enough password\n",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let token = run(&["user", "token", "ops", "--label", "ci"], "");
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    assert_eq!(token.len(), 64);
    let missing = run(&["user", "token", "nobody"], "");
    assert!(!missing.status.success());
    let s = Store::open(&store).expect("store");
    let (user, hash) = s.web_user("ops").expect("read").expect("ops exists");
    assert_eq!(user.role, Role::Admin);
    assert!(hash.starts_with("$argon2id$") && !hash.contains("a long enough password"));
    assert!(secret::verify_password("a long enough password", &hash));
    assert_eq!(
        s.api_token_user(&secret::digest(&token))
            .expect("read")
            .map(|u| u.name),
        Some("ops".into())
    );
}
