//! The review server (`leadpipe serve`) over real HTTP on 127.0.0.1: requests naming another
//! host are refused (DNS rebinding), search text is matched literally (`%` and `_` are not
//! wildcards), and every answer carries the security headers.

mod common;

use common::server::{get, start_with, Server};
use common::{ok, run, s};

/// Three leads, one with a percent sign in its company and one with an underscore, served
/// on a free port.
fn start() -> Server {
    start_with(
        "ФИО;Телефон;E-mail;Компания\n\
         Петров Пётр;+7 903 111 22 33;petr@mail.ru;Скидки 100%\n\
         Сидорова Анна;+7 903 999 88 77;anna@mail.ru;Ромашка\n\
         Иванов Иван;+7 903 555 44 33;ivan@mail.ru;Проект_1\n",
        None,
        &[],
    )
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
            for name in ["Петров", "Сидорова", "Иванов", "Проверка лидов"]
            {
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
        assert_eq!(a.header("referrer-policy"), Some("same-origin"), "{path}");
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
    assert!(
        home.body.contains("id=\"leads\" data-n=\"4\""),
        "{}",
        home.body
    );
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
    assert!(a.body.contains("+7 903 111-22-33"), "{}", a.body);
    assert!(
        !a.body.contains("[&quot;+7") && !a.body.contains("[\"+7"),
        "phones shown as JSON: {}",
        a.body
    );
}

/// `text` percent-encoded for a query string (every byte but letters, digits and `-._~`).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Five people: one with ё in the name, two numbers and a bk.ru address, living in a city
/// written `СПб`; one whose name is stored with е where people may type ё.
const PEOPLE: &str = "ФИО;Телефоны;E-mail;Компания;Город\n\
    Петров Пётр;+7 903 111 22 33;petr@mail.ru;Скидки 100%;Самара\n\
    Сидорова Анна;+7 903 999 88 77;anna@mail.ru;Ромашка;Казань\n\
    Иванов Иван Петрович;+7 903 555 44 33;ivanov@mail.ru;Проект_1;Москва\n\
    Семёнов Олег;8 (916) 123-45-67, 8 (495) 765-43-21;oleg.semenov@bk.ru;;СПб\n\
    Федорова Елена;+7 926 000 11 22;elena@yandex.ru;;Нижний Новгород\n";

const SURNAMES: [&str; 5] = ["Петров", "Сидорова", "Иванов", "Семёнов", "Федорова"];

/// The surnames of the leads a search lists (read from the results table only: the page
/// repeats the query in its heading and search box).
fn found(server: &Server, q: &str) -> Vec<&'static str> {
    let host = format!("127.0.0.1:{}", server.port);
    let a = get(
        server.port,
        &format!("/search?q={}", encode(q)),
        Some(&host),
    );
    assert_eq!(a.status, 200, "{q}: {}", a.body);
    let results = a.body.split("id=\"results\"").nth(1).unwrap_or("");
    SURNAMES
        .into_iter()
        .filter(|n| results.contains(&format!(">{n} ")))
        .collect()
}

