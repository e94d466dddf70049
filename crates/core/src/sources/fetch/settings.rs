//! What the pipeline file says about a crawl (`[sources.fetch]`), with the defaults, the
//! User-Agent it makes and the start pages it lists.

use serde::Deserialize;

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
    pub(super) fn seeds(&self) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
