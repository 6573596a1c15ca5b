//! The Convex fan-out (docs/protocol.md, "events: the Convex fan-out"): per app, the events
//! stored by `/api/sync/convex-push` in `DINK_PUSH_<app>` are read through the durable pull
//! consumer `fanout` and published, in stream order, to `$SYNC.<app>.<edge>.events` of every
//! online edge, then acknowledged.
//!
//! Every gateway runs a loop per app (apps rescanned every [`RESCAN`]); only the holder of the
//! app's lease (KV `dink_fanout`, renewed every second, expiring after `LEASE_TTL`) fetches, so
//! batches are published by one gateway at a time, in order. The consumer also allows at most
//! [`BATCH`] unacknowledged messages (`max_ack_pending`), and a batch not acknowledged within
//! [`ACK_WAIT`] (its gateway died) is redelivered.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::gateway::Gateway;
use crate::store::{tok, Store};
use crate::types::App;

/// Events per fetch, and the consumer's `max_ack_pending`.
pub const BATCH: usize = 256;
pub const ACK_WAIT: Duration = Duration::from_secs(5);
pub const CONSUMER: &str = "fanout";
const RESCAN: Duration = Duration::from_secs(2);
const FETCH_EXPIRES: Duration = Duration::from_millis(500);
const STEP: Duration = Duration::from_secs(5);
const RENEW_EVERY: Duration = Duration::from_secs(1);

/// The supervisor: start a loop for every app in `dink_apps`, rescanning every [`RESCAN`].
pub fn spawn(gw: Arc<Gateway>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut loops: HashMap<String, JoinHandle<()>> = HashMap::new();
        loop {
            if let Ok(apps) = Store::list::<App>(&gw.store.apps, "").await {
                for a in apps {
                    let running = loops.get(&a.id).is_some_and(|h| !h.is_finished());
                    if !running {
                        let h = tokio::spawn(app_loop(gw.clone(), a.id.clone()));
                        gw.sync.track(h.abort_handle());
                        loops.insert(a.id, h);
                    }
                }
            }
            tokio::time::sleep(RESCAN).await;
        }
    })
}

fn consumer_config() -> pull::Config {
    pull::Config {
        durable_name: Some(CONSUMER.into()),
        ack_policy: AckPolicy::Explicit,
        ack_wait: ACK_WAIT,
        max_ack_pending: BATCH as i64,
        deliver_policy: DeliverPolicy::All,
        ..Default::default()
    }
}

/// A per-app lease in the `dink_fanout` bucket.
struct Lease {
    key: String,
    me: String,
    revision: Option<u64>,
    renewed: Instant,
}

impl Lease {
    /// True while this process holds the lease (renewed at most every [`RENEW_EVERY`]).
    async fn hold(&mut self, kv: &kv::Store) -> bool {
        if self.revision.is_some() && self.renewed.elapsed() < RENEW_EVERY {
            return true;
        }
        let value = self.me.clone().into_bytes().into();
        let r = match self.revision {
            Some(rev) => tokio::time::timeout(STEP, kv.update(&self.key, value, rev))
                .await
                .map_err(|_| ())
                .and_then(|r| r.map_err(|_| ())),
            None => tokio::time::timeout(STEP, kv.create(&self.key, value))
                .await
                .map_err(|_| ())
                .and_then(|r| r.map_err(|_| ())),
        };
        match r {
            Ok(rev) => {
                self.revision = Some(rev);
                self.renewed = Instant::now();
                true
            }
            Err(()) => {
                self.revision = None;
                false
            }
        }
    }
}

async fn app_loop(gw: Arc<Gateway>, app: String) {
    let mut lease = Lease {
        key: tok(&app),
        me: format!("{}", rand::random::<u64>()),
        revision: None,
        renewed: Instant::now(),
    };
    loop {
        // The stream appears with the app's first convex-push.
        let Some(stream) = gw.store.push_stream(&app).await else {
            tokio::time::sleep(RESCAN).await;
            continue;
        };
        let c = match tokio::time::timeout(
            STEP,
            stream.get_or_create_consumer::<pull::Config>(CONSUMER, consumer_config()),
        )
        .await
        {
            Ok(Ok(c)) => c,
            _ => {
                tokio::time::sleep(RESCAN).await;
                continue;
            }
        };
        loop {
            if !lease.hold(&gw.store.fanout).await {
                tokio::time::sleep(RENEW_EVERY).await;
                continue;
            }
            match run_batch(&gw, &app, &c, &mut lease).await {
                Ok(_) => {}
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    // The stream or consumer may be gone: look them up again.
                    if gw.store.push_stream(&app).await.is_none() {
                        break;
                    }
                    if tokio::time::timeout(STEP, stream.consumer_info(CONSUMER))
                        .await
                        .map_or(true, |r| r.is_err())
                    {
                        break;
                    }
                }
            }
        }
    }
}

/// The messages of one pull request, in order, each wait bounded by `limit`.
async fn pull<F, S, E1, E2>(
    request: F,
    limit: Duration,
) -> Result<Vec<async_nats::jetstream::Message>, String>
where
    F: std::future::Future<Output = Result<S, E1>>,
    S: futures_util::Stream<Item = Result<async_nats::jetstream::Message, E2>> + Unpin,
    E1: std::fmt::Display,
    E2: std::fmt::Display,
{
    let mut stream = tokio::time::timeout(STEP, request)
        .await
        .map_err(|_| "fetch timed out".to_string())?
        .map_err(|e| format!("fetch: {e}"))?;
    let mut msgs = Vec::new();
    let until = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(until, stream.next()).await {
            Ok(Some(Ok(m))) => msgs.push(m),
            Ok(Some(Err(e))) => {
                if msgs.is_empty() {
                    return Err(format!("fetch: {e}"));
                }
                break;
            }
            Ok(None) | Err(_) => break,
        }
    }
    Ok(msgs)
}

