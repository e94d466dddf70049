//! The review server (`leadpipe serve`) over real HTTP on 127.0.0.1: requests naming another
//! host are refused (DNS rebinding), search text is matched literally (`%` and `_` are not
//! wildcards), and every answer carries the security headers.

mod common;

use common::{ok, run, s};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three leads, one with a percent sign in its company and one with an underscore, served
/// on a free port.
fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.duckdb");
    let list = dir.path().join("list.csv");
    std::fs::write(
        &list,
        "ФИО;Телефон;E-mail;Компания\n\
         Петров Пётр;+7 903 111 22 33;petr@mail.ru;Скидки 100%\n\
         Сидорова Анна;+7 903 999 88 77;anna@mail.ru;Ромашка\n\
         Иванов Иван;+7 903 555 44 33;ivan@mail.ru;Проект_1\n",
    )
    .unwrap();
    ok(run(&["import", s(&list), "--db", s(&db)]));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_leadpipe"))
        .env("LEADPIPE_LOG", "warn")
        .args(["serve", "--db", s(&db), "--port", &port.to_string()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        port,
        db,
        _dir: dir,
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

struct Answer {
    status: u16,
    /// Header lines, names in lower case.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A GET over a raw socket, so the Host header can be anything (or missing).
fn get(port: u16, path: &str, host: Option<&str>) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\n{host}Connection: close\r\nUser-Agent: test\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

#[test]
fn requests_for_another_host_are_refused() {
    let server = start();
    let port = server.port;
    let local = format!("127.0.0.1:{port}");
    // The page a DNS-rebinding attacker would read: every lead, if the Host were trusted.
    for host in [
        Some("evil.example".to_string()),
        Some(format!("evil.example:{port}")),
        Some("127.0.0.1".to_string()),
        Some(format!("127.0.0.1:{}", port.wrapping_add(1))),
        Some(format!("localhost.evil.example:{port}")),
        None,
    ] {
        for path in ["/search?q=%25", "/search?q=a", "/", "/lead/1"] {
            let a = get(port, path, host.as_deref());
            // 421 Misdirected Request (hyper may answer 400 itself when there is no Host).
            assert!(
                a.status == 421 || (host.is_none() && a.status == 400),
                "{host:?} {path}: {} {}",
                a.status,
                a.body
            );
            for name in ["Петров", "Сидорова", "Иванов", "leads from"] {
                assert!(!a.body.contains(name), "{host:?} {path} leaked {name}");
            }
        }
    }
    // The names the server is actually reached by work.
    for host in [
        local.clone(),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[::1]:{port}"),
    ] {
        let a = get(port, "/search?q=Петров", Some(&host));
        assert_eq!(a.status, 200, "{host}: {}", a.body);
        assert!(a.body.contains("Петров Пётр"), "{host}");
    }
}

#[test]
fn search_text_is_matched_literally() {
    let server = start();
    let host = format!("127.0.0.1:{}", server.port);
    let names = |q: &str| -> Vec<&'static str> {
        let a = get(server.port, &format!("/search?q={q}"), Some(&host));
        assert_eq!(a.status, 200, "{q}: {}", a.body);
        ["Петров", "Сидорова", "Иванов"]
            .into_iter()
            .filter(|n| a.body.contains(n))
            .collect()
    };
    // `%` finds the lead with a percent sign, not every lead; `_` the one with an underscore.
    assert_eq!(names("%25"), vec!["Петров"]);
    assert_eq!(names("100%25"), vec!["Петров"]);
    assert_eq!(names("_"), vec!["Иванов"]);
    assert_eq!(names("%25%25"), Vec::<&str>::new());
    assert_eq!(names("%5C"), Vec::<&str>::new());
    assert_eq!(names("%5C%25"), Vec::<&str>::new());
    // Ordinary substrings still match, in any case.
    assert_eq!(names("ромаш"), vec!["Сидорова"]);
    assert_eq!(names("проект_"), vec!["Иванов"]);
}

#[test]
fn every_answer_carries_the_security_headers() {
    let server = start();
    let host = format!("127.0.0.1:{}", server.port);
    for (path, host, status) in [
        ("/", host.as_str(), 200),
        ("/search?q=Петров", host.as_str(), 200),
        ("/lead/1", host.as_str(), 200),
        ("/no/such/page", host.as_str(), 404),
        ("/", "evil.example", 0),
    ] {
        let a = get(server.port, path, Some(host));
        if status != 0 {
            assert_eq!(a.status, status, "{path}");
        }
        let csp = a.header("content-security-policy").unwrap_or_else(|| {
            panic!("{path} via {host}: no Content-Security-Policy");
        });
        for directive in [
            "default-src 'none'",
            "style-src 'unsafe-inline'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("script-src"), "the pages run no scripts");
        assert_eq!(a.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            a.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(a.header("referrer-policy"), Some("no-referrer"), "{path}");
    }
}

#[test]
fn a_run_lands_while_the_page_is_open() {
    let server = start();
    let host = format!("127.0.0.1:{}", server.port);
    assert_eq!(get(server.port, "/", Some(&host)).status, 200);
    let more = server.db.with_file_name("more.csv");
    std::fs::write(&more, "ФИО;Телефон\nКузнецова Мария;+7 903 777 66 55\n").unwrap();
    // The page does not hold the base between requests: the import gets it at once.
    let o = run(&["import", s(&more), "--db", s(&server.db)]);
    assert!(
        o.status.success(),
        "import failed while serve ran: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let home = get(server.port, "/", Some(&host));
    assert_eq!(home.status, 200);
    assert!(home.body.contains("4 leads"), "{}", home.body);
    let found = get(server.port, "/search?q=%2B79037776655", Some(&host));
    assert!(found.body.contains("Кузнецова"), "{}", found.body);
}

#[test]
fn unknown_leads_are_404_and_lists_read_as_text() {
    let server = start();
    let host = format!("127.0.0.1:{}", server.port);
    for path in ["/lead/999999", "/lead/abc"] {
        let a = get(server.port, path, Some(&host));
        assert_eq!(a.status, 404, "{path}: {}", a.body);
        assert!(a.body.contains("not-found"), "{path}: {}", a.body);
        assert!(!a.body.contains("Cannot parse"), "{path}: {}", a.body);
    }
    let a = get(server.port, "/lead/1", Some(&host));
    assert_eq!(a.status, 200);
    assert!(a.body.contains("+7903"), "{}", a.body);
    assert!(
        !a.body.contains("[&quot;+7") && !a.body.contains("[\"+7"),
        "phones shown as JSON: {}",
        a.body
    );
}
