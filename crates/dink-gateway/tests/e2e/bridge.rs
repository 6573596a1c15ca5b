//! (7) The bridge relay: an edge's `callCenter(service, method, payload)` on
//! `center.<app>.services.<Service>.<Method>` reaches the Convex function the bridge
//! configuration maps it to, with its bridge token as `_dink`.
//!
//! Convex here is a TEST DOUBLE: no Convex backend runs in these tests. [`Double`] is a small
//! axum server on 127.0.0.1 imitating Convex's public HTTP function API (`POST /api/action`,
//! `/api/mutation`, `/api/query` with `{path, args, format:"json"}`, answering
//! `{"status":"success","value"}` or `{"status":"error","errorMessage"}`). It records every
//! request and checks `args._dink` with the bridge secret exactly as `verifyDinkToken` does
//! (HMAC-SHA256 hex of `{"appId","edgeId","exp","groups":[sorted]}`), answering Convex's error
//! for an expired or forged token.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use dink_gateway::types::now_unix;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::*;

const DEPLOY_KEY: &str = "dev:test-deployment|secret-deploy-key";

// ---- the Convex test double ----------------------------------------------------------------

#[derive(Default)]
struct Double {
    /// The bridge secret (`DINK_BRIDGE_SECRET`) its functions verify tokens with.
    secret: Mutex<String>,
    /// `(kind, body, authorization header)` of every request.
    calls: Mutex<Vec<(String, Value, String)>>,
}

type D = State<Arc<Double>>;

fn hex_hmac(secret: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac");
    mac.update(payload.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `verifyDinkToken(token, secret)`: the identity, or Convex's error message.
fn verify(token: &Value, secret: &str) -> Result<Value, String> {
    let mut groups: Vec<String> = token["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    groups.sort();
    // serde_json's map is ordered by key: appId, edgeId, exp, groups (the canonical order).
    let canonical = json!({
        "appId": token["appId"], "edgeId": token["edgeId"], "exp": token["exp"], "groups": groups,
    })
    .to_string();
    if token["sig"].as_str() != Some(hex_hmac(secret, &canonical).as_str()) {
        return Err("Invalid Dink token signature".into());
    }
    if token["exp"].as_i64().unwrap_or(0) <= now_unix() {
        return Err("Dink token expired".into());
    }
    Ok(json!({ "edgeId": token["edgeId"], "appId": token["appId"], "groups": groups }))
}

fn convex_error(status: StatusCode, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({ "status": "error", "errorMessage": message, "logLines": [] })),
    )
}

async fn function(
    State(d): D,
    Path(kind): Path<String>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let auth = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    d.calls
        .lock()
        .expect("lock")
        .push((kind.clone(), body.clone(), auth));
    if body["format"] != "json" {
        return convex_error(StatusCode::BAD_REQUEST, "format must be json");
    }
    let secret = d.secret.lock().expect("lock").clone();
    let args = &body["args"];
    // The generated bridge wrapper: strip and verify `_dink`, then run the function.
    let identity = match verify(&args["_dink"], &secret) {
        Ok(i) => i,
        Err(m) => return convex_error(StatusCode::BAD_REQUEST, &m),
    };
    match body["path"].as_str().unwrap_or("") {
        "bridge:Sensor_Read" => (
            StatusCode::OK,
            Json(json!({ "status": "success", "value": {
                "reading": args["x"].as_i64().unwrap_or(0) * 2, "identity": identity,
            }, "logLines": [] })),
        ),
        "bridge:Sensor_Count" => (
            StatusCode::OK,
            Json(json!({ "status": "success", "value": 1, "logLines": [] })),
        ),
        "bridge:Sensor_Fail" => (
            StatusCode::BAD_REQUEST,
            Json(
                json!({ "status": "error", "errorMessage": "Uncaught ConvexError: sensor offline",
                "errorData": { "retry": false }, "logLines": [] }),
            ),
        ),
        "bridge:Sensor_Down" => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "code": "Overloaded" })),
        ),
        p => convex_error(
            StatusCode::NOT_FOUND,
            &format!("Could not find public function for '{p}'"),
        ),
    }
}

