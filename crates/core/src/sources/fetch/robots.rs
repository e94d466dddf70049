//! robots.txt: the rules for our user agent (RFC 9309) and keeping to them, each origin's
//! file read once per run before its first page.

use super::crawl::{HostRun, HostState};
use super::polite::Fetched;
use super::{page_error, FetchSettings, DISALLOWED, NOT_FETCHED};

/// robots.txt rules for our user agent (RFC 9309: longest match wins, Allow on a tie).
#[derive(Debug, Clone, Default)]
pub struct Robots {
    rules: Vec<(bool, String)>,
    disallow_all: bool,
}

impl Robots {
    pub fn allow_all() -> Self {
        Robots::default()
    }

    pub fn disallow_all() -> Self {
        Robots {
            rules: Vec::new(),
            disallow_all: true,
        }
    }

    /// Parses a robots.txt for the product token `agent` (case-insensitive), falling
    /// back to the `*` group.
    pub fn parse(text: &str, agent: &str) -> Self {
        let agent = agent.to_ascii_lowercase();
        let text = text.trim_start_matches('\u{feff}');
        // (user agents of the group, its (allow?, path pattern) rules)
        type Group = (Vec<String>, Vec<(bool, String)>);
        let mut groups: Vec<Group> = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim().to_string());
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push((Vec::new(), Vec::new()));
                    }
                    in_agents = true;
                    if let Some(g) = groups.last_mut() {
                        g.0.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if let Some(g) = groups.last_mut() {
                        if !value.is_empty() {
                            g.1.push((key == "allow", normalize_path(&value)));
                        }
                    }
                }
                _ => {}
            }
        }
        let pick = |want: &dyn Fn(&str) -> bool| -> Option<Vec<(bool, String)>> {
            let rules: Vec<(bool, String)> = groups
                .iter()
                .filter(|(agents, _)| agents.iter().any(|a| want(a)))
                .flat_map(|(_, r)| r.clone())
                .collect();
            groups
                .iter()
                .any(|(agents, _)| agents.iter().any(|a| want(a)))
                .then_some(rules)
        };
        // RFC 9309: our product token, matched case-insensitively, else the `*` group.
        let rules = pick(&|a: &str| a == agent)
            .or_else(|| pick(&|a: &str| a == "*"))
            .unwrap_or_default();
        Robots {
            rules,
            disallow_all: false,
        }
    }

    /// Whether `path` (path and query of the URL) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        if self.disallow_all {
            return false;
        }
        let path = normalize_path(path);
        let path = path.as_str();
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if let Some(len) = robots_match(pattern, path) {
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// Paths and patterns compared in one form: non-ASCII bytes percent-encoded, escapes in
/// upper case (`/поиск` and `/%d0%bf%d0%be…` are the same path).
fn normalize_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let bytes = p.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            out.push('%');
            out.push(bytes[i + 1].to_ascii_uppercase() as char);
            out.push(bytes[i + 2].to_ascii_uppercase() as char);
            i += 3;
        } else if b.is_ascii() {
            out.push(b as char);
            i += 1;
        } else {
            out.push_str(&format!("%{b:02X}"));
            i += 1;
        }
    }
    out
}

/// Length of `pattern` if it matches the start of `path` (`*` any run, `$` end). Linear
/// in both (a table over positions), so a hostile robots.txt cannot make it explode.
fn robots_match(pattern: &str, path: &str) -> Option<usize> {
    let p = pattern.as_bytes();
    let s = path.as_bytes();
    let anchored = p.last() == Some(&b'$');
    let p = if anchored { &p[..p.len() - 1] } else { p };
    // reach[j]: the pattern prefix read so far can end at path position j.
    let mut reach = vec![false; s.len() + 1];
    reach[0] = true;
    for &c in p {
        let mut next = vec![false; s.len() + 1];
        if c == b'*' {
            let mut any = false;
            for j in 0..=s.len() {
                any |= reach[j];
                next[j] = any;
            }
        } else {
            for j in 0..s.len() {
                if reach[j] && s[j] == c {
                    next[j + 1] = true;
                }
            }
        }
        reach = next;
        if !reach.iter().any(|&r| r) {
            return None;
        }
    }
    let ok = if anchored {
        reach[s.len()]
    } else {
        reach.iter().any(|&r| r)
    };
    ok.then_some(pattern.len())
}

