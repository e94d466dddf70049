//! The run report and the review page in a real browser: headless Chromium loads them,
//! the charts must be in the rendered DOM, a lead search must find the lead, and
//! screenshots are saved next to the test binaries (target/…/tmp).
//!
//! Needs Chromium (Debian's `chromium` package; `.ci/run` installs it). Without it the test
//! says so and passes, unless LEADPIPE_REQUIRE_BROWSER=1 (set by `.ci/run`), when a
//! missing browser fails it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn browser() -> Option<PathBuf> {
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        }) {
            return Some(found);
        }
    }
    None
}

/// Loads `url` in headless Chromium and returns the DOM after scripts ran.
fn dump_dom(chrome: &Path, url: &str) -> String {
    let out = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=3000",
            "--dump-dom",
            url,
        ])
        .stderr(Stdio::null())
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshot(chrome: &Path, url: &str, png: &Path) {
    let status = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1100,1600",
            &format!("--screenshot={}", png.display()),
            url,
        ])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("chromium runs");
    assert!(status.success());
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn report_and_review_page_render_in_a_real_browser() {
    let Some(chrome) = browser() else {
        assert!(
            std::env::var("LEADPIPE_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "LEADPIPE_REQUIRE_BROWSER=1 but no chromium on PATH"
        );
        eprintln!("browser test skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.duckdb");
    let bin = env!("CARGO_BIN_EXE_leadpipe");
    let ok = |args: &[&str]| {
        let out = Command::new(bin).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&[
        "run",
        root().join("pipelines/demo.toml").to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    let report = dir.path().join("report.html");
    ok(&[
        "report",
        "--db",
        db.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);

    // The report: every chart in the DOM with its bars, and a screenshot.
    let dom = dump_dom(&chrome, &format!("file://{}", report.display()));
    for chart in [
        "funnel",
        "rejects",
        "warmth-tiers",
        "warmth-histogram",
        "consent",
    ] {
        assert!(
            dom.contains(&format!("id=\"{chart}\"")),
            "chart {chart} missing"
        );
    }
    assert!(dom.matches("class=\"bar\"").count() >= 10, "bars rendered");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let png = shots.join("leadpipe-report.png");
    screenshot(&chrome, &format!("file://{}", report.display()), &png);
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "a real screenshot"
    );

    // The review page: search by a phone typed any way, open the lead.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(bin)
            .args([
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--port",
                &port.to_string(),
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let dom = dump_dom(&chrome, &format!("{base}/search?q=8+(916)+123-45-67"));
    assert!(dom.contains("id=\"results\""), "{dom}");
    let lead: String = dom
        .split("href=\"/lead/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let dom = dump_dom(&chrome, &format!("{base}/lead/{lead}"));
    assert!(dom.contains("Иванов Иван Иванович"), "{dom}");
    assert!(dom.contains("Why these records were merged"));
    assert!(dom.contains("consent by checkbox"), "consent history shown");
    assert!(dom.contains("id=\"warmth\""));
    screenshot(
        &chrome,
        &format!("{base}/lead/{lead}"),
        &shots.join("leadpipe-lead.png"),
    );
    // A name search works too.
    let dom = dump_dom(&chrome, &format!("{base}/search?q=Петрова"));
    assert!(dom.contains("Петрова Мария Сергеевна"));
}
