//! External enrichment providers (off unless the pipeline file lists some): an HTTP API
//! described by a URL template, headers taken from environment variables, and a mapping
//! from JSON pointers in the answer to record fields. Providers are tried in turn per
//! record ("waterfall") until one gives a usable answer; answers are cached in DuckDB so a
//! key is fetched once, and requests are paced per provider.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Record fields a provider may fill (only where the record has no value: data the person
/// gave is never overwritten).
pub const FILLABLE: [&str; 6] = [
    "company", "city", "region", "address", "website", "position",
];
/// Record fields a provider may look up by.
pub const KEYS: [&str; 4] = ["inn", "phone_e164", "email", "company"];

/// One provider as written in the pipeline file under `[[enrich.providers]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub name: String,
    /// URL with `{key}` where the looked-up value goes, e.g. `https://api.example/inn/{key}`.
    pub url: String,
    /// The record field that is looked up (inn, phone_e164, email, company).
    pub key: String,
    /// Header values may name environment variables as `${VAR}` (API tokens stay out of
    /// pipeline files).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Record field → JSON pointer into the answer (`/data/name`).
    pub fill: BTreeMap<String, String>,
    #[serde(default = "default_rate")]
    pub requests_per_second: f64,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
}

fn default_rate() -> f64 {
    5.0
}

fn default_timeout() -> f64 {
    10.0
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("provider {0:?}: {1}")]
    Config(String, String),
    #[error("provider {provider:?}: request for {key:?} failed: {message}")]
    Http {
        provider: String,
        key: String,
        message: String,
    },
}

impl ProviderConfig {
    /// Checks the configuration and resolves `${VAR}` in headers.
    pub fn validate(&self) -> Result<BTreeMap<String, String>, ProviderError> {
        let bad = |m: String| ProviderError::Config(self.name.clone(), m);
        if !KEYS.contains(&self.key.as_str()) {
            return Err(bad(format!(
                "key {:?} must be one of {}",
                self.key,
                KEYS.join(", ")
            )));
        }
        if !self.url.contains("{key}") {
            return Err(bad("url must contain {key}".into()));
        }
        if self.fill.is_empty() {
            return Err(bad("fill maps no field".into()));
        }
        for (field, pointer) in &self.fill {
            if !FILLABLE.contains(&field.as_str()) {
                return Err(bad(format!(
                    "cannot fill {field:?}; fillable: {}",
                    FILLABLE.join(", ")
                )));
            }
            if !pointer.starts_with('/') {
                return Err(bad(format!(
                    "fill.{field} must be a JSON pointer such as \"/name\""
                )));
            }
        }
        // Written so that NaN fails too.
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.requests_per_second) || !positive(self.timeout_seconds) {
            return Err(bad(
                "requests_per_second and timeout_seconds must be positive".into(),
            ));
        }
        let mut headers = BTreeMap::new();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), expand_env(value).map_err(bad)?);
        }
        Ok(headers)
    }

    pub fn url_for(&self, key: &str) -> String {
        self.url.replace("{key}", &url_encode(key))
    }

    /// The fields an answer fills, by JSON pointer; empty when it fills nothing.
    pub fn extract(&self, body: &str) -> BTreeMap<String, String> {
        let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
            return BTreeMap::new();
        };
        self.fill
            .iter()
            .filter_map(|(field, pointer)| {
                let v = json.pointer(pointer)?;
                let text = match v {
                    serde_json::Value::String(s) => s.trim().to_string(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                (!text.is_empty()).then(|| (field.clone(), text))
            })
            .collect()
    }
}

fn expand_env(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in header value {value:?}"))?;
        let var = &after[..end];
        out.push_str(
            &std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?,
        );
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// What a provider said about one key: HTTP status and body. 200 and 404 are final and
/// cached; anything else is an error for this run (tried again next run).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Fetches keys from one provider, one request at a time, paced to its rate.
pub fn fetch_all(
    provider: &ProviderConfig,
    headers: &BTreeMap<String, String>,
    keys: &[String],
) -> Vec<(String, Result<Answer, ProviderError>)> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return keys
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        Err(ProviderError::Http {
                            provider: provider.name.clone(),
                            key: k.clone(),
                            message: format!("cannot start the HTTP runtime: {e}"),
                        }),
                    )
                })
                .collect()
        }
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs_f64(provider.timeout_seconds))
        .user_agent(concat!("leadpipe/", env!("CARGO_PKG_VERSION")))
        .build();
    let pause = Duration::from_secs_f64(1.0 / provider.requests_per_second);
    runtime.block_on(async {
        let mut out = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            let result = match &client {
                Ok(client) => {
                    let mut req = client.get(provider.url_for(key));
                    for (name, value) in headers {
                        req = req.header(name, value);
                    }
                    match req.send().await {
                        Ok(resp) => {
                            let status = resp.status().as_u16();
                            match resp.text().await {
                                Ok(body) if status == 200 || status == 404 => {
                                    Ok(Answer { status, body })
                                }
                                Ok(_) => Err(format!("HTTP {status}")),
                                Err(e) => Err(e.to_string()),
                            }
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => Err(e.to_string()),
            };
            out.push((
                key.clone(),
                result.map_err(|message| ProviderError::Http {
                    provider: provider.name.clone(),
                    key: key.clone(),
                    message,
                }),
            ));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProviderConfig {
        ProviderConfig {
            name: "p".into(),
            url: "http://127.0.0.1:1/inn/{key}".into(),
            key: "inn".into(),
            headers: BTreeMap::new(),
            fill: [("company".to_string(), "/data/name".to_string())].into(),
            requests_per_second: 5.0,
            timeout_seconds: 1.0,
        }
    }

    #[test]
    fn validates_and_extracts() {
        let c = config();
        assert!(c.validate().is_ok());
        assert_eq!(c.url_for("77 07"), "http://127.0.0.1:1/inn/77%2007");
        let got = c.extract(r#"{"data": {"name": " ПАО Сбербанк "}}"#);
        assert_eq!(got.get("company").map(String::as_str), Some("ПАО Сбербанк"));
        assert!(c.extract("not json").is_empty());
        let mut bad = config();
        bad.fill.insert("phone_e164".into(), "/x".into());
        assert!(
            bad.validate().is_err(),
            "phones are never filled from outside"
        );
        let mut bad = config();
        bad.headers.insert(
            "Authorization".into(),
            "Token ${LEADPIPE_SURELY_UNSET_VAR}".into(),
        );
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("LEADPIPE_SURELY_UNSET_VAR"));
    }
}
