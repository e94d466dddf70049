//! Fetching directory pages as a good citizen of the web: robots.txt obeyed (RFC 9309: a
//! 4xx robots.txt allows everything, a 5xx or an unreachable one disallows everything),
//! one request at a time per host with a delay between them, a bound on concurrency over
//! all hosts, an honest User-Agent with a contact, retries with exponential backoff and
//! jitter on 429 and 5xx that honour `Retry-After`, timeouts, a size limit and a bound on
//! redirects. Pagination follows a next-link selector or a URL pattern with page numbers.
//!
//! Sources do not know DuckDB: the caller passes pages it already has (the cache) and
//! stores what comes back.

use scraper::{Html, Selector};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to crawl (`[sources.fetch]` in the pipeline file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchSettings {
    /// Start pages.
    pub urls: Vec<String>,
    /// CSS selector of the link to the next page.
    pub next: Option<String>,
    /// A URL with `{page}`, fetched for pages `first_page..=last_page`.
    pub url_pattern: Option<String>,
    pub first_page: u32,
    pub last_page: u32,
    /// At most this many pages per source per run.
    pub max_pages: u32,
    /// Pause between two requests to the same host.
    pub delay_ms: u64,
    /// Requests in flight over all hosts.
    pub concurrency: usize,
    pub timeout_seconds: u64,
    /// Pages larger than this are not kept (the error is).
    pub max_bytes: usize,
    pub max_redirects: usize,
    /// Retries after a 429 or 5xx (or a network error).
    pub retries: u32,
    /// Longest wait a `Retry-After` may ask for; longer asks give up on the page.
    pub max_retry_after_seconds: u64,
    /// Who to contact about the crawler (a URL or an e-mail), sent in the User-Agent.
    pub contact: String,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            urls: Vec::new(),
            next: None,
            url_pattern: None,
            first_page: 1,
            last_page: 1,
            max_pages: 100,
            delay_ms: 1000,
            concurrency: 4,
            timeout_seconds: 20,
            max_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            retries: 3,
            max_retry_after_seconds: 120,
            contact: "set [sources.fetch] contact in the pipeline file".into(),
        }
    }
}

impl FetchSettings {
    pub fn user_agent(&self) -> String {
        format!(
            "leadpipe/{} (lead directory reader; +{})",
            env!("CARGO_PKG_VERSION"),
            self.contact
        )
    }

    /// The first pages to fetch.
    fn seeds(&self) -> Vec<String> {
        let mut out = self.urls.clone();
        if let Some(p) = &self.url_pattern {
            let last = self
                .last_page
                .max(self.first_page)
                .min(self.first_page.saturating_add(self.max_pages));
            for n in self.first_page..=last {
                out.push(p.replace("{page}", &n.to_string()));
            }
        }
        out.truncate(self.max_pages as usize);
        out
    }
}

/// One page as fetched (or as the cache had it).
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub url: String,
    /// HTTP status; `None` when there was no answer (robots, network, too big).
    pub status: Option<u16>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
    /// Why the page has no usable body, if it has none.
    pub error: Option<String>,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    pub from_cache: bool,
    /// `Location` of a 3xx answer (redirects are followed by the crawler, politely).
    pub redirect_to: Option<String>,
}

impl Page {
    pub fn is_html(&self) -> bool {
        self.body.is_some()
            && self.status.is_some_and(|s| (200..300).contains(&s))
            && self
                .content_type
                .as_deref()
                .is_none_or(|c| c.contains("html"))
    }
}

/// What the crawl did, request by request (tests check order and pace with it).
#[derive(Debug, Clone, Default)]
pub struct CrawlLog {
    /// (url, when the request was sent, status or error).
    pub requests: Vec<(String, Instant, String)>,
    pub disallowed: Vec<String>,
    /// URLs not fetched because of `max_pages` or a host that asked to wait too long.
    pub skipped: usize,
}

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

/// Politeness is per host name, whatever the scheme or port.
fn host_key(url: &reqwest::Url) -> String {
    url.host_str().unwrap_or("").to_ascii_lowercase()
}

/// A URL without its fragment (`#top` is the same page).
fn canonical(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    u.to_string()
}

/// Crawls from the settings' start pages. `cached` pages are used instead of fetching
/// (unless `refresh`); next links are followed on cached pages too.
pub fn crawl(
    settings: &FetchSettings,
    cached: &HashMap<String, Page>,
    refresh: bool,
) -> Result<(Vec<Page>, CrawlLog), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    runtime.block_on(crawl_async(settings, cached, refresh))
}

