//! Helpers the end-to-end suites share: run the real binary, insist it succeeded.
#![allow(dead_code)] // each suite uses its own subset

pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the leadpipe binary with quiet logs.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .env("LEADPIPE_LOG", "warn")
        .args(args)
        .output()
        .expect("binary runs")
}

/// The output of a run that must have succeeded; otherwise fails with what it printed.
pub fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// `leadpipe deals import DEALS --db DB --quiet`, which must succeed.
pub fn import_deals(deals: &Path, db: &Path) {
    ok(run(&[
        "deals",
        "import",
        s(deals),
        "--db",
        s(db),
        "--quiet",
    ]));
}

/// A number a query over the base gives (read-only, beside any other reader).
pub fn count(db: &Path, sql: &str) -> i64 {
    let store = leadpipe::store::Store::open_read_only(db).unwrap();
    let n = store.connection().query_row(sql, [], |r| r.get(0)).unwrap();
    n
}

/// Chromium (or Chrome) on the PATH, for the browser tests.
pub fn browser() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&paths).map(move |d| d.join(name)))
    .find(|p| p.is_file())
}

/// Loads `url` in headless Chromium and returns the DOM after scripts ran.
pub fn dump_dom(chrome: &Path, url: &str) -> String {
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
        .stderr(std::process::Stdio::null())
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A screenshot of the window (`width`, `height`), not of the whole page.
pub fn screenshot_at(chrome: &Path, url: &str, png: &Path, (width, height): (u32, u32)) {
    let status = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            &format!("--window-size={width},{height}"),
            &format!("--screenshot={}", png.display()),
            url,
        ])
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("chromium runs");
    assert!(status.success());
}

/// The JSON a command that must have succeeded printed on stdout.
pub fn json(o: Output) -> serde_json::Value {
    serde_json::from_slice(&ok(o).stdout).expect("JSON on stdout")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small tmpfs mounted at `dir/small` (unmounted on drop), for full-disk tests; `None`
/// when this machine does not let the tests mount one (it needs root).
pub fn small_tmpfs(dir: &Path, size: &str) -> Option<Tmpfs> {
    let mnt = dir.join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size}"),
            "tmpfs",
            s(&mnt),
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (needs root)");
        return None;
    }
    Some(Tmpfs(mnt))
}

pub struct Tmpfs(pub PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
