//! Outbound HTTP to peers: timeouts, a size limit, no redirects, and no requests to
//! private, loopback or link-local addresses unless the operator allows them.
//!
//! The address check sits in the DNS resolver, so a name that resolves to a private
//! address is refused at connection time (no window between a check and the connect);
//! IP-literal URLs never reach a resolver and are checked before the request.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use url::Url;

use crate::vocab::{ACTIVITY_JSON, AS_LD_JSON};

/// Limits of outbound requests.
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub connect_timeout: Duration,
    /// For the whole request, body included.
    pub total_timeout: Duration,
    pub max_body_bytes: usize,
    /// Allow peers on private, loopback and link-local addresses (tests, private networks).
    pub allow_private: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            max_body_bytes: 16 * 1024 * 1024,
            allow_private: false,
        }
    }
}

/// Why a fetch failed, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http(s) URL")]
    BadUrl(String),
    #[error(
        "{0} is a private, loopback or link-local address: refused (start the server with --allow-private-peers to follow peers on a private network)"
    )]
    Private(String),
    #[error("cannot reach {url}: {message}")]
    Network { url: String, message: String },
    #[error("{url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url} redirects to {location}: use that URL")]
    Redirect { url: String, location: String },
    #[error("{url} sent more than {limit} bytes: refused")]
    TooLarge { url: String, limit: usize },
    #[error("{url} did not send JSON: {message}")]
    NotJson { url: String, message: String },
}

impl FetchError {
    /// Worth retrying later (the peer may come back), as opposed to a refusal.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Network { .. } | FetchError::Timeout { .. } => true,
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// Whether an address is one a public peer cannot have.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // carrier-grade NAT
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link-local
        }
    }
}

struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves only to private, loopback or link-local addresses (refused)"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A peer's answer to a POST.
#[derive(Debug, Clone)]
pub struct Posted {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub detail: String,
}

/// `Retry-After` as seconds or as an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let format = time::format_description::well_known::Rfc2822;
    let when =
        time::OffsetDateTime::parse(value.trim().replace("GMT", "+0000").as_str(), &format).ok()?;
    let wait = when - time::OffsetDateTime::now_utc();
    Some(Duration::from_secs(wait.whole_seconds().max(0) as u64))
}

/// The HTTP client for peers.
#[derive(Clone)]
pub struct Net {
    client: reqwest::Client,
    config: NetConfig,
}

impl Net {
    pub fn new(config: NetConfig) -> Self {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.total_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("coopdir/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot build the HTTP client; using the defaults");
            reqwest::Client::new()
        });
        Net { client, config }
    }

    /// Checks that `url` is one we may send a request to.
    pub fn check(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(FetchError::BadUrl(url.to_owned()));
        }
        if !self.config.allow_private {
            let literal = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if literal.is_some_and(is_private) || parsed.host_str() == Some("localhost") {
                return Err(FetchError::Private(url.to_owned()));
            }
        }
        Ok(parsed)
    }

    fn classify(&self, url: &str, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout {
                url: url.to_owned(),
                secs: self.config.total_timeout.as_secs(),
            }
        } else {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message = format!("{message}: {s}");
                source = s.source();
            }
            FetchError::Network {
                url: url.to_owned(),
                message,
            }
        }
    }

    /// POSTs a signed body to `url` (an inbox); the answer's status, its `Retry-After`
    /// and the start of its body. Network errors and timeouts are errors; any status
    /// is an answer.
    pub async fn post(
        &self,
        url: &str,
        headers: http::HeaderMap,
        body: bytes::Bytes,
    ) -> Result<Posted, FetchError> {
        let parsed = self.check(url)?;
        let response = self
            .client
            .post(parsed)
            .headers(headers)
            .header(
                reqwest::header::ACCEPT,
                "application/ld+json, application/json",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| self.classify(url, e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        // The start of the answer says why a delivery was refused; the rest is not read.
        let mut detail = Vec::new();
        let mut response = response;
        while detail.len() < 2048 {
            match response.chunk().await {
                Ok(Some(chunk)) => detail.extend_from_slice(&chunk),
                _ => break,
            }
        }
        detail.truncate(2048);
        Ok(Posted {
            status,
            retry_after,
            detail: String::from_utf8_lossy(&detail).into_owned(),
        })
    }

    /// GETs `url` as an ActivityStreams JSON document, within the limits.
    pub async fn get_json(&self, url: &str) -> Result<Value, FetchError> {
        let parsed = self.check(url)?;
        let classify = |e: reqwest::Error| self.classify(url, e);
        let mut response = self
            .client
            .get(parsed)
            .header(
                reqwest::header::ACCEPT,
                format!("{ACTIVITY_JSON}, {AS_LD_JSON}, application/ld+json;q=0.9"),
            )
            .send()
            .await
            .map_err(classify)?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("?")
                .to_owned();
            return Err(FetchError::Redirect {
                url: url.to_owned(),
                location,
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let limit = self.config.max_body_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                limit,
            });
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| FetchError::NotJson {
            url: url.to_owned(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_refused_unless_allowed() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.10",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            let ip: IpAddr = private.parse().expect("ip");
            assert!(is_private(ip), "{private}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_private(public.parse().expect("ip")), "{public}");
        }
        let strict = Net::new(NetConfig::default());
        assert!(matches!(
            strict.check("http://127.0.0.1:8080/actor"),
            Err(FetchError::Private(_))
        ));
        assert!(matches!(
            strict.check("http://[::1]/actor"),
            Err(FetchError::Private(_))
        ));
        assert!(matches!(
            strict.check("http://localhost/actor"),
            Err(FetchError::Private(_))
        ));
        assert!(matches!(
            strict.check("ftp://example.org/"),
            Err(FetchError::BadUrl(_))
        ));
        assert!(strict.check("https://example.org/actor").is_ok());
        let open = Net::new(NetConfig {
            allow_private: true,
            ..NetConfig::default()
        });
        assert!(open.check("http://127.0.0.1:8080/actor").is_ok());
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let soon = time::OffsetDateTime::now_utc() + Duration::from_secs(90);
        let header = soon
            .format(&time::format_description::well_known::Rfc2822)
            .expect("date");
        let wait = parse_retry_after(&header).expect("parsed");
        assert!(wait >= Duration::from_secs(85) && wait <= Duration::from_secs(90));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