#[test]
fn search_finds_people_by_what_a_reviewer_remembers() {
    let server = start_with(PEOPLE, None, &[]);
    let cases: &[(&str, &[&str])] = &[
        // ё and е alike, both ways, any case.
        ("Семенов", &["Семёнов"]),
        ("семёнов", &["Семёнов"]),
        ("ФЁДОРОВА", &["Федорова"]),
        ("пётр", &["Петров", "Иванов"]), // Иванов Иван Петрович
        // Several words, each must match, in any order.
        ("Иван Иванов", &["Иванов"]),
        ("Петрович Иванов Иван", &["Иванов"]),
        ("олег семенов", &["Семёнов"]),
        ("Иван Семенов", &[]),
        // Parts of e-mail addresses; a dot is a dot.
        ("bk.ru", &["Семёнов"]),
        ("ivanov@", &["Иванов"]),
        ("bk_ru", &[]),
        ("mail.ru", &["Петров", "Сидорова", "Иванов"]),
        // Part of a number in any common writing, the second number too.
        ("916 123", &["Семёнов"]),
        ("8 (916) 123-45-67", &["Семёнов"]),
        ("+7916123", &["Семёнов"]),
        ("+79161234567", &["Семёнов"]),
        ("4567", &["Семёнов"]),
        ("765-43-21", &["Семёнов"]),
        ("8 495 765", &["Семёнов"]),
        ("903", &["Петров", "Сидорова", "Иванов"]),
        ("+7903", &["Петров", "Сидорова", "Иванов"]),
        ("+7916 Олег", &["Семёнов"]),
        // Cities, as written and by their canonical name; companies.
        ("казань", &["Сидорова"]),
        ("Нижний Новгород", &["Федорова"]),
        ("Санкт-Петербург", &["Семёнов"]),
        ("Ромашка", &["Сидорова"]),
        ("Москва Иванов", &["Иванов"]),
    ];
    let mut wrong = Vec::new();
    for (q, want) in cases {
        let got = found(&server, q);
        if got != *want {
            wrong.push(format!("{q:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn search_says_how_many_matched() {
    let server = start_with(PEOPLE, None, &[]);
    let host = format!("127.0.0.1:{}", server.port);
    let a = get(
        server.port,
        &format!("/search?q={}", encode("903")),
        Some(&host),
    );
    assert!(a.body.contains("data-total=\"3\""), "{}", a.body);
    assert!(a.body.contains("Найдено лидов: 3."), "{}", a.body);
    // The query stays in the box, escaped.
    let a = get(
        server.port,
        &format!("/search?q={}", encode("<b>\"x")),
        Some(&host),
    );
    assert!(a.body.contains("value=\"&lt;b&gt;&quot;x\""), "{}", a.body);
    assert!(a.body.contains("id=\"none\""), "{}", a.body);
}

/// The words of the home, search, lead, 404 pages in each language, and `<html lang>`.
fn page_words(server: &Server) -> String {
    let host = format!("127.0.0.1:{}", server.port);
    ["/", "/search?q=903", "/lead/1", "/lead/999", "/nothing"]
        .iter()
        .map(|p| get(server.port, p, Some(&host)).body)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn pages_are_russian_by_default_and_english_when_asked() {
    let ru = page_words(&start_with(PEOPLE, None, &[]));
    for words in [
        "<html lang=\"ru\"",
        "Проверка лидов",
        "Найти",
        "Согласие на звонки",
        "Основная запись",
        "Лид не найден",
        "Страница не найдена",
        "нет согласия",
    ] {
        assert!(ru.contains(words), "Russian page lacks {words:?}");
    }
    assert!(!ru.contains("lang=\"en\"") && !ru.contains("Golden record"));
    let en = page_words(&start_with(PEOPLE, None, &["--lang", "en"]));
    for words in [
        "<html lang=\"en\"",
        "Lead review",
        "Search",
        "Call consent",
        "Golden record",
        "Lead not found",
        "Page not found",
        "no consent",
    ] {
        assert!(en.contains(words), "English page lacks {words:?}");
    }
    assert!(!en.contains("lang=\"ru\"") && !en.contains("Основная запись"));
}

/// A pipeline that says English and Vladivostok time.
const VLADIVOSTOK_EN: &str = "name = \"far-east\"\n\
    [normalise]\nnaive_time_offset = \"+10:00\"\n\
    [output]\nlang = \"en\"\n\
    [[sources]]\nname = \"list\"\nkind = \"csv\"\npath = \"list.csv\"\norigin = \"purchased\"\n";

#[test]
fn times_are_in_the_bases_zone_with_the_offset_and_the_base_sets_the_language() {
    for (pipeline, args, shown, lang) in [
        (None, &[][..], "23.11.2026 09:00 (+03:00)", "ru"),
        (
            Some(VLADIVOSTOK_EN),
            &[][..],
            "2026-11-23 09:00 (+10:00)",
            "en",
        ),
        (
            Some(VLADIVOSTOK_EN),
            &["--lang", "ru"][..],
            "23.11.2026 09:00 (+10:00)",
            "ru",
        ),
    ] {
        let server = start_with(PEOPLE, pipeline, args);
        // A withdrawal typed without a zone is read, and shown, in the base's zone.
        ok(run(&[
            "consent",
            "withdraw",
            "--phone",
            "+7 916 123-45-67",
            "--at",
            "2026-11-23 09:00",
            "--db",
            s(&server.db),
        ]));
        let host = format!("127.0.0.1:{}", server.port);
        let search = get(server.port, "/search?q=%2B7916", Some(&host));
        let lead = search
            .body
            .split("href=\"/lead/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no lead found: {}", search.body))
            .to_string();
        let page = get(server.port, &format!("/lead/{lead}"), Some(&host));
        assert_eq!(page.status, 200);
        assert!(page.body.contains(shown), "{shown} not in {}", page.body);
        assert!(page.body.contains(&format!("<html lang=\"{lang}\"")));
        assert!(!page.body.contains(" UTC"), "{}", page.body);
        assert!(
            page.body.contains("data-status=\"withdrawn\""),
            "{}",
            page.body
        );
    }
}

#[test]
fn a_page_asked_for_while_the_base_is_written_says_it_is_busy() {
    let server = start_with(PEOPLE, None, &[]);
    let host = format!("127.0.0.1:{}", server.port);
    // This test process holds the base for writing.
    let holder = duckdb::Connection::open(&server.db).unwrap();
    let a = get(server.port, "/search?q=903", Some(&host));
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.body.contains("id=\"busy\""), "{}", a.body);
    assert!(a.body.contains("База занята"), "{}", a.body);
    assert!(!a.body.contains("Петров"));
    drop(holder);
    let a = get(server.port, "/search?q=903", Some(&host));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Петров Пётр"));
}
