//! The minimum of NATS JWTs (nats-io/jwt v2) the auth callout needs: decode the server's
//! `authorization_request`, encode the `authorization_response` and the user claims it carries.
//!
//! A NATS JWT is `base64url(header).base64url(claims).base64url(ed25519 signature)` (unpadded),
//! header `{"typ":"JWT","alg":"ed25519-nkey"}`, signed by an nkey.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nkeys::KeyPair;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const HEADER: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;

/// Encode and sign claims. A `jti` (hash of the claims, as nats-io/jwt does) is added.
pub fn encode(kp: &KeyPair, mut claims: Value) -> Result<String, String> {
    if let Some(obj) = claims.as_object_mut() {
        obj.insert("jti".into(), Value::String(String::new()));
        let body = serde_json::to_vec(obj).map_err(|e| e.to_string())?;
        let jti = data_encoding_base32(&Sha256::digest(&body));
        obj.insert("jti".into(), Value::String(jti));
    } else {
        return Err("claims must be an object".into());
    }
    let h = URL_SAFE_NO_PAD.encode(HEADER);
    let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).map_err(|e| e.to_string())?);
    let signing_input = format!("{h}.{p}");
    let sig = kp
        .sign(signing_input.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// Decode a JWT's claims and verify its signature against its own `iss` (the server's nkey for
/// an authorization request). Only the callout subject, reachable by the server alone, delivers
/// these, so this is an integrity check rather than authentication.
pub fn decode_verified(token: &str) -> Result<Value, String> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT".into());
    };
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if header.get("alg").and_then(Value::as_str) != Some("ed25519-nkey") {
        return Err("unexpected JWT algorithm".into());
    }
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string())?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or("JWT without iss")?;
    let verifier = KeyPair::from_public_key(iss).map_err(|e| e.to_string())?;
    verifier
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| "bad JWT signature".to_string())?;
    Ok(claims)
}

/// RFC 4648 base32 without padding (what nats-io/jwt uses for `jti`).
fn data_encoding_base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// NATS permissions for a user JWT.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Vec<String>,
    pub subscribe: Vec<String>,
    /// Subscriptions refused even when `subscribe` allows them. A wildcard subscription that
    /// overlaps one of these makes nats-server drop matching messages at delivery too.
    pub subscribe_deny: Vec<String>,
    /// Allow publishing one reply to each request received (nats `allow_responses`, max 1).
    pub allow_responses: bool,
}

/// The user claims placed into `account` (config-mode account name, via `aud`).
pub fn user_claims(
    issuer_pub: &str,
    user_nkey: &str,
    account: &str,
    name: &str,
    now: i64,
    expires: i64,
    perms: &Permissions,
) -> Value {
    let mut nats = json!({
        "pub": { "allow": perms.publish },
        "sub": { "allow": perms.subscribe },
        "subs": -1, "data": -1, "payload": -1,
        "type": "user", "version": 2,
    });
    if !perms.subscribe_deny.is_empty() {
        nats["sub"]["deny"] = json!(perms.subscribe_deny);
    }
    if perms.allow_responses {
        nats["resp"] = json!({ "max": 1, "ttl": 0 });
    }
    json!({
        "iss": issuer_pub,
        "sub": user_nkey,
        "aud": account,
        "name": name,
        "iat": now,
        "exp": expires,
        "nats": nats,
    })
}

/// The callout's answer: `user_jwt` Ok to admit, or an error text to refuse.
pub fn authorization_response(
    issuer_pub: &str,
    user_nkey: &str,
    server_id: &str,
    now: i64,
    outcome: Result<String, String>,
) -> Value {
    let mut nats = json!({ "type": "authorization_response", "version": 2 });
    match outcome {
        Ok(jwt) => nats["jwt"] = Value::String(jwt),
        Err(e) => nats["error"] = Value::String(e),
    }
    json!({ "iss": issuer_pub, "sub": user_nkey, "aud": server_id, "iat": now, "nats": nats })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let kp = KeyPair::new_account();
        let t = encode(&kp, json!({"iss": kp.public_key(), "sub": "x"})).expect("encode");
        let c = decode_verified(&t).expect("decode");
        assert_eq!(c["sub"], "x");
        assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"{}","sub":"y"}}"#, kp.public_key()));
        parts[1] = &forged;
        assert!(decode_verified(&parts.join(".")).is_err());
    }

    #[test]
    fn base32() {
        assert_eq!(data_encoding_base32(b"foobar"), "MZXW6YTBOI");
    }
}
