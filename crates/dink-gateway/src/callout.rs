//! The NATS auth callout: nats-server asks, on `$SYS.REQ.USER.AUTH` in the GATEWAY account,
//! whether a CONNECT may proceed. The gateway looks up the `auth_token` (the API key), and answers
//! with a user JWT placed in the key's account (EDGES for edge keys, else APPS) carrying the key's permissions, or with an error.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::gateway::Gateway;
use crate::jwt;
use crate::keys;
use crate::natsd::APPS_ACCOUNT;
use crate::types::now_unix;

pub const CALLOUT_SUBJECT: &str = "$SYS.REQ.USER.AUTH";
/// Most callout requests handled at once.
const CONCURRENCY: usize = 64;

pub async fn spawn(gw: Arc<Gateway>) -> Result<JoinHandle<()>, String> {
    let state = gw.state.clone();
    let mut tasks = crate::serve::queue(&state, &[CALLOUT_SUBJECT], CONCURRENCY, move |msg| {
        let gw = gw.clone();
        async move {
            if let Some(reply) = msg.reply.clone() {
                let answer =
                    tokio::time::timeout(Duration::from_secs(2), answer(&gw, &msg.payload)).await;
                if let Ok(Some(token)) = answer {
                    let _ = gw.state.publish(reply, token.into()).await;
                }
            }
        }
    })
    .await?;
    tasks.pop().ok_or_else(|| "no callout task".to_string())
}

/// The signed authorization response, or `None` when the request itself is unusable.
async fn answer(gw: &Gateway, payload: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(payload).ok()?;
    let req = jwt::decode_verified(text).ok()?;
    let nats = req.get("nats")?;
    let user_nkey = nats.get("user_nkey").and_then(Value::as_str)?.to_string();
    let server_id = nats
        .get("server_id")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)?
        .to_string();
    let token = nats
        .get("connect_opts")
        .and_then(|c| c.get("auth_token"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let issuer_pub = gw.issuer.public_key();
    let now = now_unix();
    let outcome: Result<String, String> = if token.is_empty() && gw.cfg.dev_mode {
        // Dev mode only: an anonymous connection may ask `$DEV.SETUP` for keys, as `dinkd --dev`
        // allows. It gets no more than that, for 5 minutes (docs/gateway.md, "Dev mode").
        let perms = jwt::Permissions {
            publish: vec!["$DEV.SETUP".into()],
            subscribe: vec!["_INBOX.>".into()],
            subscribe_deny: Vec::new(),
            allow_responses: false,
        };
        let claims = jwt::user_claims(
            &issuer_pub,
            &user_nkey,
            APPS_ACCOUNT,
            "dev-anonymous",
            now,
            now + 300,
            &perms,
        );
        jwt::encode(&gw.issuer, claims)
    } else {
        match gw.authenticate(token).await {
            Ok(k) => {
                let ttl = gw.cfg.user_jwt_ttl.as_secs() as i64;
                let exp = match k.expires_unix() {
                    0 => now + ttl,
                    e => e.min(now + ttl),
                };
                let perms = keys::permissions(&k);
                let claims = jwt::user_claims(
                    &issuer_pub,
                    &user_nkey,
                    keys::account_of(&k),
                    &k.id,
                    now,
                    exp,
                    &perms,
                );
                jwt::encode(&gw.issuer, claims)
            }
            Err(_) => Err("authorization violation: unknown, expired or revoked key".into()),
        }
    };
    match &outcome {
        Ok(_) => gw.metrics.auth_accepted.fetch_add(1, Ordering::Relaxed),
        Err(_) => gw.metrics.auth_refused.fetch_add(1, Ordering::Relaxed),
    };
    let response = jwt::authorization_response(&issuer_pub, &user_nkey, &server_id, now, outcome);
    jwt::encode(&gw.issuer, response).ok()
}
