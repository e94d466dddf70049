//! E-mail address normalisation: cleaning, strict validation, role/disposable
//! flags and typo suggestions for the domain.
//!
//! Reference data lives in `data/email/` and is embedded at compile time, so
//! lists can be extended without touching code:
//! - `role_locals.txt`: role (non-personal) local parts;
//! - `disposable_domains.txt`: throwaway mailbox providers;
//! - `typo_domains.tsv`: explicit `typo<TAB>correct` domain pairs;
//! - `popular_domains.txt`: correction targets for the fuzzy (distance 1) match;
//! - `known_domains.txt`: real look-alike domains that must never be "corrected".

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::sync::LazyLock;

use email_address::{EmailAddress, Options};

const ROLE_LOCALS_TXT: &str = include_str!("../../data/email/role_locals.txt");
const DISPOSABLE_DOMAINS_TXT: &str = include_str!("../../data/email/disposable_domains.txt");
const TYPO_DOMAINS_TSV: &str = include_str!("../../data/email/typo_domains.tsv");
const POPULAR_DOMAINS_TXT: &str = include_str!("../../data/email/popular_domains.txt");
const KNOWN_DOMAINS_TXT: &str = include_str!("../../data/email/known_domains.txt");

/// RFC 5321 limit on a forward path; `email_address` only checks the parts.
const MAX_ADDRESS_LEN: usize = 254;

/// Names (the label before the TLD) shorter than this only get fuzzy
/// suggestions for TLD typos: one edit to `bk` or `ya` hits real domains.
const MIN_FUZZY_NAME_CHARS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailInfo {
    /// Normalised address: trimmed, unwrapped (`<>`, `mailto:`), lowercased,
    /// domain converted to ASCII (punycode).
    pub email: String,
    /// The local part is a role address (info@, sales@, zakaz@, buh@, ...).
    pub is_role: bool,
    /// The domain (or a parent domain) is a known disposable provider.
    pub is_disposable: bool,
    /// Full suggested address when the domain looks like a typo of a popular
    /// one. Never applied to `email`: the caller decides.
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("empty")]
    Empty,
    /// (input, why)
    #[error("invalid email address {0:?}: {1}")]
    Invalid(String, String),
}

/// Normalise and validate one address.
pub fn normalise_email(raw: &str) -> Result<EmailInfo, EmailError> {
    let invalid = |why: &str| EmailError::Invalid(raw.to_owned(), why.to_owned());

    let cleaned = strip_wrappers(raw);
    if cleaned.is_empty() {
        return Err(EmailError::Empty);
    }

    // Lowercase the whole address, local part included. RFC 5321 lets the
    // local part be case-sensitive, but every mailbox provider that matters
    // here (mail.ru, yandex, gmail, corporate Exchange) treats it as
    // case-insensitive, and dedupe needs exactly one key per mailbox.
    let lowered = cleaned.to_lowercase();

    // Checked before the crate so the reasons are specific.
    if lowered.contains(['<', '>']) {
        return Err(invalid("display name or stray angle brackets"));
    }
    // Quoted local parts are legal but only ever garbage in lead data, and
    // they would let whitespace and extra '@' into the normalised key.
    if lowered.contains('"') {
        return Err(invalid("quoted local part is not supported"));
    }
    if lowered.contains(char::is_whitespace) {
        return Err(invalid("contains whitespace"));
    }
    let Some((local, domain)) = lowered.rsplit_once('@') else {
        return Err(invalid("missing '@'"));
    };
    if local.contains('@') {
        return Err(invalid("more than one '@'"));
    }
    if local.is_empty() {
        return Err(invalid("empty local part"));
    }
    if domain.is_empty() {
        return Err(invalid("empty domain"));
    }
    // Chars such as U+1D400 (mathematical bold A) are uppercase with no
    // lowercase mapping; they would break the one-key-per-mailbox promise.
    if local.chars().any(char::is_uppercase) {
        return Err(invalid(
            "local part has characters without a lowercase form",
        ));
    }

    let facts = crate::memo::cached(&DOMAINS, domain, domain_facts);
    let ascii_domain = facts.ascii.map_err(invalid)?;

    let email = format!("{local}@{ascii_domain}");
    if email.len() > MAX_ADDRESS_LEN {
        return Err(invalid("address longer than 254 characters"));
    }
    let options = Options::default()
        .without_display_text()
        .without_domain_literal()
        // Default minimum is 0 sub-domains, i.e. `user@localhost` passes.
        .with_required_tld();
    EmailAddress::parse_with_options(&email, options).map_err(|e| invalid(&e.to_string()))?;

    Ok(EmailInfo {
        is_role: is_role_local(local),
        is_disposable: facts.disposable,
        suggestion: facts.suggestion.map(|d| format!("{local}@{d}")),
        email,
    })
}