impl Double {
    async fn start() -> (Arc<Double>, String, tokio::task::JoinHandle<()>) {
        let d = Arc::new(Double::default());
        let app = Router::new()
            .route("/api/{kind}", post(function))
            .with_state(d.clone());
        let (url, h) = serve_http(app).await;
        (d, url, h)
    }

    fn calls(&self) -> Vec<(String, Value, String)> {
        self.calls.lock().expect("lock").clone()
    }
}

// ---- helpers --------------------------------------------------------------------------------

fn bridge_services() -> Value {
    json!([{ "name": "Sensor", "methods": [
        { "name": "Read", "type": "action", "bridgeFunction": "bridge:Sensor_Read",
          "originalFunction": "sensors:read", "auth": "required" },
        { "name": "Count", "type": "mutation", "bridgeFunction": "bridge:Sensor_Count" },
        { "name": "Fail", "bridgeFunction": "bridge:Sensor_Fail" },
        { "name": "Down", "bridgeFunction": "bridge:Sensor_Down" },
    ]}])
}

/// Create `app` (Convex URL = the double), bridge it with its master key over NATS; returns the
/// bridge secret.
async fn bridged_app(env: &Env, app: &str, convex_url: &str) -> String {
    let g = &env.gw.gateway;
    let (_, master) = g
        .create_app(app, "", Default::default())
        .await
        .expect("create app");
    g.configure_convex(app, convex_url, "https://x.convex.site", "")
        .await
        .expect("configure convex");
    let c = connect(&env.url(), &master).await.expect("master connects");
    let r = api(
        &c,
        &master,
        "$ADMIN.APPS.CONFIGURE_BRIDGE",
        json!({ "app_id": app, "secret": "", "deploy_key": DEPLOY_KEY, "services": bridge_services() }),
    )
    .await
    .expect("configure bridge");
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["data"]["services_count"], 1, "{r}");
    r["data"]["bridge_secret"]
        .as_str()
        .expect("secret")
        .to_string()
}

/// An edge of `app` connected with its own key, and its bridge token.
async fn edge_with_token(env: &Env, app: &str, edge: &str) -> (async_nats::Client, Value) {
    let key = env.key(app, "edge", Some(edge), None).await;
    let c = connect(&env.url(), &key).await.expect("edge connects");
    let r = api(
        &c,
        &key,
        &format!("$EDGE.{app}.{edge}.CONVEX_TOKEN"),
        json!({}),
    )
    .await
    .expect("token");
    assert_eq!(r["success"], true, "{r}");
    (c, r["data"].clone())
}

/// `callCenter`: a request on `center.<app>.services.<svc>.<method>` as an edge sends it.
async fn call_center(
    c: &async_nats::Client,
    app: &str,
    edge: &str,
    svc_method: &str,
    body: Value,
) -> Value {
    let mut h = async_nats::HeaderMap::new();
    h.insert("Dink-Edge-ID", edge);
    h.insert("Dink-Groups", "");
    let subject = format!("center.{app}.services.{svc_method}");
    let fut = c.request_with_headers(subject.clone(), h, body.to_string().into());
    let msg = tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .unwrap_or_else(|_| panic!("no reply on {subject}"))
        .unwrap_or_else(|e| panic!("request {subject}: {e}"));
    json(&String::from_utf8_lossy(&msg.payload))
}

