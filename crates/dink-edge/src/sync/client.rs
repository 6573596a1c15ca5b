//! The NATS side of sync: one task per [`SyncClient`] that subscribes to the edge's events,
//! greets (`hello`), catches up (`changes`), pushes pending ops, reverts rejected rows
//! (`snapshot`) and re-checks the fan-out head periodically.
//!
//! Why one task: every step reads and writes the store through the [`Engine`], and doing them
//! in order on one task means an events batch is never applied in the middle of a catch-up or a
//! push answer, so the ordering rules of docs/protocol.md hold without locks. The connection is
//! handed in (`set_connection`), so the binary can drop and restore it (`offline` / `online`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::connection::State;
use async_nats::{Client, HeaderMap, RequestErrorKind};
use dink_core::value::{base64_decode, base64_encode};
use dink_core::Fields;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::engine::{Engine, Row};
use super::status::{Rejection, RowChange, RowStatus};
use super::wire::{
    self, ChangesData, ChangesRequest, EventsBody, HelloData, PushData, PushDelta, PushRequest,
    SnapshotData, SnapshotRequest,
};
use super::SyncError;
use crate::connection::EdgeKey;

/// Push requests wait this long for the gateway by default: it retries Convex for up to 20 s,
/// plus one 10 s attempt, plus its own margin (docs/protocol.md, "push").
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(40);
/// Other requests (hello, changes, snapshot).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// At most this many deltas per push (the protocol's limit is 500).
pub const MAX_BATCH_OPS: usize = 500;
/// At most about this many bytes of deltas per push (the server's max_payload is 8 MiB).
pub const MAX_BATCH_BYTES: usize = 3 * 1024 * 1024;
/// How often the edge re-asks `hello` to detect a missed tail.
pub const HELLO_EVERY: Duration = Duration::from_secs(3);
/// Most catch-up pages per collection in one catch-up.
pub const MAX_PAGES: usize = 10_000;
const PAGE_LIMIT: u32 = 500;
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

struct Inner {
    engine: Arc<Engine>,
    key: EdgeKey,
    conn: watch::Sender<Option<Client>>,
    connected: watch::Sender<bool>,
    wake: Notify,
    catchup: AtomicBool,
    stop: watch::Sender<bool>,
    push_timeout: Duration,
}

/// The sync client of one edge. Cheap to share (`Arc` inside); dropping it stops the task.
pub struct SyncClient {
    inner: Arc<Inner>,
    task: Option<JoinHandle<()>>,
}

/// A request failure: `retry` when the answer is "not known to be applied" (UNAVAILABLE, a
/// timeout, no responders, a dropped connection).
struct ReqError {
    error: SyncError,
    retry: bool,
}