/// What an address's domain alone decides: its ASCII form (or why it has none), whether it
/// is disposable, the popular domain it is probably a typo of.
#[derive(Debug, Clone)]
struct DomainFacts {
    ascii: Result<String, &'static str>,
    disposable: bool,
    suggestion: Option<&'static str>,
}

thread_local! {
    // A list has a few hundred domains for a million addresses; IDNA, the disposable
    // walk and the typo search (edit distance to every popular domain) run once per
    // domain per thread (see `memo`).
    static DOMAINS: std::cell::RefCell<crate::memo::Table<DomainFacts>> =
        std::cell::RefCell::new(crate::memo::Table::default());
}

fn domain_facts(domain: &str) -> DomainFacts {
    let ascii = idna::domain_to_ascii(domain)
        .map_err(|_| "domain is not a valid internationalised domain name")
        .and_then(|ascii| check_domain_shape(&ascii).map(|()| ascii));
    match ascii {
        Ok(ascii) => DomainFacts {
            disposable: is_disposable_domain(&ascii),
            suggestion: suggest_domain(&ascii),
            ascii: Ok(ascii),
        },
        Err(why) => DomainFacts {
            ascii: Err(why),
            disposable: false,
            suggestion: None,
        },
    }
}

/// Is this a public mailbox provider (mail.ru, gmail.com, …) rather than a company's
/// own domain? Uses the popular-domain list kept as data.
pub fn is_free_mail_domain(domain: &str) -> bool {
    POPULAR_DOMAINS.set.contains(domain)
}

/// Split a cell that may hold several addresses (`a@x.ru; b@y.ru`,
/// `a@x.ru, b@y.ru`, whitespace or newline separated) into trimmed,
/// non-empty candidates. Candidates are not validated.
pub fn split_emails(cell: &str) -> Vec<&str> {
    cell.split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .map(trim_junk)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whitespace (incl. NBSP) plus invisible characters that survive
/// copy-paste from web pages and Word documents.
fn is_junk(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
        )
}

fn trim_junk(s: &str) -> &str {
    s.trim_matches(is_junk)
}

/// Trim, then strip `<...>` and a `mailto:` prefix (with any `?query`).
fn strip_wrappers(raw: &str) -> &str {
    let mut s = trim_junk(raw);
    if let Some(inner) = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        s = trim_junk(inner);
    }
    let after_mailto = s
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .and_then(|_| s.get(7..));
    if let Some(rest) = after_mailto {
        s = trim_junk(rest);
        // mailto: URIs can carry ?subject=...; '?' is legal in a local part
        // only, so cutting at the first '?' after the first '@' is safe.
        if let Some(at) = s.find('@') {
            if let Some(q) = s[at..].find('?') {
                s = trim_junk(&s[..at + q]);
            }
        }
    }
    s
}

/// Stricter than `email_address`, which accepts any RFC 5322 atom character
/// (`_`, `!`, `~`, ...) in domain labels and has no TLD rule.
fn check_domain_shape(domain: &str) -> Result<(), &'static str> {
    if domain.starts_with('.') || domain.ends_with('.') {
        return Err("domain starts or ends with a dot");
    }
    if domain.contains("..") {
        return Err("domain has consecutive dots");
    }
    let Some((_, tld)) = domain.rsplit_once('.') else {
        return Err("domain has no dot");
    };
    for label in domain.split('.') {
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("domain label has characters other than letters, digits and '-'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with '-'");
        }
    }
    let tld_ok =
        tld.starts_with("xn--") || (tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_lowercase()));
    if !tld_ok {
        return Err("top-level domain must be 2+ letters");
    }
    Ok(())
}

fn is_role_local(local: &str) -> bool {
    let roles = &*ROLE_LOCALS;
    // Sub-addressing (info+crm@) does not change who reads the mailbox.
    let base = local.split_once('+').map_or(local, |(b, _)| b);
    if roles.contains(base) || roles.contains(strip_digits(base)) {
        return true;
    }
    // "info.spb", "zakaz-msk", "sales_opt2": a role word followed by short
    // qualifiers. "sales.petrov" is a person, so long tails do not count.
    let mut tokens = base.split(['.', '-', '_']).filter(|t| !t.is_empty());
    let Some(first) = tokens.next() else {
        return false;
    };
    if !roles.contains(strip_digits(first)) {
        return false;
    }
    tokens.all(|t| {
        let t = strip_digits(t);
        t.chars().count() <= 3 || roles.contains(t)
    })
}

