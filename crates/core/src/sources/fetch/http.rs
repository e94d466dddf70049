//! One request and its answer: the client's settings, the GET with its size limit, the
//! error in words a reviewer can act on, and a body decoded in its charset.

use super::crawl::canonical;
use super::{page_error, FetchSettings, Page};
use std::time::Duration;

/// One request's outcome: the page (any status), or (what went wrong, whether a retry may
/// help).
pub(super) type Answer = Result<Page, (String, bool)>;

/// The crawl's HTTP client: our User-Agent, the request timeout, and no redirects of its own.
pub(super) fn client(settings: &FetchSettings) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(settings.user_agent())
        .timeout(Duration::from_secs(settings.timeout_seconds))
        // Redirects are followed by the crawler, hop by hop, with the delay and robots.txt.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

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
pub(super) async fn get_once(
    client: &reqwest::Client,
    settings: &FetchSettings,
    url: &str,
) -> Answer {
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
