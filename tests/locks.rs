//! Two commands on one base: readers run side by side, a writer waits a bounded time for
//! the lock and then names the process holding it and what to do.

mod common;

use common::{ok, root, run, s};
use duckdb::Connection;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo(db: &Path) {
    let pipeline = root().join("pipelines/demo.toml");
    ok(run(&["run", s(&pipeline), "--db", s(db)]));
}

fn run_waiting(args: &[&str], wait_seconds: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .env("LEADPIPE_LOG", "warn")
        .env("LEADPIPE_LOCK_WAIT", wait_seconds)
        .args(args)
        .output()
        .unwrap()
}

fn start_serve(db: &Path) -> (Server, u32) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .args(["serve", "--db", s(db), "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let server = Server(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, pid)
}

#[test]
fn readers_and_writers_run_beside_serve() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.duckdb");
    demo(&db);
    let (_server, _pid) = start_serve(&db);
    let out = dir.path();
    // Commands that only read open the base read-only, beside the review page.
    ok(run_waiting(&["runs", "--db", s(&db)], "1"));
    ok(run_waiting(&["explain", "1", "--db", s(&db)], "1"));
    ok(run_waiting(
        &["call-list", "--db", s(&db), "--out", s(&out.join("c.csv"))],
        "1",
    ));
    ok(run_waiting(
        &["report", "--db", s(&db), "--out", s(&out.join("r.html"))],
        "1",
    ));
    ok(run_waiting(
        &[
            "compliance",
            "report",
            "--db",
            s(&db),
            "--out",
            s(&out.join("cr.html")),
        ],
        "1",
    ));
    // The review page holds the base only while it answers a request: a writer lands at
    // once, even with no wait allowed.
    let list = dir.path().join("more.csv");
    std::fs::write(&list, "ФИО;Телефон\nПетров Пётр;+7 903 111 22 33\n").unwrap();
    ok(run_waiting(&["import", s(&list), "--db", s(&db)], "0"));
}

#[test]
fn a_command_waits_for_a_writer_to_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.duckdb");
    demo(&db);
    // This test process holds the base for writing for a second and a half.
    let holder = Connection::open(&db).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .env("LEADPIPE_LOG", "warn")
        .env("LEADPIPE_LOCK_WAIT", "20")
        .args(["runs", "--db", s(&db)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    drop(holder);
    let o = ok(child.wait_with_output().unwrap());
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert!(String::from_utf8_lossy(&o.stdout).contains("run"));

    // With no wait at all the command says at once who holds it.
    let _holder = Connection::open(&db).unwrap();
    let o = run_waiting(&["runs", "--db", s(&db)], "0");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(err.contains("LEADPIPE_LOCK_WAIT"), "{err}");
}

#[test]
fn an_absurd_lock_wait_is_capped_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.duckdb");
    demo(&db);
    ok(run_waiting(&["runs", "--db", s(&db)], "1e20"));
}