/// "info2" -> "info": numbered copies of a role mailbox are still roles.
fn strip_digits(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_ascii_digit())
}

fn is_disposable_domain(domain: &str) -> bool {
    // Walk parent domains so throwaway subdomains (x.mailinator.com) match,
    // stopping before the bare TLD.
    let mut d = domain;
    loop {
        if DISPOSABLE_DOMAINS.contains(d) {
            return true;
        }
        match d.split_once('.') {
            Some((_, parent)) if parent.contains('.') => d = parent,
            _ => return false,
        }
    }
}

fn suggest_domain(domain: &str) -> Option<&'static str> {
    let popular = &*POPULAR_DOMAINS;
    if popular.set.contains(domain) || KNOWN_DOMAINS.contains(domain) {
        return None;
    }
    if let Some(correct) = TYPO_DOMAINS.get(domain) {
        return Some(correct);
    }
    if DISPOSABLE_DOMAINS.contains(domain) {
        return None;
    }
    let (name, _) = domain.rsplit_once('.')?;
    let len = domain.chars().count();
    let mut found: Option<&'static str> = None;
    for &candidate in &popular.ordered {
        if candidate.chars().count().abs_diff(len) > 1
            || strsim::damerau_levenshtein(domain, candidate) != 1
        {
            continue;
        }
        let Some((cand_name, _)) = candidate.rsplit_once('.') else {
            continue;
        };
        if cand_name.chars().count() < MIN_FUZZY_NAME_CHARS && cand_name != name {
            continue;
        }
        if found.is_some_and(|f| f != candidate) {
            // Ambiguous (one edit from two providers): better no hint than a wrong one.
            return None;
        }
        found = Some(candidate);
    }
    found
}

// ---------------------------------------------------------------------------
// Reference data, parsed once.

static ROLE_LOCALS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| data_lines(ROLE_LOCALS_TXT).collect());

static DISPOSABLE_DOMAINS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    data_lines(DISPOSABLE_DOMAINS_TXT)
        .map(ascii_domain)
        .collect()
});

static KNOWN_DOMAINS: LazyLock<HashSet<String>> =
    LazyLock::new(|| data_lines(KNOWN_DOMAINS_TXT).map(ascii_domain).collect());

/// Keyed by the ASCII form so Unicode typo entries would also match.
static TYPO_DOMAINS: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    data_lines(TYPO_DOMAINS_TSV)
        .filter_map(|line| line.split_once('\t'))
        .map(|(typo, correct)| (ascii_domain(typo.trim()), correct.trim()))
        .collect()
});

struct Popular {
    /// File order, for a deterministic scan.
    ordered: Vec<&'static str>,
    set: HashSet<&'static str>,
}

static POPULAR_DOMAINS: LazyLock<Popular> = LazyLock::new(|| {
    let ordered: Vec<&'static str> = data_lines(POPULAR_DOMAINS_TXT).collect();
    let set = ordered.iter().copied().collect();
    Popular { ordered, set }
});

/// Non-empty lines with `#` comments removed. Data files are lowercase ASCII
/// (the tests enforce it), so entries can be borrowed as `&'static str`.
fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .map(|line| line.split_once('#').map_or(line, |(data, _)| data).trim())
        .filter(|line| !line.is_empty())
}

