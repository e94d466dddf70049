//! Fetching directory pages as a good citizen of the web: robots.txt obeyed (RFC 9309: a
//! 4xx robots.txt allows everything, a 5xx or an unreachable one disallows everything),
//! one request at a time per host with a delay between them, a bound on concurrency over
//! all hosts, an honest User-Agent with a contact, retries with exponential backoff and
//! jitter on 429 and 5xx that honour `Retry-After` (up to a bound), timeouts, a size limit,
//! a bound on redirects and a time budget for the whole run. Pagination follows a next-link
//! selector or a URL pattern with page numbers.
//!
//! Nothing is dropped silently: a page that was not fetched (the time budget or `max_pages`
//! ran out, its host asked to wait too long) comes back as a [`Page`] whose error starts
//! with [`NOT_FETCHED`]. A followed redirect hop comes back too (it is kept in `pages`), with
//! `redirect_to` set and no error; the page it leads to stands for it.
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
    /// Longest wait a `Retry-After` is honoured for (default 30 s). A host asking for longer
    /// is not retried: the page fails with the reason, and the host's other pages are left
    /// for the next run (recorded as not fetched).
    pub max_retry_after_seconds: u64,
    /// Time budget of the whole crawl of a source, waits and retries included (default
    /// 600 s). When it runs out, requests in flight are abandoned and the pages not yet
    /// fetched are recorded as not fetched, with the reason; the run goes on with the pages
    /// it has.
    pub max_total_seconds: u64,
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
            max_retry_after_seconds: 30,
            max_total_seconds: 600,
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
    /// URLs not fetched because of `max_pages`, the time budget or a host that asked to wait
    /// too long (each is also a page with a [`NOT_FETCHED`] error).
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

/// When the run's time budget (`max_total_seconds`) runs out.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    /// `None`: a budget too large to be a point in time, i.e. none.
    at: Option<Instant>,
    seconds: u64,
}

impl Deadline {
    fn starting_now(seconds: u64) -> Self {
        Deadline {
            at: Instant::now().checked_add(Duration::from_secs(seconds)),
            seconds,
        }
    }

    /// Time left (`Duration::MAX` without a budget).
    fn left(&self) -> Duration {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::MAX)
    }

    fn passed(&self) -> bool {
        self.left().is_zero()
    }

    fn reason(&self) -> String {
        format!(
            "the run's time budget ran out (max_total_seconds = {})",
            self.seconds
        )
    }
}

async fn crawl_async(
    settings: &FetchSettings,
    cached: &HashMap<String, Page>,
    refresh: bool,
) -> Result<(Vec<Page>, CrawlLog), String> {
    let deadline = Deadline::starting_now(settings.max_total_seconds);
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
        let settings = settings.clone();
        let cached: HashMap<String, Page> = cached
            .iter()
            .filter(|(u, _)| reqwest::Url::parse(u).is_ok_and(|p| host_key(&p) == host))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let run = HostRun {
            client: client.clone(),
            next_sel: next_sel.clone(),
            refresh,
            semaphore: semaphore.clone(),
            log: log.clone(),
            budget: budget.clone(),
            deadline,
        };
        tasks.push(tokio::spawn(async move {
            run.crawl_host(&settings, queue, &cached).await
        }));
    }
    let mut pages = Vec::new();
    for t in tasks {
        pages.extend(t.await.map_err(|e| format!("a crawl task failed: {e}"))?);
    }
    let mut log = log.lock().await.clone();
    log.skipped = pages
        .iter()
        .filter(|p| {
            p.error
                .as_deref()
                .is_some_and(|e| e.starts_with(NOT_FETCHED))
        })
        .count();
    Ok((pages, log))
}

/// What one host's crawl shares with the others.
struct HostRun {
    client: reqwest::Client,
    next_sel: Option<Selector>,
    refresh: bool,
    semaphore: Arc<tokio::sync::Semaphore>,
    log: Arc<tokio::sync::Mutex<CrawlLog>>,
    /// Pages left under `max_pages`, over all hosts.
    budget: Arc<std::sync::atomic::AtomicU32>,
    deadline: Deadline,
}

impl HostRun {
    /// Records `url` and everything left in `queue` (once each) as not fetched, for `reason`.
    fn give_up_rest(
        pages: &mut Vec<Page>,
        url: Option<String>,
        queue: &mut VecDeque<String>,
        seen: &HashSet<String>,
        reason: &str,
    ) {
        let mut listed: HashSet<String> = HashSet::new();
        let left: Vec<String> = url
            .into_iter()
            .chain(queue.drain(..))
            .filter(|u| !seen.contains(u) && listed.insert(u.clone()))
            .collect();
        if left.is_empty() {
            return;
        }
        tracing::warn!(left = left.len(), reason, "pages not fetched");
        for u in left {
            pages.push(page_error(&u, &format!("{NOT_FETCHED}: {reason}")));
        }
    }

