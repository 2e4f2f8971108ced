//! HTTP Message Signatures (RFC 9421) with `Content-Digest` (RFC 9530) on every
//! server-to-server POST, through `httpsig-hyper`.
//!
//! Why that crate: it is MIT-licensed (the ActivityPub crates that sign requests are
//! AGPL), implements the RFC's signature base and structured-field parsing, which are
//! easy to get subtly wrong by hand, and checks the RFC's test vectors. It is pre-1.0,
//! so we use the narrow part of it that the RFC fixes: Ed25519 keys, the components
//! below, `created`, `keyid` and `alg`.
//!
//! What a signature covers: `@method`, `@target-uri` (so a request signed for one
//! server cannot be replayed to another), `content-type` and `content-digest` (so the
//! body cannot change). The receiver rebuilds the target URI from its own base URL,
//! checks `created` against a window, the digest against the body, and the signature
//! against the key published on the sender's actor document (cached; fetched again
//! once when a cached key fails, which is how a key rotation is picked up).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::Full;
use httpsig_hyper::prelude::message_component::HttpMessageComponentId;
use httpsig_hyper::prelude::{AlgorithmName, HttpSignatureParams, PublicKey, SecretKey};
use httpsig_hyper::{
    ContentDigestType, MessageSignature, MessageSignatureReq, RequestContentDigest,
};
use serde_json::Value;

use crate::keys::ActorKey;
use crate::net::{FetchError, Net};

/// The components every signature must cover.
pub const COVERED: [&str; 4] = ["@method", "@target-uri", "content-type", "content-digest"];
/// How old a signature may be (its `created`), and how far ahead of our clock.
pub const WINDOW: Duration = Duration::from_secs(300);
const SKEW: Duration = Duration::from_secs(60);
/// How long a fetched key is trusted before it is fetched again.
const KEY_TTL: Duration = Duration::from_secs(3600);

/// Why a signed request was refused (all 401, except a failure to reach the key).
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "the request is not signed: sign it with HTTP Message Signatures (RFC 9421) covering {COVERED:?}, with the key on your server's actor document"
    )]
    Missing,
    #[error("the signature cannot be read: {0}")]
    Malformed(String),
    #[error("the signature does not cover {0}: it must cover {COVERED:?}")]
    NotCovered(&'static str),
    #[error(
        "the signature was created at {created} (Unix time), outside the {window} s window around our clock: sign each request when it is sent"
    )]
    OutOfWindow { created: u64, window: u64 },
    #[error("the signature has expired")]
    Expired,
    #[error("the body does not match its Content-Digest: it changed after signing")]
    Digest,
    #[error("the signing key {key_id} cannot be used: {why}")]
    UnknownKey { key_id: String, why: String },
    #[error("the signature does not verify with the key {0} published by its actor")]
    Invalid(String),
}

/// Who signed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBy {
    /// The signer's actor document.
    pub actor: String,
    pub key_id: String,
}

impl SignedBy {
    /// The base URL of the signing coopdir server: what it may publish lies under it.
    pub fn base(&self) -> &str {
        self.actor.strip_suffix("actor").unwrap_or(&self.actor)
    }
}