/// Resolves once `client` is not connected (checked every 200 ms; callers bound it).
async fn disconnected(client: &Client) {
    loop {
        if client.connection_state() != async_nats::connection::State::Connected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Inner {
    fn subject(&self, tail: &str) -> String {
        format!("$SYNC.{}.{}.{tail}", self.key.app_id, self.key.edge_id)
    }

    async fn request<B: Serialize, T: DeserializeOwned>(
        &self,
        client: &Client,
        tail: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<T, ReqError> {
        let payload = serde_json::to_vec(body).map_err(|e| ReqError {
            error: SyncError::new("INTERNAL", e.to_string()),
            retry: false,
        })?;
        let mut headers = HeaderMap::new();
        headers.insert("Authorization", self.key.bearer().as_str());
        let req = async_nats::Request::new()
            .payload(payload.into())
            .headers(headers)
            .timeout(Some(timeout));
        let subject = self.subject(tail);
        // A reply cannot arrive over a connection that dropped (the request went with it, or
        // its answer will): stop waiting then, so the op is resent after the reconnect rather
        // than after the whole timeout.
        let sent = tokio::select! {
            r = client.send_request(subject.clone(), req) => r,
            () = disconnected(client) => {
                return Err(ReqError {
                    error: SyncError::new("UNAVAILABLE", format!("{subject}: the connection dropped")),
                    retry: true,
                });
            }
        };
        let msg = match sent {
            Ok(m) => m,
            Err(e) => {
                let retry = matches!(
                    e.kind(),
                    RequestErrorKind::TimedOut
                        | RequestErrorKind::NoResponders
                        | RequestErrorKind::Other
                );
                let code = if retry { "UNAVAILABLE" } else { "BAD_REQUEST" };
                return Err(ReqError {
                    error: SyncError::new(code, format!("{subject}: {e}")),
                    retry,
                });
            }
        };
        match wire::parse_reply(&msg.payload) {
            Ok(data) => serde_json::from_value(data).map_err(|e| ReqError {
                error: SyncError::new("BAD_REPLY", format!("{subject}: {e}")),
                retry: true,
            }),
            Err(e) => Err(ReqError {
                retry: matches!(
                    e.code.as_str(),
                    "UNAVAILABLE" | "NOT_CONFIGURED" | "BAD_REPLY" | "INTERNAL" | "TIMEOUT"
                ),
                error: SyncError {
                    code: e.code,
                    message: e.message,
                    field: e.field,
                },
            }),
        }
    }

    async fn hello(&self, client: &Client) -> Result<HelloData, ReqError> {
        self.request(
            client,
            "hello",
            &serde_json::json!({ "version": wire::VERSION }),
            REQUEST_TIMEOUT,
        )
        .await
    }

    /// hello, every collection's feed until `more: false`, then `last_seq = head_seq`.
    async fn catch_up(&self, client: &Client) -> Result<(), ReqError> {
        let hello = self.hello(client).await?;
        let store_err = |e: SyncError| ReqError {
            error: e,
            retry: true,
        };
        for collection in self.engine.collections() {
            for _ in 0..MAX_PAGES {
                let since = self.engine.cursor(collection).map_err(store_err)?;
                let req = ChangesRequest {
                    version: wire::VERSION,
                    collection: collection.clone(),
                    since,
                    limit: Some(PAGE_LIMIT),
                };
                let page: ChangesData =
                    match self.request(client, "changes", &req, REQUEST_TIMEOUT).await {
                        Ok(p) => p,
                        // A refusal of this collection's feed (say Convex does not sync the
                        // table) must not stop the other collections nor the pushes.
                        Err(e) if !e.retry => {
                            eprintln!("dink-edge: sync: changes of {collection}: {}", e.error);
                            break;
                        }
                        Err(e) => return Err(e),
                    };
                self.engine
                    .apply_changes_page(collection, &page)
                    .map_err(store_err)?;
                if !page.more {
                    break;
                }
            }
        }
        self.engine
            .finish_catchup(hello.head_seq)
            .map_err(store_err)?;
        Ok(())
    }

    async fn revert_rows(&self, client: &Client) -> Result<(), ReqError> {
        let store_err = |e: SyncError| ReqError {
            error: e,
            retry: true,
        };
        for (collection, doc_id) in self.engine.rows_needing_revert().map_err(store_err)? {
            let req = SnapshotRequest {
                version: wire::VERSION,
                collection: collection.clone(),
                doc_id: doc_id.clone(),
            };
            match self
                .request::<_, SnapshotData>(client, "snapshot", &req, REQUEST_TIMEOUT)
                .await
            {
                Ok(snap) => {
                    let state = base64_decode(&snap.state)
                        .filter(|_| !snap.is_diff)
                        .ok_or_else(|| ReqError {
                            error: SyncError::new(
                                "BAD_REPLY",
                                "snapshot state is not a whole base64 state",
                            ),
                            retry: true,
                        })?;
                    self.engine
                        .revert(&collection, &doc_id, Some(&state))
                        .map_err(store_err)?;
                    if let Some(v) = snap.version {
                        tracing_version(&collection, &doc_id, v);
                    }
                }
                Err(e) if e.error.code == "NOT_FOUND" => {
                    self.engine
                        .revert(&collection, &doc_id, None)
                        .map_err(store_err)?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Push every pending op, batch after batch. Returns the rejections.
    async fn push_pending(&self, client: &Client) -> Result<Vec<Rejection>, ReqError> {
        let store_err = |e: SyncError| ReqError {
            error: e,
            retry: true,
        };
        let mut rejections = Vec::new();
        loop {
            let batch = self
                .engine
                .next_batch(MAX_BATCH_OPS, MAX_BATCH_BYTES)
                .map_err(store_err)?;
            if batch.is_empty() {
                return Ok(rejections);
            }
            self.engine.mark_sent(&batch).map_err(store_err)?;
            let req = PushRequest {
                version: wire::VERSION,
                deltas: batch
                    .iter()
                    .map(|(_, op)| PushDelta {
                        op_id: op.op_id.clone(),
                        collection: op.collection.clone(),
                        doc_id: op.doc_id.clone(),
                        delta: base64_encode(&op.delta),
                        format: op.format,
                    })
                    .collect(),
            };
            let data: PushData = self
                .request(client, "push", &req, self.push_timeout)
                .await?;
            rejections.extend(
                self.engine
                    .apply_push_results(&batch, &data.results)
                    .map_err(store_err)?,
            );
        }
    }
}

fn tracing_version(collection: &str, doc_id: &str, version: u64) {
    eprintln!("dink-edge: sync: reverted {collection}/{doc_id} to Convex version {version}");
}

async fn run(inner: Arc<Inner>) {
    let mut conn_rx = inner.conn.subscribe();
    let mut stop = inner.stop.subscribe();
    loop {
        if *stop.borrow() {
            return;
        }
        let client = conn_rx.borrow_and_update().clone();
        match client {
            None => {
                inner
                    .connected
                    .send_if_modified(|c| std::mem::replace(c, false));
                tokio::select! {
                    _ = conn_rx.changed() => {}
                    _ = stop.changed() => {}
                }
            }
            Some(client) => {
                tokio::select! {
                    _ = session(&inner, &client) => {}
                    _ = conn_rx.changed() => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

async fn session(inner: &Inner, client: &Client) {
    let subject = inner.subject("events");
    let mut sub = loop {
        match client.subscribe(subject.clone()).await {
            Ok(s) => break s,
            Err(e) => {
                eprintln!("dink-edge: sync: subscribe {subject}: {e}");
                tokio::time::sleep(BACKOFF_MAX).await;
            }
        }
    };
    let _ = client.flush().await;
    let mut ready = false;
    let mut backoff = BACKOFF_MIN;
    let mut retry_at = Instant::now();
    let mut next_hello = Instant::now() + HELLO_EVERY;
    let mut suspect_head: Option<u64> = None;
    loop {
        let up = client.connection_state() == State::Connected;
        inner
            .connected
            .send_if_modified(|c| std::mem::replace(c, up) != up);
        if !up {
            ready = false;
        }
        if up && Instant::now() >= retry_at {
            let result = work(
                inner,
                client,
                &mut ready,
                &mut next_hello,
                &mut suspect_head,
            )
            .await;
            match result {
                Ok(()) => backoff = BACKOFF_MIN,
                Err(e) => {
                    if e.retry {
                        inner.engine.bump(|s| s.unavailable += 1);
                    }
                    eprintln!("dink-edge: sync: {} (retrying in {:?})", e.error, backoff);
                    retry_at = Instant::now() + backoff;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        let wake_at = retry_at.max(Instant::now()).min(next_hello);
        tokio::select! {
            msg = sub.next() => {
                let Some(msg) = msg else { return };
                handle_events(inner, &msg.payload);
                // Drain whatever else already arrived before doing other work.
                while let Some(Some(msg)) = futures_util::FutureExt::now_or_never(sub.next()) {
                    handle_events(inner, &msg.payload);
                }
            }
            _ = inner.wake.notified() => {}
            _ = tokio::time::sleep_until(wake_at.max(Instant::now() + Duration::from_millis(20))) => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

fn handle_events(inner: &Inner, payload: &[u8]) {
    match serde_json::from_slice::<EventsBody>(payload) {
        Ok(body) => match inner.engine.apply_events(&body.events) {
            Ok(true) => inner.catchup.store(true, Ordering::SeqCst),
            Ok(false) => {}
            Err(e) => {
                eprintln!("dink-edge: sync: events: {e}");
                inner.catchup.store(true, Ordering::SeqCst);
            }
        },
        Err(e) => eprintln!("dink-edge: sync: unreadable events batch: {e}"),
    }
}

async fn work(
    inner: &Inner,
    client: &Client,
    ready: &mut bool,
    next_hello: &mut Instant,
    suspect_head: &mut Option<u64>,
) -> Result<(), ReqError> {
    let store_err = |e: SyncError| ReqError {
        error: e,
        retry: true,
    };
    let wanted = inner.catchup.swap(false, Ordering::SeqCst);
    if !*ready || wanted || inner.engine.catchup_needed().map_err(store_err)? {
        if let Err(e) = inner.catch_up(client).await {
            inner.catchup.store(true, Ordering::SeqCst);
            return Err(e);
        }
        *ready = true;
        *suspect_head = None;
        *next_hello = Instant::now() + HELLO_EVERY;
    }
    inner.revert_rows(client).await?;
    inner.push_pending(client).await?;
    if Instant::now() >= *next_hello {
        *next_hello = Instant::now() + HELLO_EVERY;
        let hello = inner.hello(client).await?;
        let last = inner.engine.last_seq().map_err(store_err)?;
        let idle = inner.engine.pending_count().map_err(store_err)? == 0;
        if hello.head_seq < last {
            inner.catchup.store(true, Ordering::SeqCst);
        } else if hello.head_seq > last && idle {
            // Seen twice in a row (events may simply be in flight the first time).
            if suspect_head.is_some_and(|h| last < h) {
                inner.catchup.store(true, Ordering::SeqCst);
                inner.wake.notify_one();
            }
            *suspect_head = Some(hello.head_seq);
        } else {
            *suspect_head = None;
        }
    }
    Ok(())
}

/// Waits for the edge to be in sync, from any task ([`SyncClient::waiter`]).
#[derive(Clone)]
pub struct SyncWaiter(Arc<Inner>);

impl SyncWaiter {
    /// See [`SyncClient::sync`].
    pub async fn sync(&self, timeout: Duration) -> Result<(), SyncError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.0.wake.notify_one();
            let client = self.0.conn.borrow().clone();
            if let Some(client) = client.filter(|_| *self.0.connected.borrow()) {
                let engine = &self.0.engine;
                let settled = engine.pending_count()? == 0
                    && engine.rows_needing_revert()?.is_empty()
                    && !engine.catchup_needed()?;
                if settled {
                    if let Ok(h) = self.0.hello(&client).await {
                        let last = engine.last_seq()?;
                        if h.head_seq == last {
                            return Ok(());
                        }
                        if h.head_seq < last {
                            self.0.catchup.store(true, Ordering::SeqCst);
                        }
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(SyncError::new(
                    "TIMEOUT",
                    format!("not in sync after {} ms", timeout.as_millis()),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl SyncClient {
    /// Start syncing `engine` for the edge of `key`, over `client` (or offline: `None`).
    pub fn start(engine: Arc<Engine>, key: EdgeKey, client: Option<Client>) -> SyncClient {
        SyncClient::start_with(engine, key, client, PUSH_TIMEOUT)
    }

    /// [`SyncClient::start`] with another push timeout: how long an unanswered push waits
    /// before it is resent (it must exceed the gateway's retry deadline, or pushes still being
    /// retried there are resent needlessly; they are answered `duplicate` then).
    pub fn start_with(
        engine: Arc<Engine>,
        key: EdgeKey,
        client: Option<Client>,
        push_timeout: Duration,
    ) -> SyncClient {
        let (conn, _) = watch::channel(client);
        let (connected, _) = watch::channel(false);
        let (stop, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            engine,
            key,
            conn,
            connected,
            wake: Notify::new(),
            catchup: AtomicBool::new(false),
            stop,
            push_timeout,
        });
        let task = tokio::spawn(run(inner.clone()));
        SyncClient {
            inner,
            task: Some(task),
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    /// Use `client` from now on (`None`: offline). A new connection is greeted and caught up.
    pub fn set_connection(&self, client: Option<Client>) {
        self.inner.conn.send_replace(client);
    }

    /// Ask the sync task to push now (after writes made through [`Engine`] directly).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Whether the client is connected right now.
    pub fn is_connected(&self) -> bool {
        *self.inner.connected.borrow()
    }

    /// Connection changes (true: connected).
    pub fn connection(&self) -> watch::Receiver<bool> {
        self.inner.connected.subscribe()
    }

    /// Write a row (see [`Engine::put`]) and schedule a push.
    pub fn put(
        &self,
        collection: &str,
        doc_id: &str,
        patch: &Fields,
        unset: &[String],
    ) -> Result<Option<String>, SyncError> {
        let out = self.inner.engine.put(collection, doc_id, patch, unset);
        self.inner.wake.notify_one();
        out
    }

    /// Delete a row (see [`Engine::delete`]) and schedule a push.
    pub fn delete(&self, collection: &str, doc_id: &str) -> Result<Option<String>, SyncError> {
        let out = self.inner.engine.delete(collection, doc_id);
        self.inner.wake.notify_one();
        out
    }

    pub fn get(&self, collection: &str, doc_id: &str) -> Result<Option<Row>, SyncError> {
        self.inner.engine.get(collection, doc_id)
    }

    pub fn list(&self, collection: &str) -> Result<Vec<Row>, SyncError> {
        self.inner.engine.list(collection)
    }

    pub fn status(&self, collection: &str, doc_id: &str) -> Result<Option<RowStatus>, SyncError> {
        self.inner.engine.status(collection, doc_id)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RowChange> {
        self.inner.engine.subscribe()
    }

    pub fn on_sync_rejected(&self, f: impl Fn(&Rejection) + Send + Sync + 'static) {
        self.inner.engine.on_sync_rejected(f);
    }

    /// Wait until nothing is pending and a fresh `hello` shows `head_seq == last_seq`.
    pub async fn sync(&self, timeout: Duration) -> Result<(), SyncError> {
        self.waiter().sync(timeout).await
    }

    /// A handle that can wait for [`SyncClient::sync`] from another task (the client itself
    /// stays with its owner, who may reconnect it meanwhile).
    pub fn waiter(&self) -> SyncWaiter {
        SyncWaiter(self.inner.clone())
    }

    /// Stop the sync task (the store stays consistent whatever it was doing).
    pub async fn shutdown(mut self) {
        self.inner.stop.send_replace(true);
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

impl Drop for SyncClient {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
