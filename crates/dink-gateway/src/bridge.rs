//! Bridge tokens (dink-protocol.md §10): what an edge presents to a Convex function it calls, so
//! the function knows which edge is calling. `$ADMIN.APPS.CONFIGURE_BRIDGE` sets (or generates)
//! the app's bridge secret; an edge asks for a token on `$EDGE.<app>.<edge>.CONVEX_TOKEN` and gets
//! `{edgeId, appId, groups, exp, sig}` for its own identity (taken from its key, never from the
//! request). `sig` is the HMAC-SHA256, lowercase hex, of the canonical JSON
//! `{"appId":..,"edgeId":..,"exp":..,"groups":[..]}` (keys in that order, groups sorted, no
//! spaces, strings escaped as Go's encoding/json writes them), keyed with the secret's UTF-8
//! bytes: exactly what `verifyDinkToken` in the npm package checks (npm/src/client/auth).

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// Tokens live this long (seconds), the documented default.
pub const TOKEN_TTL_SECS: i64 = 300;

/// The app's bridge configuration, stored in the `dink_bridges` bucket (never in the App record,
/// which every key of the app may read).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BridgeConfig {
    pub secret: String,
    /// What `CONFIGURE_BRIDGE` was given (`[BridgeService]`), kept for the relay to come.
    #[serde(default)]
    pub services: Value,
    #[serde(default)]
    pub has_deploy_key: bool,
}

/// A token as the edge receives it (camelCase: it is passed to Convex as the `_dink` argument).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DinkToken {
    pub edge_id: String,
    pub app_id: String,
    pub groups: Vec<String>,
    pub exp: i64,
    pub sig: String,
}

/// A new secret: 32 random bytes in hex (the documented "32-byte hex").
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON string as Go's encoding/json writes it: serde_json's escaping plus `<`, `>`, `&`,
/// U+2028 and U+2029 as `\u` escapes.
fn go_json_string(s: &str) -> String {
    let plain = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// The bytes the signature covers.
pub fn canonical_payload(app_id: &str, edge_id: &str, exp: i64, groups: &[String]) -> String {
    let mut sorted: Vec<&String> = groups.iter().collect();
    sorted.sort();
    let groups: Vec<String> = sorted.into_iter().map(|g| go_json_string(g)).collect();
    format!(
        "{{\"appId\":{},\"edgeId\":{},\"exp\":{},\"groups\":[{}]}}",
        go_json_string(app_id),
        go_json_string(edge_id),
        exp,
        groups.join(",")
    )
}

fn hex_hmac(secret: &str, payload: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(payload.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Mints a token for `edge_id` of `app_id` that expires at `exp` (Unix seconds).
pub fn mint(secret: &str, app_id: &str, edge_id: &str, groups: &[String], exp: i64) -> DinkToken {
    let mut sorted = groups.to_vec();
    sorted.sort();
    let sig = hex_hmac(secret, &canonical_payload(app_id, edge_id, exp, &sorted));
    DinkToken {
        edge_id: edge_id.to_string(),
        app_id: app_id.to_string(),
        groups: sorted,
        exp,
        sig,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_matches_the_documented_form() {
        let groups = vec!["ops".to_string(), "admin".to_string()];
        assert_eq!(
            canonical_payload("app-1", "edge-1", 1_800_000_300, &groups),
            r#"{"appId":"app-1","edgeId":"edge-1","exp":1800000300,"groups":["admin","ops"]}"#
        );
        assert_eq!(
            canonical_payload("x\u{2028}", "a<b>&\"c", 2, &[]),
            r#"{"appId":"x\u2028","edgeId":"a\u003cb\u003e\u0026\"c","exp":2,"groups":[]}"#
        );
    }

    #[test]
    fn known_answer_signature() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog") (RFC 4231 style vector).
        assert_eq!(
            hex_hmac("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let t = mint("s3cret", "app", "edge", &["b".into(), "a".into()], 10);
        assert_eq!(t.groups, vec!["a", "b"]);
        assert_eq!(
            t.sig,
            hex_hmac(
                "s3cret",
                r#"{"appId":"app","edgeId":"edge","exp":10,"groups":["a","b"]}"#
            )
        );
        assert_eq!(generate_secret().len(), 64);
    }
}