/// The origin robots.txt applies to (scheme, host, port).
fn origin_of(url: &reqwest::Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    )
}

impl HostRun {
    /// robots.txt for the URL's origin (read once per run), then the page if allowed.
    pub(super) async fn robots_then_get(
        &self,
        settings: &FetchSettings,
        url: &str,
        parsed: &reqwest::Url,
        state: &mut HostState,
    ) -> Fetched {
        let origin = origin_of(parsed);
        if !state.robots.contains_key(&origin) {
            let robots_url = format!("{origin}/robots.txt");
            let answer = self.polite_get(settings, &robots_url, state).await;
            if answer.leave_host.is_some() || self.deadline.passed() {
                // No answer in time (or the host asked to wait too long): that is not the
                // site's "disallow", the page is simply not fetched this run.
                let reason = answer.leave_host.unwrap_or_else(|| self.deadline.reason());
                return Fetched {
                    page: page_error(url, &format!("{NOT_FETCHED}: {reason}")),
                    leave_host: Some(reason),
                };
            }
            let answer = answer.page;
            let robots = match answer.status {
                Some(s) if (200..300).contains(&s) => Robots::parse(
                    &String::from_utf8_lossy(answer.body.as_deref().unwrap_or_default()),
                    "leadpipe",
                ),
                // RFC 9309: "unavailable" (4xx) allows; 429 is a rate limit, not a
                // missing file, so it counts as unreachable. A redirect we do not
                // follow for robots.txt counts as unreachable too.
                Some(s) if (400..500).contains(&s) && s != 429 => Robots::allow_all(),
                _ => Robots::disallow_all(),
            };
            state.robots.insert(origin.clone(), robots);
        }
        let mut path = parsed.path().to_string();
        if let Some(q) = parsed.query() {
            path.push('?');
            path.push_str(q);
        }
        if !state.robots.get(&origin).is_some_and(|r| r.allows(&path)) {
            self.log.lock().await.disallowed.push(url.to_string());
            return Fetched::page(page_error(url, DISALLOWED));
        }
        self.polite_get(settings, url, state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_longest_match_and_fallbacks() {
        let r = Robots::parse(
            "User-agent: *\nDisallow: /private\nAllow: /private/open\n\nUser-agent: OtherBot\nDisallow: /\n",
            "leadpipe",
        );
        assert!(r.allows("/catalog?page=2"));
        assert!(!r.allows("/private/x"));
        assert!(r.allows("/private/open/1"));
        let ours = Robots::parse("User-agent: leadpipe\nDisallow: /*.pdf$\n", "leadpipe");
        assert!(!ours.allows("/files/a.pdf"));
        assert!(ours.allows("/files/a.pdf?x"));
        assert!(!Robots::disallow_all().allows("/"));
        // Percent-encoding: the same path either way; a BOM does not hide the first line.
        let cyr = Robots::parse("\u{feff}User-agent: *\nDisallow: /поиск\n", "leadpipe");
        assert!(!cyr.allows("/%d0%bf%d0%be%d0%b8%d1%81%d0%ba?q=1"));
        assert!(cyr.allows("/catalog"));
        // Only our exact product token picks a group.
        let other = Robots::parse("User-agent: lead\nDisallow: /\n", "leadpipe");
        assert!(other.allows("/x"));
        // Many stars do not hang the matcher.
        let stars = format!("User-agent: *\nDisallow: /{}x$\n", "*".repeat(200));
        assert!(Robots::parse(&stars, "leadpipe").allows(&format!("/{}", "a".repeat(5000))));
        assert!(Robots::allow_all().allows("/anything"));
    }
}
