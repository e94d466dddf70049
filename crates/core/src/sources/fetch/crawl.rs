//! The crawl: start pages grouped by host, hosts crawled concurrently (bounded), each host's
//! queue worked one page at a time so its delay holds without coordination. Redirects and
//! next links are queued like any page; the page budget (`max_pages`) and the time budget
//! end the crawl with the pages left recorded as not fetched.

use super::http::{client, decode_body};
use super::polite::Fetched;
use super::{page_error, CrawlLog, FetchSettings, Page, Robots, NOT_FETCHED};
use scraper::{Html, Selector};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Politeness is per host name, whatever the scheme or port.
fn host_key(url: &reqwest::Url) -> String {
    url.host_str().unwrap_or("").to_ascii_lowercase()
}

/// A URL without its fragment (`#top` is the same page).
pub(super) fn canonical(url: &reqwest::Url) -> String {
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

/// What one host's requests have learnt so far.
pub(super) struct HostState {
    /// robots.txt per origin (scheme, host, port), read once per run.
    pub(super) robots: HashMap<String, Robots>,
    pub(super) last_request: Option<Instant>,
}

/// When the run's time budget (`max_total_seconds`) runs out.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    /// `None`: a budget too large to be a point in time, i.e. none.
    at: Option<Instant>,
    pub(super) seconds: u64,
}

impl Deadline {
    fn starting_now(seconds: u64) -> Self {
        Deadline {
            at: Instant::now().checked_add(Duration::from_secs(seconds)),
            seconds,
        }
    }

