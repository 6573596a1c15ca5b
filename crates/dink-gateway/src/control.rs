//! The NATS control plane (dink-protocol.md §5): `$ADMIN.*`, `$API.*`, `$EDGE.PRESENCE.*`,
//! `$TUNNEL.*` and
//! (dev mode) `$DEV.SETUP`, answered in the `{success, data | error:{code,message}}` envelope.
//! Every request but `$DEV.SETUP` must carry `Authorization: Bearer <key>`; the app is the key's.
//! All gateway processes subscribe in the queue group `dink-gateway`, so one answers each request.

use std::sync::Arc;
use std::time::Duration;

use async_nats::Message;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::gateway::*;
use crate::keys;
use crate::types::*;

const SUBJECTS: &[&str] = &[
    "$API.>",
    "$ADMIN.>",
    "$EDGE.PRESENCE.>",
    "$EDGE.*.*.CONVEX_TOKEN",
    "$TUNNEL.>",
    "$DEV.SETUP",
];
const CONCURRENCY: usize = 256;
const HANDLER_TIME: Duration = Duration::from_secs(20);

pub async fn spawn(gw: Arc<Gateway>) -> Result<Vec<JoinHandle<()>>, String> {
    let bus = gw.bus.clone();
    crate::serve::queue(&bus, SUBJECTS, CONCURRENCY, move |msg| {
        let gw = gw.clone();
        async move {
            let out = match tokio::time::timeout(HANDLER_TIME, handle(&gw, &msg)).await {
                Ok(Ok(v)) => ok_envelope(v),
                Ok(Err(e)) => e.envelope(),
                Err(_) => err_envelope("TIMEOUT", "the gateway took too long"),
            };
            if let Some(r) = msg.reply.clone() {
                let _ = gw.bus.publish(r, out.to_string().into()).await;
            }
        }
    })
    .await
}

/// The key in `Authorization: Bearer <key>`, if any.
pub fn bearer(msg: &Message) -> Option<String> {
    let v = msg.headers.as_ref()?.get("Authorization")?.as_str().trim();
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?
        .trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn require(k: &KeyMetadata, scopes: &[&str]) -> ApiResult<()> {
    if keys::has_scope(k, "admin") || scopes.iter().any(|s| keys::has_scope(k, s)) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this key lacks the scope {}",
            scopes.join(" or ")
        )))
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(|e| ApiError::internal(e.to_string()))
}

