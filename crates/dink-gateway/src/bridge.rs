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
/// which every key of the app may read; that bucket is the gateway's only, and no API returns
/// `secret` after `CONFIGURE_BRIDGE` nor `deploy_key` ever).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BridgeConfig {
    pub secret: String,
    /// What `CONFIGURE_BRIDGE` was given (`[BridgeService]`, checked by [`validate_services`]):
    /// the methods the relay (`relay.rs`) forwards to Convex.
    #[serde(default)]
    pub services: Value,
    #[serde(default)]
    pub has_deploy_key: bool,
    /// The Convex deploy key sent as `Authorization: Convex <deploy_key>` by the relay.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deploy_key: String,
}

/// One bridged method: where the relay sends a call.
#[derive(Clone, Debug, PartialEq)]
pub struct BridgeMethod {
    /// `action`, `mutation` or `query`: Convex's `POST /api/<kind>`.
    pub kind: String,
    /// The Convex function path, e.g. `bridge:Sensor_Read`.
    pub function: String,
}

fn str_field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| v.get(*n).and_then(Value::as_str))
}

/// Check `CONFIGURE_BRIDGE`'s `services` (the manifest's `[{name, methods:[{name, type,
/// bridgeFunction, originalFunction?, originalType?, custom?, auth?}]}]`; `bridge_function` is
/// accepted too). `null` is `[]`. Returns the value to store.
pub fn validate_services(services: Value) -> Result<Value, String> {
    let services = if services.is_null() {
        Value::Array(Vec::new())
    } else {
        services
    };
    let list = services
        .as_array()
        .ok_or("services must be an array of {name, methods}")?;
    if list.len() > 1000 {
        return Err("at most 1000 services".into());
    }
    for (i, s) in list.iter().enumerate() {
        let name = str_field(s, &["name"]).unwrap_or("");
        if !crate::keys::valid_id(name) {
            return Err(format!(
                "services[{i}].name must be 1-64 letters, digits, '-' or ':'"
            ));
        }
        let methods = match s.get("methods") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(m)) => m.as_slice(),
            Some(_) => return Err(format!("services[{i}].methods must be an array")),
        };
        for (j, m) in methods.iter().enumerate() {
            let at = format!("services[{i}].methods[{j}]");
            if !crate::keys::valid_id(str_field(m, &["name"]).unwrap_or("")) {
                return Err(format!(
                    "{at}.name must be 1-64 letters, digits, '-' or ':'"
                ));
            }
            if !matches!(
                str_field(m, &["type"]).unwrap_or(""),
                "" | "action" | "mutation" | "query"
            ) {
                return Err(format!("{at}.type must be action, mutation or query"));
            }
            let f = str_field(m, &["bridgeFunction", "bridge_function"]).unwrap_or("");
            if f.is_empty() || f.len() > 512 || f.chars().any(|c| c.is_whitespace()) {
                return Err(format!(
                    "{at}.bridgeFunction must be a Convex function path (e.g. \"bridge:Svc_Method\")"
                ));
            }
        }
    }
    Ok(services)
}

/// The bridged method `service`.`method`, or the error code `SERVICE_NOT_FOUND` /
/// `METHOD_NOT_FOUND`.
pub fn find_method(
    services: &Value,
    service: &str,
    method: &str,
) -> Result<BridgeMethod, &'static str> {
    let s = services
        .as_array()
        .and_then(|l| l.iter().find(|s| str_field(s, &["name"]) == Some(service)))
        .ok_or("SERVICE_NOT_FOUND")?;
    let m = s
        .get("methods")
        .and_then(Value::as_array)
        .and_then(|l| l.iter().find(|m| str_field(m, &["name"]) == Some(method)))
        .ok_or("METHOD_NOT_FOUND")?;
    let kind = match str_field(m, &["type"]).unwrap_or("") {
        "" => "action",
        k => k,
    };
    Ok(BridgeMethod {
        kind: kind.to_string(),
        function: str_field(m, &["bridgeFunction", "bridge_function"])
            .unwrap_or("")
            .to_string(),
    })
}

/// The names of the bridged services.
pub fn service_names(services: &Value) -> Vec<String> {
    services
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|s| str_field(s, &["name"]))
                .filter(|n| crate::keys::valid_id(n))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
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
    fn services_are_checked_and_methods_found() {
        let v = serde_json::json!([{"name": "Sensor", "methods": [
            {"name": "Read", "bridgeFunction": "bridge:Sensor_Read"},
            {"name": "Count", "type": "mutation", "bridge_function": "bridge:Sensor_Count"}]}]);
        let v = validate_services(v).expect("valid");
        assert_eq!(
            find_method(&v, "Sensor", "Read"),
            Ok(BridgeMethod {
                kind: "action".into(),
                function: "bridge:Sensor_Read".into()
            })
        );
        assert_eq!(
            find_method(&v, "Sensor", "Count").map(|m| m.kind),
            Ok("mutation".into())
        );
        assert_eq!(find_method(&v, "Sensor", "Nope"), Err("METHOD_NOT_FOUND"));
        assert_eq!(find_method(&v, "Other", "Read"), Err("SERVICE_NOT_FOUND"));
        assert_eq!(service_names(&v), vec!["Sensor"]);
        assert_eq!(validate_services(Value::Null), Ok(serde_json::json!([])));
        for bad in [
            serde_json::json!({"name": "x"}),
            serde_json::json!([{"name": "a.b", "methods": []}]),
            serde_json::json!([{"name": "S", "methods": [{"name": "M"}]}]),
            serde_json::json!([{"name": "S", "methods": [{"name": "M", "type": "cron", "bridgeFunction": "f"}]}]),
        ] {
            assert!(validate_services(bad.clone()).is_err(), "{bad}");
        }
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
