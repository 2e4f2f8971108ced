//! The terms of federation documents: ActivityStreams 2.0 plus a few of ours.

use coopdir_vocab::{Kind, ns};
use serde_json::{Value, json};

/// The media type peers exchange activities in.
pub const ACTIVITY_JSON: &str = "application/activity+json";
pub const AS_LD_JSON: &str =
    "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// The `@context` of actors, outboxes and activities: AS2, then our few terms.
pub fn activity_context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/multikey/v1",
        {
            "dir": ns::DIR,
            "xsd": ns::XSD,
            "seq": { "@id": "dir:seq", "@type": "xsd:integer" },
            "cursor": { "@id": "dir:cursor", "@type": "xsd:integer" },
            "head": { "@id": "dir:head", "@type": "xsd:integer" },
            "horizon": { "@id": "dir:horizon", "@type": "xsd:integer" },
            "hosts": { "@id": "dir:hosts", "@type": "@id", "@container": "@set" },
            "publicKey": { "@id": "https://w3id.org/security#publicKey", "@type": "@id" },
            "publicKeyPem": "https://w3id.org/security#publicKeyPem",
            "owner": { "@id": "https://w3id.org/security#owner", "@type": "@id" }
        }
    ])
}

/// The class IRI of a change record's kind, for the resource kinds peers see.
pub fn kind_class(kind: &str) -> Option<&'static str> {
    Kind::ALL
        .into_iter()
        .find(|k| k.shape_name() == kind)
        .map(|k| k.class().as_str())
}