struct HostState {
    /// robots.txt per origin (scheme, host, port), read once per run.
    robots: HashMap<String, Robots>,
    last_request: Option<Instant>,
}

async fn crawl_async(
    settings: &FetchSettings,
    cached: &HashMap<String, Page>,
    refresh: bool,
) -> Result<(Vec<Page>, CrawlLog), String> {
    let client = reqwest::Client::builder()
        .user_agent(settings.user_agent())
        .timeout(Duration::from_secs(settings.timeout_seconds))
        // Redirects are followed by the crawler, hop by hop, with the delay and robots.txt.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let next_sel = match &settings.next {
        Some(css) => Some(
            Selector::parse(css)
                .map_err(|e| format!("fetch.next: {css:?} is not a CSS selector ({e:?})"))?,
        ),
        None => None,
    };
    // Hosts are crawled concurrently (bounded); each host's queue is worked one request
    // at a time, so the per-host delay holds without coordination.
    let mut per_host: BTreeMap<String, VecDeque<String>> = BTreeMap::new();
    for u in settings.seeds() {
        let parsed = reqwest::Url::parse(&u).map_err(|e| format!("{u:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("{u:?}: only http and https pages are fetched"));
        }
        let u = canonical(&parsed);
        per_host.entry(host_key(&parsed)).or_default().push_back(u);
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(settings.concurrency.max(1)));
    let log = Arc::new(tokio::sync::Mutex::new(CrawlLog::default()));
    let budget = Arc::new(std::sync::atomic::AtomicU32::new(settings.max_pages));
    let mut tasks = Vec::new();
    for (host, queue) in per_host {
        let client = client.clone();
        let settings = settings.clone();
        let next_sel = next_sel.clone();
        let semaphore = semaphore.clone();
        let log = log.clone();
        let budget = budget.clone();
        let cached: HashMap<String, Page> = cached
            .iter()
            .filter(|(u, _)| reqwest::Url::parse(u).is_ok_and(|p| host_key(&p) == host))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tasks.push(tokio::spawn(async move {
            crawl_host(
                &client, &settings, queue, next_sel, &cached, refresh, &semaphore, &log, &budget,
            )
            .await
        }));
    }
    let mut pages = Vec::new();
    for t in tasks {
        pages.extend(t.await.map_err(|e| format!("a crawl task failed: {e}"))?);
    }
    let log = log.lock().await.clone();
    Ok((pages, log))
}