fn components() -> Vec<HttpMessageComponentId> {
    COVERED
        .iter()
        .filter_map(|c| HttpMessageComponentId::try_from(*c).ok())
        .collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Signs this server's outbound requests.
#[derive(Clone)]
pub struct Signer {
    key: SecretKey,
    key_id: String,
}

impl Signer {
    pub fn new(key: &ActorKey, key_id: String) -> Result<Self, String> {
        let key = SecretKey::from_bytes(&AlgorithmName::Ed25519, &key.seed())
            .map_err(|e| format!("the server's key cannot sign: {e}"))?;
        Ok(Signer { key, key_id })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The headers that sign a POST of `body` to `url`: `Content-Type`,
    /// `Content-Digest`, `Signature-Input` and `Signature`, created now.
    pub async fn sign_post(
        &self,
        url: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<HeaderMap, String> {
        self.sign_post_at(url, content_type, body, unix_now()).await
    }

    /// [`Self::sign_post`] with a given `created` time (tests of the window use it).
    pub async fn sign_post_at(
        &self,
        url: &str,
        content_type: &str,
        body: Bytes,
        created: u64,
    ) -> Result<HeaderMap, String> {
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri(url)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(Full::new(body))
            .map_err(|e| format!("cannot build a request to {url}: {e}"))?;
        let mut request = request
            .set_content_digest(&ContentDigestType::Sha256)
            .await
            .map_err(|e| e.to_string())?;
        let mut params = HttpSignatureParams::try_new(&components()).map_err(|e| e.to_string())?;
        params
            .set_created(created)
            .set_alg(&AlgorithmName::Ed25519)
            .set_keyid(&self.key_id);
        request
            .set_message_signature(&params, &self.key, Some("sig1"))
            .await
            .map_err(|e| e.to_string())?;
        Ok(request.headers().clone())
    }
}

struct CachedKey {
    key: PublicKey,
    actor: String,
    fetched: Instant,
}

/// Verifies inbound signatures, with a cache of the keys of the actors seen.
pub struct Verifier {
    net: Net,
    keys: Mutex<HashMap<String, CachedKey>>,
}

impl Verifier {
    pub fn new(net: Net) -> Self {
        Verifier {
            net,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Verifies a POST to `target` (the absolute URL as this server names it) with
    /// `headers` and `body`; returns who signed it.
    pub async fn verify(
        &self,
        target: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<SignedBy, SignatureError> {
        if !headers.contains_key("signature") || !headers.contains_key("signature-input") {
            return Err(SignatureError::Missing);
        }
        let mut builder = http::Request::builder()
            .method(http::Method::POST)
            .uri(target);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(body))
            .map_err(|e| SignatureError::Malformed(e.to_string()))?;
        let all_params = request
            .get_signature_params()
            .map_err(|e| SignatureError::Malformed(e.to_string()))?;
        // One signature only: the one whose parameters are checked here is the one
        // that is verified.
        let params = match all_params.len() {
            0 => return Err(SignatureError::Missing),
            1 => all_params[0].clone(),
            n => {
                return Err(SignatureError::Malformed(format!(
                    "{n} signatures: send exactly one"
                )));
            }
        };
        let covered: Vec<String> = params
            .covered_components
            .iter()
            .map(|c| c.to_string())
            .collect();
        for required in COVERED {
            if !covered.iter().any(|c| c == &format!("\"{required}\"")) {
                return Err(SignatureError::NotCovered(required));
            }
        }
        let now = unix_now();
        let created = params
            .created
            .ok_or(SignatureError::Malformed("no created parameter".into()))?;
        if created + WINDOW.as_secs() < now || created > now + SKEW.as_secs() {
            return Err(SignatureError::OutOfWindow {
                created,
                window: WINDOW.as_secs(),
            });
        }
        if params.expires.is_some_and(|e| e < now) {
            return Err(SignatureError::Expired);
        }
        let key_id = params
            .keyid
            .clone()
            .ok_or(SignatureError::Malformed("no keyid parameter".into()))?;
        let request = request
            .verify_content_digest()
            .await
            .map_err(|_| SignatureError::Digest)?;
        // A cached key first; on failure, the key as published now (it may have rotated).
        if let Some((key, actor)) = self.cached(&key_id)
            && request
                .verify_message_signature(&key, Some(&key_id))
                .await
                .is_ok()
        {
            return Ok(SignedBy { actor, key_id });
        }
        let (key, actor) = self.fetch_key(&key_id).await?;
        request
            .verify_message_signature(&key, Some(&key_id))
            .await
            .map_err(|_| SignatureError::Invalid(key_id.clone()))?;
        Ok(SignedBy { actor, key_id })
    }

    fn cached(&self, key_id: &str) -> Option<(PublicKey, String)> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(key_id)
            .filter(|k| k.fetched.elapsed() < KEY_TTL)
            .map(|k| (k.key.clone(), k.actor.clone()))
    }

    /// Fetches the actor document that `key_id` names and takes the key from it.
    async fn fetch_key(&self, key_id: &str) -> Result<(PublicKey, String), SignatureError> {
        let unknown = |why: String| SignatureError::UnknownKey {
            key_id: key_id.to_owned(),
            why,
        };
        let document = key_id.split('#').next().unwrap_or(key_id);
        let actor = self
            .net
            .get_json(document)
            .await
            .map_err(|e: FetchError| unknown(e.to_string()))?;
        let actor_id = actor.get("id").and_then(Value::as_str).unwrap_or_default();
        if actor_id != document {
            return Err(unknown(format!(
                "the document at {document} says its id is {actor_id:?}"
            )));
        }
        let key = published_key(&actor, key_id).ok_or_else(|| {
            unknown(format!(
                "{document} publishes no Ed25519 key with that id (assertionMethod or publicKey)"
            ))
        })?;
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).insert(
            key_id.to_owned(),
            CachedKey {
                key: key.clone(),
                actor: actor_id.to_owned(),
                fetched: Instant::now(),
            },
        );
        Ok((key, actor_id.to_owned()))
    }
}

/// The Ed25519 key with id `key_id` on an actor document: a `Multikey` under
/// `assertionMethod`, or a `publicKey` with `publicKeyPem`.
fn published_key(actor: &Value, key_id: &str) -> Option<PublicKey> {
    let as_list = |v: Option<&Value>| match v {
        Some(Value::Array(items)) => items.clone(),
        Some(item @ Value::Object(_)) => vec![item.clone()],
        _ => Vec::new(),
    };
    for method in as_list(actor.get("assertionMethod")) {
        if method.get("id").and_then(Value::as_str) != Some(key_id) {
            continue;
        }
        let multibase = method.get("publicKeyMultibase").and_then(Value::as_str)?;
        let raw = crate::keys::decode_multikey(multibase)?;
        return PublicKey::from_bytes(&AlgorithmName::Ed25519, &raw).ok();
    }
    for key in as_list(actor.get("publicKey")) {
        if key.get("id").and_then(Value::as_str) != Some(key_id) {
            continue;
        }
        let pem = key.get("publicKeyPem").and_then(Value::as_str)?;
        return PublicKey::from_pem(&AlgorithmName::Ed25519, pem).ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signed_post_verifies_and_a_changed_one_does_not() {
        let key = ActorKey::ephemeral();
        let signer = Signer::new(&key, "http://a.example/actor#main-key".into()).expect("signer");
        let body = Bytes::from_static(br#"{"type":"Create"}"#);
        let headers = signer
            .sign_post(
                "http://b.example/inbox/",
                "application/activity+json",
                body.clone(),
            )
            .await
            .expect("signed");
        let public = PublicKey::from_bytes(
            &AlgorithmName::Ed25519,
            &crate::keys::decode_multikey(&key.public_multibase()).expect("multikey"),
        )
        .expect("public key");
        let check = |target: &str, headers: &HeaderMap, body: Bytes| {
            let mut builder = http::Request::builder().method("POST").uri(target);
            for (n, v) in headers {
                builder = builder.header(n, v);
            }
            builder.body(Full::new(body)).expect("request")
        };
        let request = check("http://b.example/inbox/", &headers, body.clone());
        assert!(
            request
                .verify_message_signature(&public, Some(signer.key_id()))
                .await
                .is_ok()
        );
        // Replayed to another server: the target URI is covered.
        let elsewhere = check("http://c.example/inbox/", &headers, body.clone());
        assert!(
            elsewhere
                .verify_message_signature(&public, Some(signer.key_id()))
                .await
                .is_err()
        );
        // The body changed after signing: the digest no longer matches.
        let tampered = check(
            "http://b.example/inbox/",
            &headers,
            Bytes::from_static(br#"{"type":"Delete"}"#),
        );
        assert!(tampered.verify_content_digest().await.is_err());
        // The PEM form of the same key verifies too.
        let actor = serde_json::json!({
            "publicKey": { "id": "k", "publicKeyPem": key.public_pem() }
        });
        let from_pem = published_key(&actor, "k").expect("pem key");
        assert!(
            request
                .verify_message_signature(&from_pem, Some(signer.key_id()))
                .await
                .is_ok()
        );
    }
}
