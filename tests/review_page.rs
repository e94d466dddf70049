//! The review queue over real HTTP: without `--allow-edits` there is no route that writes;
//! with it, a verdict is taken only from a form carrying the server's token and posted
//! from its own origin, and lands in `match_decisions`, applied at once.

mod common;

use common::count;
use common::server::{get, post, start_with};

/// Two rows the matcher merges (one name, one number) and a third person.
const LIST: &str = "ФИО;Телефон;E-mail\n\
                    Сидоров Алексей;+7 916 555 00 11;\n\
                    Сидоров Алексей;+7 916 555 00 11;sidorov@mail.ru\n\
                    Петрова Анна;+7 903 111 22 33;anna@mail.ru\n";

fn leads_of_pair(db: &std::path::Path) -> (i64, i64) {
    let lead = |r: i64| {
        count(
            db,
            &format!("SELECT lead_id FROM records WHERE record_id = {r}"),
        )
    };
    (lead(1), lead(2))
}

#[test]
fn without_allow_edits_nothing_writes() {
    let server = start_with(LIST, None, &["--lang", "en"]);
    let page = get(
        server.port,
        "/review/pair?a=1&b=2",
        Some(&format!("127.0.0.1:{}", server.port)),
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"evidence\""), "{}", page.body);
    assert!(!page.body.contains("csrf") && !page.body.contains("<form method=\"post\""));
    let origin = format!("http://127.0.0.1:{}", server.port);
    let answer = post(
        server.port,
        "/review/decide",
        "a=1&b=2&verdict=different&reason=x&csrf=anything",
        Some(&origin),
    );
    assert!(
        [404, 405].contains(&answer.status),
        "status {}",
        answer.status
    );
    assert_eq!(count(&server.db, "SELECT count(*) FROM match_decisions"), 0);
}

#[test]
fn a_verdict_needs_the_token_and_this_servers_origin() {
    let server = start_with(
        LIST,
        None,
        &["--allow-edits", "--reviewer", "olga", "--lang", "en"],
    );
    let host = format!("127.0.0.1:{}", server.port);
    let origin = format!("http://{host}");
    assert_eq!(leads_of_pair(&server.db).0, leads_of_pair(&server.db).1);
    // The queue lists the pair; the pair page carries the token.
    let queue = get(server.port, "/review", Some(&host));
    assert_eq!(queue.status, 200);
    let page = get(server.port, "/review/pair?a=1&b=2", Some(&host));
    let token = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a token in the form")
        .to_string();
    assert_eq!(token.len(), 32);
    let form = |csrf: &str| format!("a=1&b=2&verdict=different&reason=father+and+son{csrf}");
    for (body, from) in [
        (form(""), Some(origin.as_str())),
        (
            form("&csrf=0123456789abcdef0123456789abcdef"),
            Some(origin.as_str()),
        ),
        (form(&format!("&csrf={token}")), Some("http://evil.example")),
    ] {
        let answer = post(server.port, "/review/decide", &body, from);
        assert_eq!(answer.status, 403, "{body} from {from:?}: {}", answer.body);
    }
    assert_eq!(count(&server.db, "SELECT count(*) FROM match_decisions"), 0);
    // A verdict without a reason is not recorded either.
    let answer = post(
        server.port,
        "/review/decide",
        &format!("a=1&b=2&verdict=different&reason=&csrf={token}"),
        Some(&origin),
    );
    assert_eq!(answer.status, 400);
    let answer = post(
        server.port,
        "/review/decide",
        &form(&format!("&csrf={token}")),
        Some(&origin),
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.header("location"),
        Some("/review/pair?a=1&b=2&done=1")
    );
    assert_eq!(
        count(
            &server.db,
            "SELECT count(*) FROM match_decisions
             WHERE kind = 'different' AND actor = 'olga' AND via = 'review page'
               AND reason = 'father and son'"
        ),
        1
    );
    let (a, b) = leads_of_pair(&server.db);
    assert_ne!(a, b, "the verdict was applied at once");
}