    /// Time left (`Duration::MAX` without a budget).
    pub(super) fn left(&self) -> Duration {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::MAX)
    }

    pub(super) fn passed(&self) -> bool {
        self.left().is_zero()
    }

    pub(super) fn reason(&self) -> String {
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
    let client = client(settings)?;
    let next_sel = match &settings.next {
        Some(css) => Some(
            Selector::parse(css)
                .map_err(|e| format!("fetch.next: {css:?} is not a CSS selector ({e:?})"))?,
        ),
        None => None,
    };
    let per_host = queues_by_host(settings)?;
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

/// The start pages, by host. Hosts are crawled concurrently (bounded); each host's queue
/// is worked one request at a time, so the per-host delay holds without coordination.
fn queues_by_host(settings: &FetchSettings) -> Result<BTreeMap<String, VecDeque<String>>, String> {
    let mut per_host: BTreeMap<String, VecDeque<String>> = BTreeMap::new();
    for u in settings.seeds() {
        let parsed = reqwest::Url::parse(&u).map_err(|e| format!("{u:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("{u:?}: only http and https pages are fetched"));
        }
        let u = canonical(&parsed);
        per_host.entry(host_key(&parsed)).or_default().push_back(u);
    }
    Ok(per_host)
}

/// What one host's crawl shares with the others.
pub(super) struct HostRun {
    pub(super) client: reqwest::Client,
    next_sel: Option<Selector>,
    refresh: bool,
    pub(super) semaphore: Arc<tokio::sync::Semaphore>,
    pub(super) log: Arc<tokio::sync::Mutex<CrawlLog>>,
    /// Pages left under `max_pages`, over all hosts.
    budget: Arc<std::sync::atomic::AtomicU32>,
    pub(super) deadline: Deadline,
}

impl HostRun {
    /// Works one host's queue: each page from the cache or the host, its redirect or next
    /// link queued, until the queue is empty, a budget runs out or the host asks to be left
    /// alone.
    async fn crawl_host(
        &self,
        settings: &FetchSettings,
        queue: VecDeque<String>,
        cached: &HashMap<String, Page>,
    ) -> Vec<Page> {
        let mut state = HostState {
            robots: HashMap::new(),
            last_request: None,
        };
        let mut host = HostQueue {
            queue,
            seen: HashSet::new(),
            chains: HashMap::new(),
            pages: Vec::new(),
        };
        while let Some(url) = host.queue.pop_front() {
            if host.seen.contains(&url) {
                continue;
            }
            if let Some(reason) = self.stop_reason(settings) {
                host.give_up_rest(Some(url), &reason);
                break;
            }
            host.seen.insert(url.clone());
            let via = host.chains.get(&url).cloned().unwrap_or_default();
            let Ok(parsed) = reqwest::Url::parse(&url) else {
                host.pages.push(page_error(&url, "not a URL"));
                continue;
            };
            let Fetched {
                mut page,
                leave_host,
            } = self
                .fetch(settings, &url, &parsed, cached, &mut state)
                .await;
            // A page reached by redirects says so, since the hops are no rows of their own.
            if let (Some(e), Some(first), None) = (&page.error, via.first(), &page.redirect_to) {
                page.error = Some(format!("{e} (reached by redirects from {first})"));
            }
            // A host that asked us to wait longer than we may: leave it alone for this run.
            if let Some(reason) = leave_host {
                host.pages.push(page);
                host.give_up_rest(None, &reason);
                break;
            }
            if let Some(target) = page.redirect_to.clone().filter(|_| page.error.is_none()) {
                host.follow_redirect(settings, &url, &parsed, via, page, target);
                continue;
            }
            if let Some(next) = self
                .next_link(&page, &parsed)
                .filter(|next| !host.seen.contains(next))
            {
                host.queue.push_back(next);
            }
            host.pages.push(page);
        }
        host.pages
    }

    /// Why no more pages are fetched: the run's time budget ran out, or `max_pages` was
    /// reached. `None` takes one page of the budget for the next request.
    fn stop_reason(&self, settings: &FetchSettings) -> Option<String> {
        if self.deadline.passed() {
            return Some(self.deadline.reason());
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
            return Some(format!("max_pages ({}) reached", settings.max_pages));
        }
        None
    }

    /// The page as the cache has it (unless refreshing), else from the host.
    async fn fetch(
        &self,
        settings: &FetchSettings,
        url: &str,
        parsed: &reqwest::Url,
        cached: &HashMap<String, Page>,
        state: &mut HostState,
    ) -> Fetched {
        match cached.get(url).filter(|_| !self.refresh) {
            Some(p) => Fetched::page(Page {
                from_cache: true,
                ..p.clone()
            }),
            None => self.robots_then_get(settings, url, parsed, state).await,
        }
    }

    /// The link the `next` selector finds on an HTML page, when it stays on the host.
    fn next_link(&self, page: &Page, parsed: &reqwest::Url) -> Option<String> {
        let sel = self.next_sel.as_ref().filter(|_| page.is_html())?;
        let body = decode_body(page);
        let doc = Html::parse_document(&body);
        let href = doc.select(sel).find_map(|a| a.value().attr("href"))?;
        let next = parsed.join(href).ok()?;
        (host_key(&next) == host_key(parsed)).then(|| canonical(&next))
    }
}

/// One host's queue and what its crawl has found.
struct HostQueue {
    queue: VecDeque<String>,
    seen: HashSet<String>,
    /// The redirect hops that led to a URL, in order.
    chains: HashMap<String, Vec<String>>,
    pages: Vec<Page>,
}

impl HostQueue {
    /// Records `url` and everything left in the queue (once each) as not fetched, for
    /// `reason`.
    fn give_up_rest(&mut self, url: Option<String>, reason: &str) {
        let seen = &self.seen;
        let mut listed: HashSet<String> = HashSet::new();
        let left: Vec<String> = url
            .into_iter()
            .chain(self.queue.drain(..))
            .filter(|u| !seen.contains(u) && listed.insert(u.clone()))
            .collect();
        if left.is_empty() {
            return;
        }
        tracing::warn!(left = left.len(), reason, "pages not fetched");
        for u in left {
            self.pages
                .push(page_error(&u, &format!("{NOT_FETCHED}: {reason}")));
        }
    }

    /// Redirects: the target is queued next, so it gets the delay and robots.txt like any
    /// other page; loops end at a page already seen, chains at `max_redirects`. A redirect
    /// not followed is a failed page naming the hops.
    fn follow_redirect(
        &mut self,
        settings: &FetchSettings,
        url: &str,
        parsed: &reqwest::Url,
        via: Vec<String>,
        page: Page,
        target: String,
    ) {
        let mut chain = via;
        chain.push(url.to_string());
        match self.redirect_problem(settings, &chain, parsed, &target) {
            Some(p) => {
                chain.push(target);
                self.pages.push(Page {
                    error: Some(format!("{p}: {}", chain.join(" → "))),
                    ..page
                })
            }
            None => {
                self.chains.insert(target.clone(), chain);
                self.queue.push_front(target);
                self.pages.push(page);
            }
        }
    }

    /// Why a redirect along `chain` to `target` is not followed, if it is not.
    fn redirect_problem(
        &self,
        settings: &FetchSettings,
        chain: &[String],
        parsed: &reqwest::Url,
        target: &str,
    ) -> Option<String> {
        let same_host = reqwest::Url::parse(target).is_ok_and(|t| host_key(&t) == host_key(parsed));
        if chain.len() > settings.max_redirects {
            Some(format!(
                "too many redirects (more than {})",
                settings.max_redirects
            ))
        } else if self.seen.contains(target) || chain.iter().any(|hop| hop == target) {
            Some("redirect loop".to_string())
        } else if !same_host {
            Some("redirect to another host not followed".to_string())
        } else {
            None
        }
    }
}