#[allow(clippy::too_many_arguments)]
async fn crawl_host(
    client: &reqwest::Client,
    settings: &FetchSettings,
    mut queue: VecDeque<String>,
    next_sel: Option<Selector>,
    cached: &HashMap<String, Page>,
    refresh: bool,
    semaphore: &tokio::sync::Semaphore,
    log: &tokio::sync::Mutex<CrawlLog>,
    budget: &std::sync::atomic::AtomicU32,
) -> Vec<Page> {
    let mut state = HostState {
        robots: HashMap::new(),
        last_request: None,
    };
    let mut seen: HashSet<String> = HashSet::new();
    // How many redirect hops led to a URL.
    let mut hops: HashMap<String, usize> = HashMap::new();
    let mut pages = Vec::new();
    while let Some(url) = queue.pop_front() {
        if !seen.insert(url.clone()) {
            continue;
        }
        if budget
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |b| b.checked_sub(1),
            )
            .is_err()
        {
            let left = queue.len() + 1;
            log.lock().await.skipped += left;
            tracing::warn!(
                url,
                left,
                "max_pages reached; the rest of this host is not fetched"
            );
            break;
        }
        let Ok(parsed) = reqwest::Url::parse(&url) else {
            pages.push(page_error(&url, "not a URL"));
            continue;
        };
        let page = match cached.get(&url).filter(|_| !refresh) {
            Some(p) => Page {
                from_cache: true,
                ..p.clone()
            },
            None => {
                let origin = origin_of(&parsed);
                if !state.robots.contains_key(&origin) {
                    let robots_url = format!("{origin}/robots.txt");
                    let answer =
                        polite_get(client, settings, &robots_url, &mut state, semaphore, log).await;
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
                    log.lock().await.disallowed.push(url.clone());
                    pages.push(page_error(&url, DISALLOWED));
                    continue;
                }
                polite_get(client, settings, &url, &mut state, semaphore, log).await
            }
        };
        // A host that asked us to wait longer than we may: leave it alone for this run.
        if page
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with(WAIT_TOO_LONG))
        {
            let left = queue.len();
            log.lock().await.skipped += left;
            pages.push(page);
            break;
        }
        // Redirects: the target is queued next, so it gets the delay and robots.txt like
        // any other page; loops end at a page already seen, chains at `max_redirects`.
        if let Some(target) = page.redirect_to.clone() {
            let depth = hops.get(&url).copied().unwrap_or(0) + 1;
            let same_host =
                reqwest::Url::parse(&target).is_ok_and(|t| host_key(&t) == host_key(&parsed));
            let problem = if depth > settings.max_redirects {
                Some(format!(
                    "too many redirects (more than {})",
                    settings.max_redirects
                ))
            } else if seen.contains(&target) {
                Some(format!("redirect loop back to {target}"))
            } else if !same_host {
                Some(format!("redirect to another host ({target}) not followed"))
            } else {
                None
            };
            match problem {
                Some(p) => pages.push(Page {
                    error: Some(p),
                    ..page
                }),
                None => {
                    hops.insert(target.clone(), depth);
                    queue.push_front(target);
                    pages.push(page);
                }
            }
            continue;
        }
        if let (Some(sel), true) = (&next_sel, page.is_html()) {
            let body = decode_body(&page);
            let doc = Html::parse_document(&body);
            if let Some(href) = doc.select(sel).find_map(|a| a.value().attr("href")) {
                if let Ok(next) = parsed.join(href) {
                    let next_url = canonical(&next);
                    if host_key(&next) == host_key(&parsed) && !seen.contains(&next_url) {
                        queue.push_back(next_url);
                    }
                }
            }
        }
        pages.push(page);
    }
    pages
}

const DISALLOWED: &str = "disallowed by robots.txt";
const WAIT_TOO_LONG: &str = "the host asked to wait";

