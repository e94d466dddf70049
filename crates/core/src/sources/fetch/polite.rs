//! Each request as a good citizen: the host's delay between requests, the bound on requests
//! in flight, retries on 429 and 5xx with exponential backoff or the host's `Retry-After`
//! (up to a bound), all within the run's time budget.

use super::crawl::{HostRun, HostState};
use super::http::{get_once, Answer};
use super::{page_error, FetchSettings, Page, NOT_FETCHED};
use std::time::{Duration, Instant};

impl HostRun {
    /// One GET with the host's pacing, the global bound, retries, the size limit and the
    /// run's time budget.
    pub(super) async fn polite_get(
        &self,
        settings: &FetchSettings,
        url: &str,
        state: &mut HostState,
    ) -> Fetched {
        let mut attempt = 0u32;
        loop {
            let Some(permit) = self.wait_turn(settings, state).await else {
                return self.out_of_time(url);
            };
            let sent = Instant::now();
            state.last_request = Some(sent);
            let result = self.send(settings, url).await;
            drop(permit);
            self.log_request(url, sent, &result).await;
            let retry_after = retry_after(&result);
            match retry_after {
                Some(asked) if attempt < settings.retries => {
                    match self.retry_wait(settings, url, asked, attempt) {
                        Ok(wait) => {
                            attempt += 1;
                            tokio::time::sleep(wait).await;
                        }
                        Err(NoRetry { why, leave_host }) => {
                            return Fetched {
                                page: given_up(url, result, &why),
                                leave_host,
                            };
                        }
                    }
                }
                _ => return last_answer(url, result, retry_after, attempt),
            }
        }
    }

    /// Waits out the host's delay since its last request, then for a slot under the bound on
    /// requests in flight. `None` when the run's time budget runs out first.
    async fn wait_turn(
        &self,
        settings: &FetchSettings,
        state: &HostState,
    ) -> Option<Result<tokio::sync::SemaphorePermit<'_>, tokio::sync::AcquireError>> {
        if let Some(last) = state.last_request {
            let wait = Duration::from_millis(settings.delay_ms).saturating_sub(last.elapsed());
            if wait >= self.deadline.left() {
                return None;
            }
            tokio::time::sleep(wait).await;
        }
        let permit = tokio::time::timeout(self.deadline.left(), self.semaphore.acquire())
            .await
            .ok()?;
        if self.deadline.passed() {
            return None;
        }
        Some(permit)
    }

    /// The request, abandoned when the run's time budget runs out while it is in flight.
    async fn send(&self, settings: &FetchSettings, url: &str) -> Answer {
        match tokio::time::timeout(self.deadline.left(), get_once(&self.client, settings, url))
            .await
        {
            Ok(r) => r,
            Err(_) => Err((
                format!("abandoned during the request: {}", self.deadline.reason()),
                false,
            )),
        }
    }

    /// Logs the request with its status (or what went wrong).
    async fn log_request(&self, url: &str, sent: Instant, result: &Answer) {
        let outcome = match result {
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
    }

    /// How long to wait before retrying, or why not to: the host asked to wait longer than
    /// `max_retry_after_seconds` (it is then left alone for the run), or the wait would pass
    /// the run's time budget.
    fn retry_wait(
        &self,
        settings: &FetchSettings,
        url: &str,
        asked: Option<u64>,
        attempt: u32,
    ) -> Result<Duration, NoRetry> {
        let wait = match asked {
            Some(secs) if secs > settings.max_retry_after_seconds => {
                let leave = format!(
                    "the host asked to wait {secs} s (Retry-After), longer than \
                     max_retry_after_seconds = {}",
                    settings.max_retry_after_seconds
                );
                return Err(NoRetry {
                    why: format!(", not retried: Retry-After {secs} s is longer than max_retry_after_seconds = {}; the host's other pages are left for the next run", settings.max_retry_after_seconds),
                    leave_host: Some(leave),
                });
            }
            Some(secs) => Duration::from_secs(secs),
            None => backoff(settings.delay_ms, attempt + 1, url),
        };
        if wait >= self.deadline.left() {
            return Err(NoRetry {
                why: format!(
                    ", not retried: waiting {:.1} s would pass the run's time budget (max_total_seconds = {})",
                    wait.as_secs_f64(),
                    self.deadline.seconds
                ),
                leave_host: None,
            });
        }
        Ok(wait)
    }

    fn out_of_time(&self, url: &str) -> Fetched {
        Fetched::page(page_error(
            url,
            &format!("{NOT_FETCHED}: {}", self.deadline.reason()),
        ))
    }
}

/// A page, and whether its host should be left alone for the rest of the run (why).
pub(super) struct Fetched {
    pub(super) page: Page,
    pub(super) leave_host: Option<String>,
}

impl Fetched {
    pub(super) fn page(page: Page) -> Self {
        Fetched {
            page,
            leave_host: None,
        }
    }
}

/// Why an answer that could be retried is not: words added to its error, and the reason
/// to leave its host alone for the run, if that is why.
struct NoRetry {
    why: String,
    leave_host: Option<String>,
}

/// `Some` when the answer may be retried (a 429 or 5xx, or an error a retry may help),
/// holding the wait its `Retry-After` asked for, if any.
fn retry_after(result: &Answer) -> Option<Option<u64>> {
    match result {
        Ok(p)
            if p.status
                .is_some_and(|s| s == 429 || (500..600).contains(&s)) =>
        {
            Some(p.error.as_deref().and_then(parse_retry_after))
        }
        Err((_, true)) => Some(None),
        _ => None,
    }
}

/// How the last answer reads when it is given up on.
fn given_up(url: &str, result: Answer, why: &str) -> Page {
    match result {
        Ok(p) => Page {
            error: Some(format!(
                "HTTP {}{why}",
                p.status.map(|s| s.to_string()).unwrap_or_default()
            )),
            ..p
        },
        Err((e, _)) => page_error(url, &format!("{e}{why}")),
    }
}

/// The answer when no retry is left (or none was due). Retries used up while the host
/// still asks to wait: its other pages are left for the next run too, not sent at once.
fn last_answer(
    url: &str,
    result: Answer,
    retry_after: Option<Option<u64>>,
    attempt: u32,
) -> Fetched {
    let leave_host = match retry_after {
        Some(Some(secs)) => Some(format!(
            "the host asked to wait {secs} s (Retry-After) and the retries were used up"
        )),
        _ => None,
    };
    Fetched {
        page: match result {
            Ok(mut p) => {
                if let Some(s) = p.status.filter(|s| *s == 429 || *s >= 500) {
                    p.error = Some(format!("HTTP {s}, still after {attempt} retries"));
                }
                p
            }
            Err((e, _)) => page_error(url, &e),
        },
        leave_host,
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

#[cfg(test)]
mod tests {
    use super::*;

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