// ---- tests ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_edge_calls_a_convex_function_through_the_bridge() {
    let env = Env::start().await;
    let (double, url, _server) = Double::start().await;
    let secret = bridged_app(&env, "app-a", &url).await;
    *double.secret.lock().expect("lock") = secret.clone();
    let (edge, token) = edge_with_token(&env, "app-a", "e1").await;

    // Success: path, args = payload + `_dink`, the deploy key; the value reaches the edge.
    let r = call_center(
        &edge,
        "app-a",
        "e1",
        "Sensor.Read",
        json!({ "payload": { "x": 21 }, "_dink": token }),
    )
    .await;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["data"]["reading"], 42, "{r}");
    assert_eq!(r["data"]["identity"]["edgeId"], "e1", "{r}");
    assert_eq!(r["data"]["identity"]["appId"], "app-a", "{r}");
    let calls = double.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (kind, body, auth) = &calls[0];
    assert_eq!(kind, "action");
    assert_eq!(body["path"], "bridge:Sensor_Read");
    assert_eq!(body["format"], "json");
    assert_eq!(body["args"]["x"], 21);
    assert_eq!(body["args"]["_dink"], token);
    assert_eq!(auth, &format!("Convex {DEPLOY_KEY}"));

    // A mutation goes to /api/mutation; no payload is `{}` plus the token.
    let r = call_center(
        &edge,
        "app-a",
        "e1",
        "Sensor.Count",
        json!({ "_dink": token }),
    )
    .await;
    assert_eq!(r, json!({ "success": true, "data": 1 }));
    let (kind, body, _) = double.calls().pop().expect("call");
    assert_eq!(kind, "mutation");
    assert_eq!(body["args"], json!({ "_dink": token }));

    // Not in the bridge configuration: answered by the gateway, Convex not called.
    let before = double.calls().len();
    let r = call_center(
        &edge,
        "app-a",
        "e1",
        "Sensor.Nope",
        json!({ "payload": {}, "_dink": token }),
    )
    .await;
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(r["error"]["code"], "METHOD_NOT_FOUND", "{r}");
    // A payload that is not an object.
    let r = call_center(
        &edge,
        "app-a",
        "e1",
        "Sensor.Read",
        json!({ "payload": [1, 2], "_dink": token }),
    )
    .await;
    assert_eq!(r["error"]["code"], "BAD_REQUEST", "{r}");
    // No token at all.
    let r = call_center(
        &edge,
        "app-a",
        "e1",
        "Sensor.Read",
        json!({ "payload": {} }),
    )
    .await;
    assert_eq!(r["error"]["code"], "BAD_REQUEST", "{r}");
    assert_eq!(double.calls().len(), before, "nothing reached Convex");

    // Convex answers an error: CONVEX_ERROR with its message (and errorData).
    let r = call_center(
        &edge,
        "app-a",
        "e1",
        "Sensor.Fail",
        json!({ "payload": {}, "_dink": token }),
    )
    .await;
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(r["error"]["code"], "CONVEX_ERROR", "{r}");
    assert_eq!(
        r["error"]["message"], "Uncaught ConvexError: sensor offline",
        "{r}"
    );
    assert_eq!(r["error"]["data"]["retry"], false, "{r}");

    // An expired token is relayed (the gateway does not verify it); Convex refuses it.
    let expired = dink_gateway::bridge::mint(&secret, "app-a", "e1", &[], now_unix() - 5);
    let r = call_center(
        &edge,
        "app-a",
        "e1",
        "Sensor.Read",
        json!({ "payload": { "x": 1 }, "_dink": expired }),
    )
    .await;
    assert_eq!(r["error"]["code"], "CONVEX_ERROR", "{r}");
    assert_eq!(r["error"]["message"], "Dink token expired", "{r}");

    // Convex down (503 without a Convex error body): a short bounded retry, then UNAVAILABLE.
    let before = double.calls().len();
    let r = call_center(
        &edge,
        "app-a",
        "e1",
        "Sensor.Down",
        json!({ "payload": {}, "_dink": token }),
    )
    .await;
    assert_eq!(r["error"]["code"], "UNAVAILABLE", "{r}");
    assert_eq!(
        double.calls().len() - before,
        dink_gateway::relay::ATTEMPTS as usize
    );

    let (_, m) = http(&env.http(), "GET", "/metrics", None, None).await;
    for line in [
        "dink_bridge_calls_total{outcome=\"success\"} 2",
        "dink_bridge_calls_total{outcome=\"method_not_found\"} 1",
        "dink_bridge_calls_total{outcome=\"bad_request\"} 2",
        "dink_bridge_calls_total{outcome=\"convex_error\"} 2",
        "dink_bridge_calls_total{outcome=\"unavailable\"} 1",
    ] {
        assert!(m.contains(line), "{line} missing in\n{m}");
    }
}

