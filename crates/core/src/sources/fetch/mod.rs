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
//!
//! `settings` holds what the pipeline file says, `robots` reads robots.txt and keeps to it,
//! `crawl` works the hosts' queues (redirects, next links, the page budget), `polite` paces
//! and retries each request within the time budget, and `http` makes one request and reads
//! its answer.

mod crawl;
mod http;
mod polite;
mod robots;
mod settings;

pub use crawl::crawl;
pub use http::decode_body;
pub use robots::Robots;
pub use settings::FetchSettings;

use std::time::Instant;

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

/// The error of a page that is not fetched at all (time budget, `max_pages`, a host that
/// asked to wait too long) starts with this.
pub const NOT_FETCHED: &str = "not fetched";
/// The error of a page robots.txt disallows starts with this.
pub const DISALLOWED: &str = "disallowed by robots.txt";

/// A page with no answer, only the reason (not fetched, refused, or the request failed).
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
