//! The signed channel document: what a release is, per target, and the
//! proof that its publisher wrote it.
//!
//! ```json
//! { "format": 1,
//!   "signed": "<the body, as the exact JSON text that was signed>",
//!   "signatures": [ { "key": "<base64 ed25519 public key>", "signature": "<base64>" } ] }
//! ```
//! The body travels as the string that was signed, so no canonical JSON is
//! needed to check it: the bytes verified are the bytes parsed. Each
//! signature covers `pyseal channel v1\n` followed by those bytes (the
//! prefix keeps a signature over a channel from meaning anything else).

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;

use crate::error::{Error, Result};

pub const DOMAIN: &[u8] = b"pyseal channel v1\n";
/// A channel document is small; anything bigger is not one.
pub const MAX_DOCUMENT: u64 = 4 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    format: u32,
    signed: String,
    signatures: Vec<Signature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Signature {
    key: String,
    signature: String,
}

/// What a channel says, once its signature has been checked.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub app: String,
    pub version: String,
    /// Grows with every document published to the channel: an older one is a replay.
    pub sequence: u64,
    /// Unix seconds after which the document is refused (a frozen channel goes stale).
    pub expires: u64,
    #[serde(default)]
    pub published: u64,
    /// Installations older than this are told the update is required.
    #[serde(default)]
    pub minimum_version: Option<String>,
    /// Percentage of installations offered the release (by a stable per-cache bucket).
    #[serde(default)]
    pub rollout: Option<u8>,
    pub targets: BTreeMap<String, Release>,
}

/// One target's executable: its whole hash, and the parts it is made of, in
/// order (the stub, each embedded blob's frame, the manifest and the rest).
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub executable: Part,
    pub stub: Part,
    pub manifest: Part,
    pub parts: Vec<Part>,
    /// The stub as a zstd delta against the previous release's stub, when that is smaller.
    #[serde(default)]
    pub stub_delta: Option<Delta>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Delta {
    /// The sha256 of the stub part it applies to.
    pub from: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub sha256: String,
    pub size: u64,
}

/// Parses a document and checks that one of `keys` signed it; returns the body.
pub fn verify(document: &[u8], keys: &[String], url: &str) -> Result<Body> {
    let bad = |what: &str| {
        Error::new(format!("the update channel {url} sent {what}"))
            .with_hint("the channel was damaged or tampered with; nothing was changed")
    };
    let envelope: Envelope =
        serde_json::from_slice(document).map_err(|_| bad("a document that is not a pyseal channel"))?;
    if envelope.format != 1 {
        return Err(Error::new(format!(
            "the update channel {url} uses format {}, this executable reads format 1",
            envelope.format
        ))
        .with_hint("update by downloading the new release once by hand"));
    }
    if envelope.signatures.is_empty() {
        return Err(bad("a document without a signature"));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(envelope.signed.as_bytes());
    let mut known = false;
    for sig in &envelope.signatures {
        if !keys.contains(&sig.key) {
            continue;
        }
        known = true;
        let (Ok(key), Ok(signature)) = (b64.decode(&sig.key), b64.decode(&sig.signature)) else { continue };
        let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key);
        if key.verify(&message, &signature).is_ok() {
            return serde_json::from_str(&envelope.signed)
                .map_err(|_| bad("a signed document this executable cannot read"));
        }
    }
    if known {
        Err(bad("a document whose signature does not verify"))
    } else {
        Err(Error::new(format!("the update channel {url} is signed by a key this executable does not trust"))
            .with_hint("the release was signed with another key; install a build that carries that key by hand"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair;

    fn keypair(seed: u8) -> (ring::signature::Ed25519KeyPair, String) {
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let public = base64::engine::general_purpose::STANDARD.encode(pair.public_key().as_ref());
        (pair, public)
    }

    fn document(body: &str, signers: &[&ring::signature::Ed25519KeyPair], tamper: bool) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut message = DOMAIN.to_vec();
        message.extend_from_slice(body.as_bytes());
        let signatures: Vec<serde_json::Value> = signers
            .iter()
            .map(|k| {
                serde_json::json!({"key": b64.encode(k.public_key().as_ref()), "signature": b64.encode(k.sign(&message).as_ref())})
            })
            .collect();
        let signed = if tamper { body.replace("\"2.0\"", "\"9.0\"") } else { body.to_string() };
        serde_json::to_vec(&serde_json::json!({"format": 1, "signed": signed, "signatures": signatures})).unwrap()
    }

    const BODY: &str = r#"{"app":"demo","version":"2.0","sequence":2,"expires":4000000000,"targets":{}}"#;

    #[test]
    fn accepts_a_trusted_signature_and_refuses_the_rest() {
        let (old, old_pub) = keypair(1);
        let (new, new_pub) = keypair(2);
        assert_eq!(
            verify(&document(BODY, &[&old], false), std::slice::from_ref(&old_pub), "u").unwrap().version,
            "2.0"
        );
        // Rotation: signed by both, trusted by either.
        let both = document(BODY, &[&old, &new], false);
        assert!(verify(&both, std::slice::from_ref(&old_pub), "u").is_ok());
        assert!(verify(&both, std::slice::from_ref(&new_pub), "u").is_ok());
        let e = verify(&document(BODY, &[&new], false), std::slice::from_ref(&old_pub), "u").unwrap_err();
        assert!(e.message.contains("key this executable does not trust"), "{}", e.message);
        let e = verify(&document(BODY, &[&old], true), std::slice::from_ref(&old_pub), "u").unwrap_err();
        assert!(e.message.contains("does not verify"), "{}", e.message);
        let e = verify(&document(BODY, &[], false), std::slice::from_ref(&old_pub), "u").unwrap_err();
        assert!(e.message.contains("without a signature"), "{}", e.message);
        let e = verify(b"<html>", std::slice::from_ref(&old_pub), "u").unwrap_err();
        assert!(e.message.contains("not a pyseal channel"), "{}", e.message);
    }
}