#[derive(Deserialize, Default)]
struct AppIdBody {
    #[serde(default)]
    app_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct AppCreate {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    labels: Option<Labels>,
}

#[derive(Deserialize, Default)]
struct ConfigureConvex {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    convex_url: String,
    #[serde(default)]
    convex_site_url: String,
    #[serde(default)]
    sync_key: String,
}

#[derive(Deserialize, Default)]
struct ConfigureBridge {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    deploy_key: String,
    #[serde(default)]
    services: Value,
}

#[derive(Deserialize, Default)]
struct EdgesBody {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    edge_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    online_only: Option<bool>,
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    method_name: Option<String>,
    #[serde(default)]
    labels: Option<Labels>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct KeysBody {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default, rename = "type")]
    key_type: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct ServicesBody {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    service_id: Option<String>,
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    method_name: Option<String>,
    #[serde(default)]
    edge_id: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    online_only: Option<bool>,
}

async fn handle(gw: &Gateway, msg: &Message) -> ApiResult<Value> {
    let subject = msg.subject.as_str();
    let body = &msg.payload[..];
    if body.len() > MAX_BODY {
        return Err(ApiError::new("PAYLOAD_TOO_LARGE", 413, "body too large"));
    }
    if subject == "$DEV.SETUP" {
        return gw.dev_setup(&parse_body(body)?).await;
    }
    let secret = bearer(msg).ok_or_else(ApiError::unauthorized)?;
    let k = gw.authenticate(&secret).await?;
    match subject {
        "$ADMIN.HEALTH" | "$API.HEALTH" => {
            let app = (!keys::is_root(&k)).then_some(k.app_id.as_str());
            Ok(gw.health(app).await)
        }
        "$ADMIN.APPS.LIST" => {
            if keys::is_root(&k) {
                to_value(&gw.list_apps().await?)
            } else {
                to_value(&vec![gw.get_app(&k.app_id).await?])
            }
        }
        "$ADMIN.APPS.GET" => {
            let b: AppIdBody = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            to_value(&gw.get_app(&app).await?)
        }
        "$ADMIN.APPS.CREATE" => {
            if !keys::is_root(&k) {
                return Err(ApiError::forbidden(
                    "only the bootstrap admin key creates apps",
                ));
            }
            let b: AppCreate = parse_body(body)?;
            let (app, api_key) = gw
                .create_app(&b.name, &b.description, b.labels.unwrap_or_default())
                .await?;
            Ok(json!({ "app": app, "api_key": api_key }))
        }
        "$ADMIN.APPS.CONFIGURE_CONVEX" => {
            require(&k, &["apps:manage"])?;
            let b: ConfigureConvex = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            gw.configure_convex(&app, &b.convex_url, &b.convex_site_url, &b.sync_key)
                .await
        }
        "$ADMIN.APPS.CONFIGURE_BRIDGE" => {
            require(&k, &["apps:manage"])?;
            let b: ConfigureBridge = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            gw.configure_bridge(&app, &b.secret, &b.deploy_key, b.services)
                .await
        }
        "$ADMIN.EDGES.LIST" => {
            require(&k, &["apps:manage", "edges:discover"])?;
            let b: EdgesBody = parse_body(body)?;
            let apps: Vec<String> = match (
                keys::is_root(&k),
                b.app_id.as_deref().filter(|a| !a.is_empty()),
            ) {
                (true, Some(a)) => vec![a.to_string()],
                (true, None) => gw.list_apps().await?.into_iter().map(|a| a.id).collect(),
                (false, a) => vec![gw.app_for(&k, a).await?],
            };
            let f = EdgeFilter {
                status: b.status.clone(),
                ..Default::default()
            };
            let mut out = Vec::new();
            for a in apps {
                let name = gw.store.app(&a).await?.map(|x| x.name).unwrap_or_default();
                for e in gw.list_edges(&a, &f).await? {
                    let mut v = to_value(&e)?;
                    v["app_name"] = Value::String(name.clone());
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        "$API.KEYS.CREATE" => {
            require(&k, &["keys:manage"])?;
            let b: CreateKeyRequest = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            gw.create_key(&k, &app, &b).await
        }
        "$API.KEYS.ROTATE" => {
            require(&k, &["keys:manage"])?;
            let b: KeysBody = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            gw.rotate_key(&k, &app, b.key_id.as_deref().unwrap_or(""))
                .await
        }
        "$ADMIN.APPS.REGENERATE_SYNC_KEY" | "$ADMIN.APPS.CONVEX_STATUS" => {
            require(&k, &["apps:manage"])?;
            let b: AppIdBody = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            if subject == "$ADMIN.APPS.REGENERATE_SYNC_KEY" {
                gw.regenerate_sync_key(&app).await
            } else {
                gw.convex_status(&app).await
            }
        }
        "$API.KEYS.LIST" | "$API.KEYS.GET" | "$API.KEYS.REVOKE" => {
            require(&k, &["keys:manage"])?;
            let b: KeysBody = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            let id = b.key_id.as_deref().unwrap_or("");
            match subject {
                "$API.KEYS.LIST" => to_value(&gw.list_keys(&app, b.key_type.as_deref()).await?),
                "$API.KEYS.GET" => to_value(&gw.get_key(&app, id).await?.public()),
                _ => {
                    gw.revoke_key(&app, id, b.reason.as_deref().unwrap_or(""))
                        .await
                }
            }
        }
        "$API.EDGES.LIST" | "$API.EDGES.GET" | "$API.EDGES.DISCOVER" | "$API.EDGES.KICK" => {
            let b: EdgesBody = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            match subject {
                "$API.EDGES.KICK" => {
                    require(&k, &["admin"])?;
                    let edge = b.edge_id.as_deref().unwrap_or("");
                    gw.kick(&app, edge, b.reason.as_deref().unwrap_or("kicked"))
                        .await
                }
                _ => {
                    require(&k, &["edges:discover"])?;
                    let f = EdgeFilter {
                        online_only: b.online_only.unwrap_or(false)
                            || subject == "$API.EDGES.DISCOVER",
                        status: b.status.clone(),
                        service: b.service_name.clone(),
                        method: b.method_name.clone(),
                        labels: b.labels.clone().unwrap_or_default(),
                        edge_ids: None,
                    };
                    if subject == "$API.EDGES.GET" {
                        to_value(
                            &gw.get_edge(&app, b.edge_id.as_deref().unwrap_or(""))
                                .await?,
                        )
                    } else {
                        if subject == "$API.EDGES.DISCOVER"
                            && f.service.as_deref().unwrap_or("").is_empty()
                        {
                            return Err(ApiError::bad("service_name is required"));
                        }
                        to_value(&gw.list_edges(&app, &f).await?)
                    }
                }
            }
        }
        "$API.DISCOVERY.QUERY" => {
            let b: ServicesBody = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            let name = b.service_name.or(b.service_id).unwrap_or_default();
            let f = EdgeFilter {
                online_only: b.online_only.unwrap_or(true),
                service: Some(name.clone()).filter(|n| !n.is_empty()),
                method: b.method_name.clone(),
                ..Default::default()
            };
            let edges = gw.list_edges(&app, &f).await?;
            let mut services = gw.list_services(&app, None, None).await?;
            services.retain(|s| {
                (name.is_empty() || s.name == name)
                    && edges.iter().any(|e| s.edge_id.as_deref() == Some(&e.id))
            });
            Ok(json!({ "services": services, "edges": edges }))
        }
        "$API.SERVICES.REGISTER" => {
            let descriptor: Value = parse_body(body)?;
            let d = descriptor.get("descriptor").cloned().unwrap_or(descriptor);
            let info = gw.register_service(&k, d).await?;
            if info.location == "center" {
                // A center process now answers this service: the bridge relay steps aside.
                gw.bridges_changed(&k.app_id, true).await;
            }
            to_value(&info)
        }
        "$API.SERVICES.DEREGISTER" => {
            require(&k, &["services:expose"])?;
            let b: ServicesBody = parse_body(body)?;
            let name = b
                .name
                .or(b.service_name)
                .or(b.service_id)
                .unwrap_or_default();
            let edge = k
                .edge_id
                .clone()
                .filter(|_| k.key_type == "edge")
                .unwrap_or_else(|| crate::store::CENTER.into());
            gw.store.delete_service(&k.app_id, &edge, &name).await?;
            if edge == crate::store::CENTER {
                gw.bridges_changed(&k.app_id, false).await;
            }
            Ok(json!({ "deregistered": true, "name": name }))
        }
        "$API.SERVICES.LIST"
        | "$API.SERVICES.GET"
        | "$API.SERVICES.DESCRIBE"
        | "$API.SERVICES.DESCRIBE_METHOD" => {
            require(
                &k,
                &["edges:discover", "services:call", "services:call:edge"],
            )?;
            let b: ServicesBody = parse_body(body)?;
            let app = gw.app_for(&k, b.app_id.as_deref()).await?;
            let name = b
                .service_id
                .clone()
                .or(b.service_name.clone())
                .unwrap_or_default();
            match subject {
                "$API.SERVICES.LIST" => to_value(
                    &gw.list_services(&app, b.edge_id.as_deref(), b.location.as_deref())
                        .await?,
                ),
                "$API.SERVICES.GET" => gw
                    .list_services(&app, None, None)
                    .await?
                    .into_iter()
                    .find(|s| s.name == name || s.id == name)
                    .ok_or_else(|| {
                        ApiError::not_found("SERVICE_NOT_FOUND", format!("no service {name:?}"))
                    })
                    .and_then(|s| to_value(&s)),
                "$API.SERVICES.DESCRIBE" => {
                    let d = gw.describe(&app, &name).await?;
                    if b.format.as_deref() == Some("ai") {
                        let methods: Vec<Value> = d
                            .get("methods")
                            .and_then(Value::as_array)
                            .map(|ms| {
                                ms.iter()
                                    .map(|m| json!({ "method_name": m.get("name"), "ai_context": m.get("ai_context").cloned().unwrap_or(json!({})) }))
                                    .collect()
                            })
                            .unwrap_or_default();
                        Ok(
                            json!({ "service_name": name, "ai_context": d.get("ai_context").cloned().unwrap_or(json!({})), "method_ai_contexts": methods }),
                        )
                    } else {
                        Ok(d)
                    }
                }
                _ => {
                    let d = gw.describe(&app, &name).await?;
                    let m = b.method_name.unwrap_or_default();
                    d.get("methods")
                        .and_then(Value::as_array)
                        .and_then(|ms| {
                            ms.iter()
                                .find(|x| x.get("name").and_then(Value::as_str) == Some(m.as_str()))
                                .cloned()
                        })
                        .ok_or_else(|| {
                            ApiError::not_found(
                                "METHOD_NOT_FOUND",
                                format!("no method {m:?} in {name:?}"),
                            )
                        })
                }
            }
        }
        s if s.starts_with("$EDGE.") && s.ends_with(".CONVEX_TOKEN") => {
            let parts: Vec<&str> = s.split('.').collect();
            match parts.as_slice() {
                ["$EDGE", app, edge, "CONVEX_TOKEN"] => gw.convex_token(&k, app, edge).await,
                _ => Err(ApiError::bad("expected $EDGE.<app>.<edge>.CONVEX_TOKEN")),
            }
        }
        "$TUNNEL.REGISTER" => crate::tunnel::register(gw, &k, parse_body(body)?).await,
        "$TUNNEL.UNREGISTER" => crate::tunnel::unregister(gw, &k, parse_body(body)?).await,
        "$TUNNEL.LIST" => to_value(&crate::tunnel::list(gw, &k, parse_body(body)?).await?),
        "$EDGE.PRESENCE.REGISTER" => to_value(&gw.register_presence(&k, &parse_body(body)?).await?),
        "$EDGE.PRESENCE.HEARTBEAT" => {
            gw.heartbeat(&k).await?;
            Ok(json!({ "ok": true }))
        }
        "$EDGE.PRESENCE.DEREGISTER" => {
            let edge = k
                .edge_id
                .clone()
                .ok_or_else(|| ApiError::forbidden("only edge keys deregister"))?;
            gw.mark_gone(&k.app_id, &edge).await?;
            Ok(json!({ "deregistered": true, "edge_id": edge }))
        }
        _ => Err(ApiError::not_found(
            "NOT_FOUND",
            format!("unknown subject {subject}"),
        )),
    }
}