/// Fetch one batch and publish it; the number of events.
async fn run_batch(
    gw: &Gateway,
    app: &str,
    c: &async_nats::jetstream::consumer::Consumer<pull::Config>,
    lease: &mut Lease,
) -> Result<usize, String> {
    // Wait (at most FETCH_EXPIRES) for the first event, then take whatever else is pending
    // at once (no wait): a batch goes out as soon as its first event is there, instead of
    // after the pull request's expiry when fewer than BATCH events are waiting.
    let mut msgs = pull(
        c.batch().max_messages(1).expires(FETCH_EXPIRES).messages(),
        FETCH_EXPIRES + STEP,
    )
    .await?;
    if !msgs.is_empty() && BATCH > 1 {
        let rest = pull(c.fetch().max_messages(BATCH - 1).messages(), STEP).await;
        // On an error the first one still goes out; the rest come with the next batch.
        if let Ok(more) = rest {
            msgs.extend(more);
        }
    }
    if msgs.is_empty() {
        return Ok(0);
    }
    // Lost the lease while waiting: leave the batch to the holder (redelivered after ACK_WAIT).
    if !lease.hold(&gw.store.fanout).await {
        return Ok(0);
    }
    let edges = crate::sync::online_edges(gw, app).await?;
    // Each event serialized with and without its delta (the origin edge gets the latter).
    let mut events: Vec<(String, String, Option<String>)> = Vec::with_capacity(msgs.len());
    for m in &msgs {
        let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
        let v: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
        let e = &v["event"];
        let mut slim = json!({
            "seq": seq,
            "collection": e["collection"],
            "doc_id": e["doc_id"],
            "version": e["version"],
        });
        let origin = e["origin_edge_id"].as_str().map(String::from);
        if let Some(o) = &origin {
            slim["origin_edge_id"] = Value::String(o.clone());
        }
        let mut full = slim.clone();
        full["delta"] = e["delta"].clone();
        full["format"] = e["format"].clone();
        events.push((full.to_string(), slim.to_string(), origin));
    }
    let max = gw.bus.server_info().max_payload.max(64 * 1024) - 1024;
    let mut published = 0u64;
    for edge in &edges {
        let subject = format!("$SYNC.{app}.{edge}.events");
        let mut body = String::new();
        for (full, slim, origin) in &events {
            let item = if origin.as_deref() == Some(edge.as_str()) {
                slim
            } else {
                full
            };
            if !body.is_empty() && body.len() + item.len() + 2 > max {
                publish(gw, &subject, std::mem::take(&mut body)).await?;
            }
            if body.is_empty() {
                body.push_str(r#"{"version":1,"events":["#);
            } else {
                body.push(',');
            }
            body.push_str(item);
        }
        if !body.is_empty() {
            publish(gw, &subject, body).await?;
        }
        published += events.len() as u64;
    }
    tokio::time::timeout(STEP, gw.bus.flush())
        .await
        .map_err(|_| "flush timed out".to_string())?
        .map_err(|e| format!("flush: {e}"))?;
    for m in &msgs {
        tokio::time::timeout(STEP, m.ack())
            .await
            .map_err(|_| "ack timed out".to_string())?
            .map_err(|e| format!("ack: {e}"))?;
    }
    tokio::time::timeout(STEP, gw.state.flush())
        .await
        .map_err(|_| "flush timed out".to_string())?
        .map_err(|e| format!("flush: {e}"))?;
    gw.metrics
        .fanout_events
        .fetch_add(published, std::sync::atomic::Ordering::Relaxed);
    gw.sync.with_stats(app, |s| s.fanout_events += published);
    Ok(msgs.len())
}

async fn publish(gw: &Gateway, subject: &str, mut body: String) -> Result<(), String> {
    body.push_str("]}");
    tokio::time::timeout(STEP, gw.bus.publish(subject.to_string(), body.into()))
        .await
        .map_err(|_| "publish timed out".to_string())?
        .map_err(|e| format!("publish: {e}"))
}

/// Fan-out progress of an app (status page): `(head_seq, acked_seq, oldest unsent age in ms)`.
pub async fn progress(gw: &Gateway, app: &str) -> (u64, u64, Option<i64>) {
    let Some(mut stream) = gw.store.push_stream(app).await else {
        return (0, 0, None);
    };
    let head = match tokio::time::timeout(STEP, stream.info()).await {
        Ok(Ok(i)) => i.state.last_sequence,
        _ => return (0, 0, None),
    };
    let acked = match tokio::time::timeout(STEP, stream.consumer_info(CONSUMER)).await {
        Ok(Ok(i)) => i.ack_floor.stream_sequence,
        _ => 0,
    };
    let mut age = None;
    if head > acked {
        if let Ok(Ok(m)) = tokio::time::timeout(STEP, stream.get_raw_message(acked + 1)).await {
            let ms = (m.time.unix_timestamp_nanos() / 1_000_000) as i64;
            age = Some((crate::types::now_ms() - ms).max(0));
        }
    }
    (head, acked, age)
}