#[tokio::test]
async fn tokens_stay_in_their_app_and_center_processes_keep_their_services() {
    let env = Env::start().await;
    let (double, url, _server) = Double::start().await;
    let secret = bridged_app(&env, "app-a", &url).await;
    *double.secret.lock().expect("lock") = secret;
    bridged_app(&env, "app-b", &url).await;
    let (edge_a, _) = edge_with_token(&env, "app-a", "e1").await;
    let (_edge_b, token_b) = edge_with_token(&env, "app-b", "e1").await;

    // app-a's edge presents app-b's token: FORBIDDEN, Convex not called.
    let r = call_center(
        &edge_a,
        "app-a",
        "e1",
        "Sensor.Read",
        json!({ "payload": { "x": 1 }, "_dink": token_b }),
    )
    .await;
    assert_eq!(r["success"], false, "{r}");
    assert_eq!(r["error"]["code"], "FORBIDDEN", "{r}");
    assert!(double.calls().is_empty(), "{:?}", double.calls());

    // An edge cannot even publish on another app's center subjects (NATS permissions).
    let mut h = async_nats::HeaderMap::new();
    h.insert("Dink-Edge-ID", "e1");
    let denied = tokio::time::timeout(
        Duration::from_secs(1),
        edge_a.request_with_headers("center.app-b.services.Sensor.Read", h, "{}".into()),
    )
    .await;
    assert!(
        !matches!(denied, Ok(Ok(_))),
        "an app-a edge got a reply from app-b's center"
    );

    // A center service registered by a real center process (not bridged) is answered by it.
    let sync_key = env.key("app-a", "center", None, None).await;
    let center = connect(&env.url(), &sync_key)
        .await
        .expect("center connects");
    let mut sub = center
        .subscribe("center.app-a.services.Clock.>")
        .await
        .expect("subscribe");
    let r = api(
        &center,
        &sync_key,
        "$API.SERVICES.REGISTER",
        json!({ "name": "Clock", "version": "1", "methods": [{ "name": "Now" }] }),
    )
    .await
    .expect("register");
    assert_eq!(r["success"], true, "{r}");
    let responder = center.clone();
    let served = tokio::spawn(async move {
        use futures_util::StreamExt;
        if let Some(m) = sub.next().await {
            if let Some(reply) = m.reply {
                let _ = responder
                    .publish(reply, r#"{"success":true,"data":"noon"}"#.into())
                    .await;
                let _ = responder.flush().await;
            }
        }
    });
    let r = call_center(
        &edge_a,
        "app-a",
        "e1",
        "Clock.Now",
        json!({ "payload": {} }),
    )
    .await;
    assert_eq!(r, json!({ "success": true, "data": "noon" }));
    tokio::time::timeout(Duration::from_secs(5), served)
        .await
        .expect("center served")
        .expect("task");

    // The same goes for a bridged service name once a center process registers it: the relay
    // steps aside (the request below gets no responders instead of a Convex call).
    let r = api(
        &center,
        &sync_key,
        "$API.SERVICES.REGISTER",
        json!({ "name": "Sensor", "version": "1", "methods": [{ "name": "Read" }] }),
    )
    .await
    .expect("register Sensor");
    assert_eq!(r["success"], true, "{r}");
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        edge_a.request("center.app-a.services.Sensor.Read", "{}".into()),
    )
    .await
    .expect("bounded");
    assert!(
        matches!(&res, Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders),
        "{res:?}"
    );
    assert!(double.calls().is_empty());
}

#[tokio::test]
async fn an_app_without_a_convex_url_is_not_configured() {
    let env = Env::start().await;
    bridged_app(&env, "app-c", "").await;
    let (edge, token) = edge_with_token(&env, "app-c", "e1").await;
    let r = call_center(
        &edge,
        "app-c",
        "e1",
        "Sensor.Read",
        json!({ "payload": {}, "_dink": token }),
    )
    .await;
    assert_eq!(r["error"]["code"], "NOT_CONFIGURED", "{r}");
    // A bad bridge configuration is refused up front.
    let g = &env.gw.gateway;
    let e = g
        .configure_bridge(
            "app-c",
            "",
            "",
            json!([{ "name": "S", "methods": [{ "name": "M" }] }]),
        )
        .await
        .expect_err("no bridgeFunction");
    assert_eq!(e.code, "BAD_REQUEST");
}
