//! A reviewer's verdict through a real browser: headless Chromium opens the pair page of
//! `serve --allow-edits`, types a reason and clicks "Different people" with the mouse;
//! the decision is recorded and applied, and later runs (`recluster`, another `import`)
//! keep the two records apart.
//!
//! The site has no scripts, so `--dump-dom` and `--screenshot` cannot click. The test
//! drives Chromium over the DevTools protocol on a pipe instead (`--remote-debugging-pipe`:
//! JSON commands on fd 3, answers and events on fd 4, each ended by a NUL byte).
//!
//! Needs Chromium, like tests/browser.rs: without it the test says so and passes, unless
//! LEADPIPE_REQUIRE_BROWSER=1 (set by `.ci/run`), when a missing browser fails it.
#![cfg(target_os = "linux")] // pipe2 and the fd numbers Chromium expects

mod common;

use common::server::{start_with, Server};
use common::{browser, count, ok, run, s};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Two rows the matcher merges (one name, one number) and a third person.
const LIST: &str = "ФИО;Телефон;E-mail\n\
                    Сидоров Алексей;+7 916 555 00 11;\n\
                    Сидоров Алексей;+7 916 555 00 11;sidorov@mail.ru\n\
                    Петрова Анна;+7 903 111 22 33;anna@mail.ru\n";

/// A row that matches both: the name and number of each, and the second one's e-mail.
const MORE: &str = "ФИО;Телефон;E-mail\n\
                    Сидоров Алексей;+7 916 555 00 11;sidorov@mail.ru\n";

/// How long one step (a page load, a command) may take before the test fails: a hung
/// browser must fail the test, not block CI.
const STEP: Duration = Duration::from_secs(30);

/// Headless Chromium driven over `--remote-debugging-pipe`.
struct Chromium {
    child: Child,
    /// Chromium's fd 3: commands go here.
    commands: File,
    /// What Chromium wrote on its fd 4, one parsed message each, read by a thread so a
    /// wait can time out.
    messages: Receiver<Value>,
    /// Events that arrived while waiting for the answer to a command.
    events: VecDeque<Value>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

/// A pipe whose ends are closed in any program started later (so other children never
/// hold them open); `(read, write)`.
fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    (fds[0], fds[1])
}

impl Chromium {
    fn start(chrome: &Path, (width, height): (u32, u32)) -> Chromium {
        let profile = tempfile::tempdir().unwrap();
        let (child_reads, commands) = pipe();
        let (messages, child_writes) = pipe();
        let mut cmd = Command::new(chrome);
        cmd.args(["--headless", "--no-sandbox", "--disable-gpu"])
            .args(["--disable-dev-shm-usage", "--hide-scrollbars"])
            .arg(format!("--window-size={width},{height}"))
            .arg("--remote-debugging-pipe")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec. The ends are first
        // moved above 4 so that neither is overwritten by the other's dup2; dup2 onto 3
        // and 4 clears close-on-exec there, and the copies above close at exec.
        unsafe {
            cmd.pre_exec(move || {
                let r = libc::fcntl(child_reads, libc::F_DUPFD_CLOEXEC, 10);
                let w = libc::fcntl(child_writes, libc::F_DUPFD_CLOEXEC, 10);
                if r < 0 || w < 0 || libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("chromium starts");
        // The child's ends stay open only in the child, so its exit is an EOF here.
        unsafe {
            libc::close(child_reads);
            libc::close(child_writes);
        }
        let (tx, rx) = mpsc::channel();
        let from_chrome = unsafe { File::from_raw_fd(messages) };
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from_chrome);
            let mut buf = Vec::new();
            while matches!(reader.read_until(0, &mut buf), Ok(n) if n > 0 && buf.ends_with(&[0])) {
                let message = serde_json::from_slice(&buf[..buf.len() - 1]).expect("JSON");
                if tx.send(message).is_err() {
                    break;
                }
                buf.clear();
            }
        });
        Chromium {
            child,
            commands: unsafe { File::from_raw_fd(commands) },
            messages: rx,
            events: VecDeque::new(),
            next_id: 1,
            _profile: profile,
        }
    }

