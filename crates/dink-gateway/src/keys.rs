//! API keys in dinkd's formats (dink-protocol.md §2.1), their hashes, scopes and bundles (§2.3),
//! and the NATS permissions this gateway grants for them (docs/gateway.md, "Permissions").

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::jwt::Permissions;
use crate::types::KeyMetadata;

pub const ALL_SCOPES: &[&str] = &[
    "services:expose",
    "services:call",
    "services:call:center",
    "services:call:edge",
    "services:call:peer",
    "services:expose:peer",
    "events:publish",
    "events:subscribe",
    "streams:read",
    "streams:write",
    "edges:discover",
    "kv:read",
    "kv:write",
    "sync:read",
    "sync:write",
    "apps:manage",
    "keys:manage",
    "admin",
    "webhooks:manage",
    "tunnel:expose",
    "tunnel:domain",
];

/// Expand one bundle into scopes; `None` for an unknown bundle.
pub fn bundle(name: &str) -> Option<Vec<&'static str>> {
    let edge = vec![
        "services:expose",
        "services:call:center",
        "events:publish",
        "events:subscribe",
        "kv:read",
        "kv:write",
        "sync:read",
        "sync:write",
        "webhooks:manage",
        "tunnel:expose",
    ];
    Some(match name {
        "bundle:admin" => vec!["admin"],
        "bundle:app-master" => vec!["apps:manage", "keys:manage"],
        "bundle:center-service" => vec![
            "services:expose",
            "services:call:edge",
            "events:publish",
            "events:subscribe",
            "kv:read",
            "kv:write",
            "edges:discover",
            "sync:read",
            "sync:write",
            "webhooks:manage",
        ],
        "bundle:edge" => edge,
        "bundle:edge-sensor" => vec!["events:publish", "kv:write"],
        "bundle:edge-gateway" => {
            let mut v = edge;
            v.extend(["streams:read", "streams:write"]);
            v
        }
        "bundle:edge-peer" => {
            let mut v = edge;
            v.extend([
                "services:call:peer",
                "services:expose:peer",
                "edges:discover",
            ]);
            v
        }
        "bundle:client" => vec![
            "services:call:center",
            "services:call:edge",
            "events:subscribe",
            "edges:discover",
            "kv:read",
        ],
        _ => return None,
    })
}

/// Key type name (`edge`, ...) to its type code in the key string.
pub fn type_code(key_type: &str) -> Option<&'static str> {
    Some(match key_type {
        "admin" => "am",
        "center" => "ct",
        "edge" => "ed",
        "client" => "cl",
        _ => return None,
    })
}

/// The default bundle of a key type.
pub fn default_bundle(key_type: &str) -> &'static str {
    match key_type {
        "admin" => "bundle:admin",
        "edge" => "bundle:edge",
        "client" => "bundle:client",
        _ => "bundle:center-service",
    }
}

/// dinkd's naming rule (§2.1): letters, digits, `-` and `:`; 1 to 64 characters.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':')
}

/// Hex SHA-256 of the full key string: what is stored.
pub fn key_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// The key id: `k` + the first 24 hex digits of the key's SHA-256. Derivable by the holder,
/// so a client knows its private inbox prefix (`_INBOX_<key id>`) before connecting.
pub fn key_id(secret: &str) -> String {
    let h = key_hash(secret);
    format!("k{}", &h[..24])
}

/// Private inbox prefix of a key: clients holding a non-admin key must use it
/// (async-nats `custom_inbox_prefix`, nats.go `CustomInboxPrefix`). Its first token is not
/// `_INBOX`, so the 3-token default inboxes a tunnel edge may read (`_INBOX.*.*`) and the deny
/// that confines it there (`_INBOX.*.*.>`) never touch a private inbox.
pub fn inbox_prefix(secret: &str) -> String {
    format!("_INBOX_{}", key_id(secret))
}

/// Constant-time comparison of a presented key with a stored hash.
pub fn hash_matches(secret: &str, stored_hash: &str) -> bool {
    let h = key_hash(secret);
    h.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn random_part() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
}

/// A new key string: `dk_<env>_<code>_<app>_[<edge>_]<random>`; the bootstrap admin key uses
/// `root` as its app segment.
pub fn generate(env: &str, key_type: &str, app: &str, edge: Option<&str>) -> Option<String> {
    let code = type_code(key_type)?;
    let app = if app.is_empty() { "root" } else { app };
    Some(match edge {
        Some(e) => format!("dk_{env}_{code}_{app}_{e}_{}", random_part()),
        None => format!("dk_{env}_{code}_{app}_{}", random_part()),
    })
}