/// A page's text in its declared (or detected) encoding: `.ru` directories are often
/// windows-1251.
pub fn decode_body(page: &Page) -> String {
    let bytes = page.body.as_deref().unwrap_or_default();
    let label = page
        .content_type
        .as_deref()
        .and_then(|c| c.split(';').find_map(|p| p.trim().strip_prefix("charset=")))
        .map(|l| l.trim_matches('"').to_string());
    match crate::sources::text::decode(std::path::Path::new(&page.url), bytes, label.as_deref()) {
        Ok(d) => d.text,
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// One GET with the host's pacing, the global bound, retries and the size limit.
async fn polite_get(
    client: &reqwest::Client,
    settings: &FetchSettings,
    url: &str,
    state: &mut HostState,
    semaphore: &tokio::sync::Semaphore,
    log: &tokio::sync::Mutex<CrawlLog>,
) -> Page {
    let mut attempt = 0u32;
    loop {
        if let Some(last) = state.last_request {
            let wait = Duration::from_millis(settings.delay_ms).saturating_sub(last.elapsed());
            tokio::time::sleep(wait).await;
        }
        let permit = semaphore.acquire().await;
        let sent = Instant::now();
        state.last_request = Some(sent);
        let result = get_once(client, settings, url).await;
        drop(permit);
        let outcome = match &result {
            Ok(p) => p
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| p.error.clone().unwrap_or_default()),
            Err((e, _)) => e.clone(),
        };
        log.lock()
            .await
            .requests
            .push((url.to_string(), sent, outcome));
        let retry_after = match &result {
            Ok(p)
                if p.status
                    .is_some_and(|s| s == 429 || (500..600).contains(&s)) =>
            {
                Some(p.error.as_deref().and_then(parse_retry_after))
            }
            Err((_, true)) => Some(None),
            _ => None,
        };
        match retry_after {
            Some(asked) if attempt < settings.retries => {
                attempt += 1;
                let wait = match asked {
                    Some(secs) if secs > settings.max_retry_after_seconds => {
                        return page_error(
                            url,
                            &format!(
                                "{WAIT_TOO_LONG} {secs} s, longer than the {} s allowed; the host is left alone this run",
                                settings.max_retry_after_seconds
                            ),
                        );
                    }
                    Some(secs) => Duration::from_secs(secs),
                    None => backoff(settings.delay_ms, attempt, url),
                };
                tokio::time::sleep(wait).await;
            }
            _ => {
                return match result {
                    Ok(mut p) => {
                        if let Some(s) = p.status.filter(|s| *s == 429 || *s >= 500) {
                            p.error = Some(format!("HTTP {s}, still after {attempt} retries"));
                        }
                        p
                    }
                    Err((e, _)) => page_error(url, &e),
                }
            }
        }
    }
}

/// Exponential backoff from the host delay, with jitter (so retries of many pages do not
/// arrive together).
fn backoff(delay_ms: u64, attempt: u32, url: &str) -> Duration {
    let base = delay_ms
        .max(100)
        .saturating_mul(2u64.saturating_pow(attempt.saturating_sub(1)))
        .min(600_000);
    let seed = url
        .bytes()
        .fold(u64::from(attempt).wrapping_mul(0x9E37_79B9), |h, b| {
            h.rotate_left(5) ^ u64::from(b)
        })
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
    Duration::from_millis(base + seed % (base / 2 + 1))
}

/// `Retry-After` as seconds (delta-seconds or an HTTP date).
fn parse_retry_after(v: &str) -> Option<u64> {
    let v = v.trim().strip_prefix("retry-after:")?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs);
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some(
        (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .num_seconds()
            .max(0) as u64,
    )
}

fn page_error(url: &str, e: &str) -> Page {
    Page {
        url: url.to_string(),
        status: None,
        content_type: None,
        body: None,
        error: Some(e.to_string()),
        fetched_at: chrono::Utc::now(),
        from_cache: false,
        redirect_to: None,
    }
}

/// One request. Err((message, retryable)).
async fn get_once(
    client: &reqwest::Client,
    settings: &FetchSettings,
    url: &str,
) -> Result<Page, (String, bool)> {
    let mut resp = client.get(url).send().await.map_err(|e| {
        let msg = if e.is_redirect() {
            format!("too many redirects (more than {})", settings.max_redirects)
        } else if e.is_timeout() {
            format!("timed out after {} s", settings.timeout_seconds)
        } else {
            e.to_string()
        };
        (msg, !e.is_redirect())
    })?;
    let status = resp.status().as_u16();
    let redirect_to = resp
        .status()
        .is_redirection()
        .then(|| {
            resp.headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| reqwest::Url::parse(url).ok()?.join(loc).ok())
                .map(|u| canonical(&u))
        })
        .flatten();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("retry-after: {v}"));
    if resp
        .content_length()
        .is_some_and(|n| n as usize > settings.max_bytes)
    {
        return Ok(Page {
            status: Some(status),
            content_type,
            ..page_error(
                url,
                &format!("page larger than {} bytes", settings.max_bytes),
            )
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| (e.to_string(), true))? {
        if body.len() + chunk.len() > settings.max_bytes {
            return Ok(Page {
                status: Some(status),
                content_type,
                ..page_error(
                    url,
                    &format!("page larger than {} bytes", settings.max_bytes),
                )
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Page {
        url: url.to_string(),
        status: Some(status),
        content_type,
        body: Some(body),
        // Kept only where it matters: a 429 or 5xx, for the retry loop.
        error: retry_after.filter(|_| status == 429 || status >= 500),
        fetched_at: chrono::Utc::now(),
        from_cache: false,
        redirect_to,
    })
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

    #[test]
    fn url_patterns_make_numbered_pages() {
        let s = FetchSettings {
            urls: vec!["https://a.ru/start".into()],
            url_pattern: Some("https://a.ru/catalog?page={page}".into()),
            first_page: 2,
            last_page: 4,
            ..FetchSettings::default()
        };
        assert_eq!(
            s.seeds(),
            vec![
                "https://a.ru/start",
                "https://a.ru/catalog?page=2",
                "https://a.ru/catalog?page=3",
                "https://a.ru/catalog?page=4"
            ]
        );
        assert!(s.user_agent().starts_with("leadpipe/"));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("retry-after: 7"), Some(7));
        assert_eq!(parse_retry_after("retry-after: soon"), None);
        assert_eq!(
            parse_retry_after("retry-after: Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(0)
        );
    }

    #[test]
    fn backoff_grows_with_jitter() {
        let a = backoff(200, 1, "u");
        let b = backoff(200, 3, "u");
        assert!(a >= Duration::from_millis(200) && a <= Duration::from_millis(300));
        assert!(b >= Duration::from_millis(800) && b <= Duration::from_millis(1200));
    }
}