    /// The next message from Chromium, or a failed test after `deadline`.
    #[track_caller]
    fn receive(&self, deadline: Instant, waiting_for: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(left) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => panic!("no {waiting_for} from chromium in {STEP:?}"),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("chromium closed the pipe while we waited for {waiting_for}")
            }
        }
    }

    /// Sends a command (to a page when `session` is given) and returns its result.
    #[track_caller]
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&command).unwrap();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .expect("chromium reads commands");
        let deadline = Instant::now() + STEP;
        loop {
            let message = self.receive(deadline, method);
            if message["id"] != json!(id) {
                self.events.push_back(message);
                continue;
            }
            if let Some(error) = message.get("error") {
                panic!("{method} failed: {error}");
            }
            return message["result"].clone();
        }
    }

    /// Waits for the event `method` of `session`, whether it already arrived or not.
    #[track_caller]
    fn wait_for(&mut self, session: &str, method: &str) -> Value {
        let of_session = |m: &Value| m["method"] == method && m["sessionId"] == session;
        if let Some(at) = self.events.iter().position(of_session) {
            return self.events.remove(at).unwrap();
        }
        let deadline = Instant::now() + STEP;
        loop {
            let message = self.receive(deadline, method);
            if of_session(&message) {
                return message;
            }
        }
    }

    /// A new tab, attached: the session id its commands are sent with.
    fn open_tab(&mut self) -> String {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        let session = attached["sessionId"].as_str().unwrap().to_string();
        self.call(Some(&session), "Page.enable", json!({}));
        session
    }

    /// Loads `url` in the tab and waits until it has loaded.
    fn navigate(&mut self, session: &str, url: &str) {
        self.events.clear();
        let result = self.call(Some(session), "Page.navigate", json!({"url": url}));
        assert!(result.get("errorText").is_none(), "{url}: {result}");
        self.wait_for(session, "Page.loadEventFired");
    }

    /// The value of a JavaScript expression in the page (DevTools evaluation is not
    /// blocked by the page's Content-Security-Policy, which forbids the page's own scripts).
    #[track_caller]
    fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// A left click with the mouse in the middle of the element `id`, scrolled into view
    /// first; fails if something else is on top there (the click would miss it).
    fn click(&mut self, session: &str, id: &str) {
        let at = self.eval(
            session,
            &format!(
                "(() => {{ const e = document.getElementById('{id}');
                   e.scrollIntoView({{block: 'center'}});
                   const r = e.getBoundingClientRect();
                   const x = r.left + r.width / 2, y = r.top + r.height / 2;
                   return [x, y, document.elementFromPoint(x, y) === e]; }})()"
            ),
        );
        assert_eq!(at[2], json!(true), "#{id} is hidden under something: {at}");
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            let event =
                json!({"type": kind, "x": at[0], "y": at[1], "button": "left", "clickCount": 1});
            self.call(Some(session), "Input.dispatchMouseEvent", event);
        }
    }

    /// Clicks the text field `id` and types `text` into it.
    fn type_into(&mut self, session: &str, id: &str, text: &str) {
        self.click(session, id);
        self.call(Some(session), "Input.insertText", json!({"text": text}));
    }

    /// A PNG of what the tab shows, saved to `png`.
    fn screenshot(&mut self, session: &str, png: &Path) {
        let shot = self.call(
            Some(session),
            "Page.captureScreenshot",
            json!({"format": "png"}),
        );
        let bytes = base64(shot["data"].as_str().unwrap());
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "a real screenshot"
        );
        std::fs::write(png, bytes).unwrap();
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Asked to close first, so it ends its helper processes itself; killed if it hangs.
        let _ = self
            .commands
            .write_all(b"{\"id\":0,\"method\":\"Browser.close\"}\0");
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (the screenshot Chromium sends) to bytes.
fn base64(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().take_while(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        };
        acc = (acc << 6 | u32::from(v)) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The leads records 1 and 2 are in.
fn leads_of_pair(db: &Path) -> (i64, i64) {
    let lead = |r: i64| {
        count(
            db,
            &format!("SELECT lead_id FROM records WHERE record_id = {r}"),
        )
    };
    (lead(1), lead(2))
}

/// In the browser: the pair page, a reason typed, "Different people" clicked. The page
/// the browser lands on: its address and its text.
fn decide_different_in_browser(chrome: &Path, server: &Server) -> (String, String) {
    let mut browser = Chromium::start(chrome, (1100, 1400));
    let tab = browser.open_tab();
    let page = format!("http://127.0.0.1:{}/review/pair?a=1&b=2", server.port);
    browser.navigate(&tab, &page);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    browser.screenshot(&tab, &shots.join("leadpipe-review-pair.png"));
    browser.type_into(&tab, "reason-different", "father and son");
    // Only the load that follows the click counts (the form posts, then 303 to the page).
    browser.events.clear();
    browser.click(&tab, "different");
    browser.wait_for(&tab, "Page.loadEventFired");
    browser.screenshot(&tab, &shots.join("leadpipe-review-pair-decided.png"));
    let landed = browser.eval(&tab, "location.href + '\\n' + document.body.innerText");
    let landed = landed.as_str().unwrap();
    let (url, text) = landed.split_once('\n').unwrap();
    (url.to_string(), text.to_string())
}

#[test]
fn different_people_clicked_in_a_browser_stay_apart_in_later_runs() {
    let Some(chrome) = browser() else {
        assert!(
            std::env::var("LEADPIPE_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "LEADPIPE_REQUIRE_BROWSER=1 but no chromium on PATH"
        );
        eprintln!("browser test skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let mut server = start_with(
        LIST,
        None,
        &["--allow-edits", "--reviewer", "olga", "--lang", "en"],
    );
    let db = server.db.clone();
    let (a, b) = leads_of_pair(&db);
    assert_eq!(a, b, "the matcher merged records 1 and 2 to begin with");

    let (url, text) = decide_different_in_browser(&chrome, &server);
    let expected = format!(
        "http://127.0.0.1:{}/review/pair?a=1&b=2&done=1",
        server.port
    );
    assert_eq!(url, expected, "{text}");
    assert!(text.contains("Decision recorded #1."), "{text}");
    assert!(
        text.contains("father and son"),
        "the decision is listed: {text}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM match_decisions
             WHERE kind = 'different' AND actor = 'olga' AND via = 'review page'
               AND reason = 'father and son'"
        ),
        1,
        "one 'different' decision, by the reviewer, from the review page"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM match_decisions"), 1);
    let (a, b) = leads_of_pair(&db);
    assert_ne!(a, b, "the verdict was applied at once");

    // Later runs honour it: clustering everything again, and an import of a row that
    // matches both records.
    let _ = server.child.kill();
    let _ = server.child.wait();
    ok(run(&["recluster", "--db", s(&db), "--quiet"]));
    let (a, b) = leads_of_pair(&db);
    assert_ne!(a, b, "recluster kept them apart");
    let more = db.with_file_name("more.csv");
    std::fs::write(&more, MORE).unwrap();
    ok(run(&["import", s(&more), "--db", s(&db), "--quiet"]));
    assert_eq!(count(&db, "SELECT count(*) FROM records"), 4);
    let (a, b) = leads_of_pair(&db);
    assert_ne!(a, b, "an import of a row like both kept them apart");
    // The new row did meet them: it joined one of the two.
    let new = count(&db, "SELECT lead_id FROM records WHERE record_id = 4");
    assert!(
        new == a || new == b,
        "record 4 in lead {new}, not {a} or {b}"
    );
}