/// `(app, edge)` of an edge key string (§2.1 parsing), or `None`.
pub fn parse_edge_key(key: &str) -> Option<(&str, &str)> {
    let main = key.split('.').next().unwrap_or(key);
    let parts: Vec<&str> = main.splitn(6, '_').collect();
    if parts.len() < 6 || parts[2] != "ed" {
        return None;
    }
    Some((parts[3], parts[4]))
}

/// Parse `expires_in` ("", "90s", "30m", "24h", "7d") into seconds; `Ok(None)` for no expiry.
pub fn parse_expires_in(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let (num, unit) = s.split_at(s.len() - 1);
    let n: i64 = num.parse().map_err(|_| format!("bad expires_in {s:?}"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("bad expires_in {s:?} (use s, m, h or d)")),
    };
    if n <= 0 || n > 3650 * 86400 / mult {
        return Err(format!("expires_in {s:?} out of range"));
    }
    Ok(Some(n * mult))
}

/// Scopes from a bundle plus explicit scopes; errors on unknown names.
pub fn resolve_scopes(bundle_name: &str, scopes: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    if !bundle_name.is_empty() {
        let b =
            bundle(bundle_name).ok_or_else(|| format!("unknown scope bundle {bundle_name:?}"))?;
        out.extend(b.into_iter().map(String::from));
    }
    for s in scopes {
        if let Some(b) = s.strip_prefix("bundle:").and_then(|_| bundle(s)) {
            out.extend(b.into_iter().map(String::from));
        } else if ALL_SCOPES.contains(&s.as_str()) {
            out.push(s.clone());
        } else {
            return Err(format!("unknown scope {s:?}"));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

pub fn has_scope(k: &KeyMetadata, scope: &str) -> bool {
    k.scopes.iter().any(|s| s == scope || s == "admin")
}

/// Is this the bootstrap admin key (admin of every app)?
pub fn is_root(k: &KeyMetadata) -> bool {
    k.app_id.is_empty() && k.scopes.iter().any(|s| s == "admin")
}

/// The config-mode account a connection with key `k` is placed in (docs/gateway.md, "Accounts").
pub fn account_of(k: &KeyMetadata) -> &'static str {
    if k.key_type == "edge" && !is_root(k) {
        crate::natsd::EDGES_ACCOUNT
    } else {
        crate::natsd::APPS_ACCOUNT
    }
}

/// The NATS permissions granted to a connection authenticated with key `k` (docs/gateway.md).
pub fn permissions(k: &KeyMetadata) -> Permissions {
    if is_root(k) {
        return Permissions {
            publish: vec![">".into()],
            subscribe: vec![">".into()],
            subscribe_deny: Vec::new(),
            allow_responses: false,
        };
    }
    let a = &k.app_id;
    // No `_INBOX` publish at all: replies go out through `allow_responses`.
    let mut p: Vec<String> = vec![
        "$API.HEALTH".into(),
        "$ADMIN.HEALTH".into(),
        "$API.DISCOVERY.>".into(),
        format!("jobs.{a}.>"),
    ];
    let mut s: Vec<String> = vec![
        format!("_INBOX_{}.>", k.id),
        format!("broadcast.{a}.>"),
        format!("jobs.{a}.>"),
    ];
    let mut deny: Vec<String> = Vec::new();
    let edge = k.edge_id.as_deref().filter(|_| k.key_type == "edge");
    if let Some(e) = edge {
        p.extend([
            "$EDGE.PRESENCE.REGISTER".into(),
            "$EDGE.PRESENCE.HEARTBEAT".into(),
            "$EDGE.PRESENCE.DEREGISTER".into(),
            format!("$EDGE.{a}.{e}.CONVEX_TOKEN"),
        ]);
        s.push(format!("$EDGE.{a}.{e}.>"));
    }
    let app_admin = k.scopes.iter().any(|x| x == "admin");
    for scope in &k.scopes {
        match scope.as_str() {
            "services:expose" => {
                match edge {
                    Some(e) => {
                        p.push(format!("edge.{a}.{e}.>"));
                        s.push(format!("edge.{a}.{e}.>"));
                    }
                    None => s.push(format!("center.{a}.services.>")),
                }
                p.extend([
                    "$API.SERVICES.REGISTER".into(),
                    "$API.SERVICES.DEREGISTER".into(),
                ]);
            }
            "services:call" | "services:call:edge" => p.push(format!("edge.{a}.*.services.>")),
            "services:call:center" => p.push(format!("center.{a}.services.>")),
            "events:publish" => p.push(format!("events.{a}.>")),
            "events:subscribe" => s.push(format!("events.{a}.>")),
            "edges:discover" => p.extend([
                "$API.EDGES.LIST".into(),
                "$API.EDGES.GET".into(),
                "$API.EDGES.DISCOVER".into(),
                "$API.SERVICES.LIST".into(),
                "$API.SERVICES.GET".into(),
                "$API.SERVICES.DESCRIBE".into(),
                "$API.SERVICES.DESCRIBE_METHOD".into(),
            ]),
            // An edge's sync subjects name it (`$SYNC.<app>.<edge>.>`): it cannot push as,
            // nor read the events of, another edge. Other keys keep the app's whole tree.
            "sync:read" => s.push(match edge {
                Some(e) => format!("$SYNC.{a}.{e}.>"),
                None => format!("$SYNC.{a}.>"),
            }),
            "sync:write" => p.push(match edge {
                Some(e) => format!("$SYNC.{a}.{e}.>"),
                None => format!("$SYNC.{a}.>"),
            }),
            "keys:manage" => p.push("$API.KEYS.>".into()),
            "apps:manage" => p.extend(["$ADMIN.APPS.>".into(), "$ADMIN.EDGES.>".into()]),
            // `dink tunnel` (nats.go) reads replies on the default 3-token inbox
            // `_INBOX.<nuid>.<n>`; only edge keys get it, in the EDGES account, where no APPS
            // reply can land (docs/gateway.md, "Tunnels").
            "tunnel:expose" | "tunnel:domain" => {
                if let Some(e) = edge {
                    p.extend([
                        "$TUNNEL.REGISTER".into(),
                        "$TUNNEL.UNREGISTER".into(),
                        "$TUNNEL.LIST".into(),
                    ]);
                    s.extend(["_INBOX.*.*".into(), format!("edge.{a}.{e}.tunnel.>")]);
                    // `_INBOX.*.*` would also admit `_INBOX.<x>.>`, reading longer inboxes.
                    deny.push("_INBOX.*.*.>".into());
                }
            }
            _ => {} // kv, streams, webhooks, peer: not mapped in this slice
        }
    }
    if app_admin {
        p.extend([
            "$API.>".into(),
            "$ADMIN.>".into(),
            format!("$EDGE.{a}.>"),
            format!("edge.{a}.>"),
            format!("center.{a}.>"),
            format!("events.{a}.>"),
            format!("$SYNC.{a}.>"),
            format!("broadcast.{a}.>"),
        ]);
        s.extend([
            format!("events.{a}.>"),
            format!("$SYNC.{a}.>"),
            format!("center.{a}.>"),
        ]);
    }
    p.sort();
    p.dedup();
    s.sort();
    s.dedup();
    deny.dedup();
    Permissions {
        publish: p,
        subscribe: s,
        subscribe_deny: deny,
        allow_responses: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_key_format_round_trips() {
        let k = generate("dev", "edge", "app-1", Some("e:1")).expect("edge key");
        assert!(k.starts_with("dk_dev_ed_app-1_e:1_"));
        assert_eq!(parse_edge_key(&k), Some(("app-1", "e:1")));
        assert_eq!(
            parse_edge_key("dk_dev_ed_app_edge_rand_with_underscores.bmF0cw"),
            Some(("app", "edge"))
        );
        assert_eq!(parse_edge_key("dk_dev_ct_app_x"), None);
        assert!(hash_matches(&k, &key_hash(&k)));
        assert!(!hash_matches("other", &key_hash(&k)));
        assert_eq!(key_id(&k).len(), 25);
    }

    #[test]
    fn ids_and_expiry() {
        assert!(valid_id("edge-1:a"));
        assert!(!valid_id("a_b") && !valid_id("a.b") && !valid_id("") && !valid_id("a b"));
        assert_eq!(parse_expires_in("24h"), Ok(Some(86400)));
        assert_eq!(parse_expires_in(""), Ok(None));
        assert!(parse_expires_in("3x").is_err() && parse_expires_in("-1h").is_err());
    }

    #[test]
    fn bundles() {
        let s = resolve_scopes("bundle:edge-peer", &["keys:manage".into()]).expect("scopes");
        assert!(
            s.contains(&"services:call:peer".to_string()) && s.contains(&"keys:manage".to_string())
        );
        assert!(resolve_scopes("bundle:nope", &[]).is_err());
        assert!(resolve_scopes("", &["nope".into()]).is_err());
    }
}