/// Same domain normalisation as addresses get; falls back to the raw entry
/// (the data tests catch entries that need it).
fn ascii_domain(entry: &str) -> String {
    idna::domain_to_ascii(entry).unwrap_or_else(|_| entry.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(raw: &str) -> EmailInfo {
        match normalise_email(raw) {
            Ok(info) => info,
            Err(e) => panic!("{raw:?} should be valid: {e}"),
        }
    }

    #[test]
    fn remembered_domains_give_what_a_fresh_check_gives() {
        let addresses = [
            "Ivanov@MAIL.RU",
            "petrov@gmial.com",
            "x@mailinator.com",
            "y@sub.mailinator.com",
            "user@пример.рф",
            "bad@-dash.ru",
            "bad@xn--.ru",
            "info@firma.ru",
        ];
        let cold: Vec<_> = std::thread::spawn(move || addresses.map(normalise_email).to_vec())
            .join()
            .unwrap();
        for _ in 0..2 {
            assert_eq!(addresses.map(normalise_email).to_vec(), cold);
        }
        assert_eq!(
            cold[1].as_ref().unwrap().suggestion.as_deref(),
            Some("petrov@gmail.com")
        );
        assert!(cold[3].as_ref().unwrap().is_disposable);
        assert!(cold[5].is_err());
    }

    #[test]
    fn valid_addresses_normalise() {
        let cases = [
            ("ivanov@mail.ru", "ivanov@mail.ru"),
            ("IVANOV@MAIL.RU", "ivanov@mail.ru"),
            ("  Ivan.Petrov@Yandex.RU\u{00A0}", "ivan.petrov@yandex.ru"),
            (
                "\u{FEFF}a.b-c_d+tag@sub.example.com\u{200B}",
                "a.b-c_d+tag@sub.example.com",
            ),
            ("<ivanov@mail.ru>", "ivanov@mail.ru"),
            (" < ivanov@mail.ru > ", "ivanov@mail.ru"),
            ("mailto:ivanov@mail.ru", "ivanov@mail.ru"),
            ("MAILTO:Ivanov@Mail.ru?subject=hi", "ivanov@mail.ru"),
            ("<mailto:ivanov@mail.ru>", "ivanov@mail.ru"),
            ("o'brien@example.co.uk", "o'brien@example.co.uk"),
            (
                "user@sub-domain.example.travel",
                "user@sub-domain.example.travel",
            ),
            ("1@2.ru", "1@2.ru"),
            ("user@xn--e1afmkfd.xn--p1ai", "user@xn--e1afmkfd.xn--p1ai"),
        ];
        for (raw, want) in cases {
            assert_eq!(ok(raw).email, want, "input {raw:?}");
        }
    }

    #[test]
    fn invalid_addresses_rejected() {
        let cases = [
            "user@domain",
            "a@@b.ru",
            "a@b@c.ru",
            "Ivan <a@b.ru>",
            "Ivan<a@b.ru>",
            "a@b..ru",
            ".a@b.ru",
            "a.@b.ru",
            "a..b@c.ru",
            "a@.b.ru",
            "a@b.ru.",
            "a@-b.ru",
            "a@b-.ru",
            "a@b_c.ru",
            "a@b!c.ru",
            "a@b.r",
            "a@b.123",
            "a@[127.0.0.1]",
            "a@127.0.0.1",
            "ivanov",
            "ivanov@",
            "@mail.ru",
            "iv anov@mail.ru",
            "\"iv anov\"@mail.ru",
            "\"a@b\"@mail.ru",
            "a@b.ru, c@d.ru",
            "a@xn--zz.ru",
            "a,b@c.ru",
        ];
        for raw in cases {
            match normalise_email(raw) {
                Err(EmailError::Invalid(input, why)) => {
                    assert_eq!(input, raw);
                    assert!(!why.is_empty());
                }
                other => panic!("{raw:?} should be invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn empty_inputs() {
        for raw in [
            "",
            "   ",
            "\u{00A0}\t\n",
            "<>",
            "mailto:",
            " <mailto: > ",
            "\u{200B}",
        ] {
            assert_eq!(
                normalise_email(raw),
                Err(EmailError::Empty),
                "input {raw:?}"
            );
        }
    }

    #[test]
    fn length_limits() {
        let local64 = "a".repeat(64);
        assert!(normalise_email(&format!("{local64}@mail.ru")).is_ok());
        assert!(normalise_email(&format!("{local64}a@mail.ru")).is_err());
        // Parts within limits but whole address over 254.
        let label = "b".repeat(63);
        let long = format!("{local64}@{label}.{label}.{label}.ru");
        assert!(long.len() > MAX_ADDRESS_LEN);
        assert!(normalise_email(&long).is_err());
    }

    #[test]
    fn idn_domains_become_punycode() {
        assert_eq!(ok("user@пример.рф").email, "user@xn--e1afmkfd.xn--p1ai");
        assert_eq!(ok("User@ПРИМЕР.РФ").email, "user@xn--e1afmkfd.xn--p1ai");
        // Fullwidth forms and the ideographic full stop are mapped by UTS 46.
        assert_eq!(ok("user@ｍａｉｌ。ｒｕ").email, "user@mail.ru");
    }

    #[test]
    fn role_locals() {
        for raw in [
            "info@firm.ru",
            "INFO@firm.ru",
            "sales@firm.ru",
            "zakaz@firm.ru",
            "buh@firm.ru",
            "hr@firm.ru",
            "noreply@firm.ru",
            "no-reply@firm.ru",
            "office@firm.ru",
            "support@firm.ru",
            "admin@firm.ru",
            "info2@firm.ru",
            "info+crm@firm.ru",
            "info.spb@firm.ru",
            "zakaz-msk@firm.ru",
            "sales_opt@firm.ru",
        ] {
            assert!(ok(raw).is_role, "{raw:?} should be a role address");
        }
        for raw in [
            "ivanov@firm.ru",
            "sales.petrov@firm.ru",
            "info.ivanova@firm.ru",
            "marina@firm.ru",
            "infoman@firm.ru",
        ] {
            assert!(!ok(raw).is_role, "{raw:?} should be personal");
        }
    }

    #[test]
    fn disposable_domains() {
        for raw in [
            "x@mailinator.com",
            "x@10minutemail.com",
            "x@guerrillamail.com",
            "x@temp-mail.org",
            "x@yopmail.com",
            "x@trashmail.com",
            "x@dropmail.me",
            "x@inbox.mailinator.com",
            "x@YOPMAIL.COM",
        ] {
            assert!(ok(raw).is_disposable, "{raw:?} should be disposable");
        }
        for raw in [
            "x@mail.ru",
            "x@gmail.com",
            "x@firm.ru",
            "x@mailinator.ru",
            "x@notmailinator.example",
        ] {
            assert!(!ok(raw).is_disposable, "{raw:?} should not be disposable");
        }
    }

    #[test]
    fn typo_suggestions() {
        let cases = [
            ("ivan@gmial.com", Some("ivan@gmail.com")),
            ("ivan@mial.ru", Some("ivan@mail.ru")),
            ("ivan@gmail.ru", Some("ivan@gmail.com")),
            ("ivan@yandeks.ru", Some("ivan@yandex.ru")),
            ("ivan@yandex.ry", Some("ivan@yandex.ru")),
            ("ivan@ya.ry", Some("ivan@ya.ru")),
            ("ivan@ramler.ru", Some("ivan@rambler.ru")),
            ("Ivan@GMAL.COM", Some("ivan@gmail.com")),
            // Not in the table, found by the distance-1 fallback.
            ("ivan@gmaqil.com", Some("ivan@gmail.com")),
            ("ivan@yandexx.ru", Some("ivan@yandex.ru")),
            ("ivan@outlook.cpm", Some("ivan@outlook.com")),
            ("ivan@bk.rz", Some("ivan@bk.ru")),
            // Correct or real domains get nothing.
            ("ivan@gmail.com", None),
            ("ivan@mail.ru", None),
            ("ivan@ya.ru", None),
            ("ivan@mail.com", None),
            ("ivan@ymail.com", None),
            ("ivan@mil.ru", None),
            ("ivan@inbox.eu", None),
            ("ivan@firm.ru", None),
            // One edit to a 2-letter name is too likely a real domain.
            ("ivan@bm.ru", None),
            ("ivan@yo.ru", None),
        ];
        for (raw, want) in cases {
            let info = ok(raw);
            assert_eq!(info.suggestion.as_deref(), want, "input {raw:?}");
            // The suggestion is advisory only.
            assert!(!info.email.is_empty() && Some(info.email.as_str()) != want);
        }
    }

    #[test]
    fn split_cells() {
        assert_eq!(split_emails("a@x.ru; b@y.ru"), ["a@x.ru", "b@y.ru"]);
        assert_eq!(
            split_emails("a@x.ru, b@y.ru,c@z.ru"),
            ["a@x.ru", "b@y.ru", "c@z.ru"]
        );
        assert_eq!(
            split_emails(" a@x.ru \n\tb@y.ru\u{00A0}c@z.ru "),
            ["a@x.ru", "b@y.ru", "c@z.ru"]
        );
        assert_eq!(split_emails(";; ,\u{200B}, "), Vec::<&str>::new());
        assert_eq!(split_emails(""), Vec::<&str>::new());
        assert_eq!(split_emails("a@x.ru"), ["a@x.ru"]);
    }

    #[test]
    fn error_messages() {
        assert_eq!(EmailError::Empty.to_string(), "empty");
        let msg = normalise_email("user@domain")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("invalid email address \"user@domain\": "),
            "{msg}"
        );
    }

    // --- data file sanity -------------------------------------------------

    fn raw_entries(text: &'static str) -> Vec<&'static str> {
        data_lines(text).collect()
    }

    fn assert_clean_domain_list(name: &str, text: &'static str) {
        let entries = raw_entries(text);
        let unique: HashSet<_> = entries.iter().collect();
        assert_eq!(unique.len(), entries.len(), "{name}: duplicate entries");
        for d in entries {
            assert_eq!(ascii_domain(d), d, "{name}: {d:?} is not lowercase ASCII");
            assert!(
                check_domain_shape(d).is_ok(),
                "{name}: {d:?} is not a valid domain"
            );
        }
    }

    #[test]
    fn data_files_are_clean() {
        assert_clean_domain_list("disposable_domains.txt", DISPOSABLE_DOMAINS_TXT);
        assert_clean_domain_list("popular_domains.txt", POPULAR_DOMAINS_TXT);
        assert_clean_domain_list("known_domains.txt", KNOWN_DOMAINS_TXT);
        assert!(DISPOSABLE_DOMAINS.len() >= 150);

        let roles = raw_entries(ROLE_LOCALS_TXT);
        assert_eq!(
            roles.iter().collect::<HashSet<_>>().len(),
            roles.len(),
            "duplicate role"
        );
        for r in roles {
            assert!(EmailAddress::is_valid_local_part(r), "role {r:?}");
            assert_eq!(r, r.to_ascii_lowercase(), "role {r:?} must be lowercase");
        }

        let typo_lines = raw_entries(TYPO_DOMAINS_TSV);
        assert_eq!(
            TYPO_DOMAINS.len(),
            typo_lines.len(),
            "malformed or duplicate typo line"
        );
        for (typo, correct) in TYPO_DOMAINS.iter() {
            assert!(check_domain_shape(typo).is_ok(), "typo key {typo:?}");
            assert!(
                POPULAR_DOMAINS.set.contains(correct),
                "{typo} -> {correct} is not popular"
            );
            assert!(
                !POPULAR_DOMAINS.set.contains(typo.as_str()),
                "{typo} is popular"
            );
            assert!(
                !KNOWN_DOMAINS.contains(typo),
                "{typo} is a known real domain"
            );
            assert!(!DISPOSABLE_DOMAINS.contains(typo), "{typo} is disposable");
        }
        for d in &POPULAR_DOMAINS.ordered {
            assert!(!KNOWN_DOMAINS.contains(*d), "{d} in both popular and known");
            assert!(
                !DISPOSABLE_DOMAINS.contains(*d),
                "{d} in both popular and disposable"
            );
        }
    }

    // --- properties ---------------------------------------------------------

    /// Mostly address-shaped strings, so the valid path gets exercised too.
    fn address_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ \u{00A0}]{0,2}(mailto:)?<?[A-Za-z0-9._%+'-]{1,20}@[A-Za-z0-9.-]{1,20}\\.[A-Za-z]{2,6}>?[ ]{0,2}",
            "[a-zA-Zа-яА-ЯёЁ0-9.]{1,12}@[а-яА-Яa-z0-9-]{1,12}\\.(рф|ru|РФ|com|xn--p1ai)",
            "[a-z]{1,8}@(gmial|gmai|mial|yandeks|gmail|mail|ya|bk)\\.(com|ru|ry|co)",
        ]
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = normalise_email(&s);
            let _ = split_emails(&s);
        }

        #[test]
        fn normalising_is_idempotent(s in address_like()) {
            if let Ok(info) = normalise_email(&s) {
                prop_assert_eq!(normalise_email(&info.email), Ok(info));
            }
        }

        #[test]
        fn output_is_lowercase_without_whitespace(s in address_like()) {
            if let Ok(info) = normalise_email(&s) {
                prop_assert!(!info.email.chars().any(char::is_uppercase), "{}", info.email);
                prop_assert!(!info.email.chars().any(char::is_whitespace), "{}", info.email);
                if let Some(sugg) = &info.suggestion {
                    prop_assert!(!sugg.chars().any(|c| c.is_uppercase() || c.is_whitespace()));
                }
            }
        }

        #[test]
        fn valid_output_has_exactly_one_at(s in address_like()) {
            if let Ok(info) = normalise_email(&s) {
                prop_assert_eq!(info.email.matches('@').count(), 1);
                prop_assert!(info.email.rsplit_once('@').is_some_and(|(_, d)| d.is_ascii()));
            }
        }

        #[test]
        fn split_candidates_are_trimmed(s in any::<String>()) {
            for part in split_emails(&s) {
                prop_assert!(!part.is_empty());
                prop_assert_eq!(part, trim_junk(part));
            }
        }
    }
}