    async fn crawl_host(
        &self,
        settings: &FetchSettings,
        mut queue: VecDeque<String>,
        cached: &HashMap<String, Page>,
    ) -> Vec<Page> {
        let mut state = HostState {
            robots: HashMap::new(),
            last_request: None,
        };
        let mut seen: HashSet<String> = HashSet::new();
        // The redirect hops that led to a URL, in order.
        let mut chains: HashMap<String, Vec<String>> = HashMap::new();
        let mut pages = Vec::new();
        while let Some(url) = queue.pop_front() {
            if seen.contains(&url) {
                continue;
            }
            if self.deadline.passed() {
                let reason = self.deadline.reason();
                Self::give_up_rest(&mut pages, Some(url), &mut queue, &seen, &reason);
                break;
            }
            if self
                .budget
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |b| b.checked_sub(1),
                )
                .is_err()
            {
                let reason = format!("max_pages ({}) reached", settings.max_pages);
                Self::give_up_rest(&mut pages, Some(url), &mut queue, &seen, &reason);
                break;
            }
            seen.insert(url.clone());
            let via = chains.get(&url).cloned().unwrap_or_default();
            let Ok(parsed) = reqwest::Url::parse(&url) else {
                pages.push(page_error(&url, "not a URL"));
                continue;
            };
            let fetched = match cached.get(&url).filter(|_| !self.refresh) {
                Some(p) => Fetched::page(Page {
                    from_cache: true,
                    ..p.clone()
                }),
                None => {
                    self.robots_then_get(settings, &url, &parsed, &mut state)
                        .await
                }
            };
            let Fetched {
                mut page,
                leave_host,
            } = fetched;
            // A page reached by redirects says so, since the hops are no rows of their own.
            if let (Some(e), Some(first), None) = (&page.error, via.first(), &page.redirect_to) {
                page.error = Some(format!("{e} (reached by redirects from {first})"));
            }
            // A host that asked us to wait longer than we may: leave it alone for this run.
            if let Some(reason) = leave_host {
                pages.push(page);
                Self::give_up_rest(&mut pages, None, &mut queue, &seen, &reason);
                break;
            }
            // Redirects: the target is queued next, so it gets the delay and robots.txt like
            // any other page; loops end at a page already seen, chains at `max_redirects`.
            if let Some(target) = page.redirect_to.clone().filter(|_| page.error.is_none()) {
                let mut chain = via;
                chain.push(url.clone());
                let same_host =
                    reqwest::Url::parse(&target).is_ok_and(|t| host_key(&t) == host_key(&parsed));
                let problem = if chain.len() > settings.max_redirects {
                    Some(format!(
                        "too many redirects (more than {})",
                        settings.max_redirects
                    ))
                } else if seen.contains(&target) || chain.contains(&target) {
                    Some("redirect loop".to_string())
                } else if !same_host {
                    Some("redirect to another host not followed".to_string())
                } else {
                    None
                };
                match problem {
                    Some(p) => {
                        chain.push(target);
                        pages.push(Page {
                            error: Some(format!("{p}: {}", chain.join(" → "))),
                            ..page
                        })
                    }
                    None => {
                        chains.insert(target.clone(), chain);
                        queue.push_front(target);
                        pages.push(page);
                    }
                }
                continue;
            }
            if let (Some(sel), true) = (&self.next_sel, page.is_html()) {
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

    /// robots.txt for the URL's origin (read once per run), then the page if allowed.
    async fn robots_then_get(
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

    /// One GET with the host's pacing, the global bound, retries, the size limit and the
    /// run's time budget.
    async fn polite_get(
        &self,
        settings: &FetchSettings,
        url: &str,
        state: &mut HostState,
    ) -> Fetched {
        let out_of_time = || {
            Fetched::page(page_error(
                url,
                &format!("{NOT_FETCHED}: {}", self.deadline.reason()),
            ))
        };
        let mut attempt = 0u32;
        loop {
            if let Some(last) = state.last_request {
                let wait = Duration::from_millis(settings.delay_ms).saturating_sub(last.elapsed());
                if wait >= self.deadline.left() {
                    return out_of_time();
                }
                tokio::time::sleep(wait).await;
            }
            let Ok(permit) =
                tokio::time::timeout(self.deadline.left(), self.semaphore.acquire()).await
            else {
                return out_of_time();
            };
            if self.deadline.passed() {
                return out_of_time();
            }
            let sent = Instant::now();
            state.last_request = Some(sent);
            let result = match tokio::time::timeout(
                self.deadline.left(),
                get_once(&self.client, settings, url),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Err((
                    format!("abandoned during the request: {}", self.deadline.reason()),
                    false,
                )),
            };
            drop(permit);
            let outcome = match &result {
                Ok(p) => p
                    .status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| p.error.clone().unwrap_or_default()),
                Err((e, _)) => e.clone(),
            };
            self.log
                .lock()
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
            // How the last answer reads when it is given up on.
            let failed = |result: Result<Page, (String, bool)>, why: String| match result {
                Ok(p) => Page {
                    error: Some(format!(
                        "HTTP {}{why}",
                        p.status.map(|s| s.to_string()).unwrap_or_default()
                    )),
                    ..p
                },
                Err((e, _)) => page_error(url, &format!("{e}{why}")),
            };
            match retry_after {
                Some(asked) if attempt < settings.retries => {
                    let wait = match asked {
                        Some(secs) if secs > settings.max_retry_after_seconds => {
                            let leave = format!(
                                "the host asked to wait {secs} s (Retry-After), longer than \
                                 max_retry_after_seconds = {}",
                                settings.max_retry_after_seconds
                            );
                            return Fetched {
                                page: failed(
                                    result,
                                    format!(", not retried: Retry-After {secs} s is longer than max_retry_after_seconds = {}; the host's other pages are left for the next run", settings.max_retry_after_seconds),
                                ),
                                leave_host: Some(leave),
                            };
                        }
                        Some(secs) => Duration::from_secs(secs),
                        None => backoff(settings.delay_ms, attempt + 1, url),
                    };
                    if wait >= self.deadline.left() {
                        return Fetched::page(failed(
                            result,
                            format!(
                                ", not retried: waiting {:.1} s would pass the run's time budget (max_total_seconds = {})",
                                wait.as_secs_f64(),
                                self.deadline.seconds
                            ),
                        ));
                    }
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    // Retries used up while the host still asks to wait: its other pages
                    // are left for the next run too, not sent at once.
                    let leave_host = match retry_after {
                        Some(Some(secs)) => Some(format!(
                            "the host asked to wait {secs} s (Retry-After) and the retries were used up"
                        )),
                        _ => None,
                    };
                    return Fetched {
                        page: match result {
                            Ok(mut p) => {
                                if let Some(s) = p.status.filter(|s| *s == 429 || *s >= 500) {
                                    p.error =
                                        Some(format!("HTTP {s}, still after {attempt} retries"));
                                }
                                p
                            }
                            Err((e, _)) => page_error(url, &e),
                        },
                        leave_host,
                    };
                }
            }
        }
    }
}

/// A page, and whether its host should be left alone for the rest of the run (why).
struct Fetched {
    page: Page,
    leave_host: Option<String>,
}

impl Fetched {
    fn page(page: Page) -> Self {
        Fetched {
            page,
            leave_host: None,
        }
    }
}

/// The error of a page that is not fetched at all (time budget, `max_pages`, a host that
/// asked to wait too long) starts with this.
pub const NOT_FETCHED: &str = "not fetched";
/// The error of a page robots.txt disallows starts with this.
pub const DISALLOWED: &str = "disallowed by robots.txt";

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

/// What went wrong with a request, in words a reviewer can act on, with the cause found
/// deepest in the error's chain (hyper's or the OS's own words).
fn describe_error(e: &reqwest::Error, settings: &FetchSettings, reading_body: bool) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut parse_error = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            parse_error |= h.is_parse();
        }
        let text = s.to_string();
        // Wrappers repeat their inner error's words; keep each wording once.
        if !text.is_empty() && !causes.iter().any(|c| c.contains(&text)) {
            causes.retain(|c| !text.contains(c.as_str()));
            causes.push(text);
        }
        source = s.source();
    }
    let root = causes.last().cloned().unwrap_or_else(|| e.to_string());
    let secs = settings.timeout_seconds;
    if e.is_timeout() {
        if reading_body || e.is_body() || e.is_decode() {
            format!("timed out reading the response body after {secs} s")
        } else {
            format!("timed out after {secs} s waiting for the server to answer")
        }
    } else if e.is_redirect() {
        format!("too many redirects (more than {})", settings.max_redirects)
    } else if parse_error {
        format!("the server sent an invalid or oversized response head ({root})")
    } else if e.is_connect() {
        format!("cannot connect to the server ({root})")
    } else if reading_body || e.is_body() || e.is_decode() {
        format!("the response body could not be read ({root})")
    } else {
        format!("the request failed ({root})")
    }
}

/// One request. Err((message, retryable)).
async fn get_once(
    client: &reqwest::Client,
    settings: &FetchSettings,
    url: &str,
) -> Result<Page, (String, bool)> {
    let mut resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| (describe_error(&e, settings, false), !e.is_redirect()))?;
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
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| (describe_error(&e, settings, true), true))?
    {
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
