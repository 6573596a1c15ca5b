//! The sync engine: local writes, acknowledgements, incoming deltas, sequence tracking.
//!
//! Why no IO here (besides the store): every decision the sync client makes (what to send, what
//! an answer means for a row, whether a gap was seen) is a pure function of the store and the
//! message, so it is tested without NATS (`tests/engine.rs`). `client.rs` only moves bytes.
//!
//! Invariants:
//! * a local write commits the row's new state and its pending op in one transaction before it
//!   returns; an acknowledgement commits the op's removal and the row's status in one;
//! * a row's status changes only on a local write, a send, or an answer actually received;
//! * a change Convex refused is never kept: the op and the row's later ops are dropped and the
//!   row is marked for revert, after which its state is exactly the server's (`revert`); local
//!   writes made meanwhile are kept as intents and rebuilt on top of the server's state.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use dink_core::value::{base64_decode, fields_from_convex_json, fields_to_convex_json};
use dink_core::{
    change, diff, ingest, materialize, ErrorCode, Fields, Limits, UpdateFormat, Value,
};
use tokio::sync::broadcast;

use super::status::{ChangeSource, Rejection, RowChange, RowStatus, Stats, SyncErrorInfo};
use super::store::{Intent, PendingOp, RowRecord, Store, Tx};
use super::wire::{ChangesData, Event, PushResult};
use super::SyncError;

/// A MISSING_DEPENDENCIES answer is resent as a full diff at most this many times per op;
/// after that the op is treated as rejected (a diff against the server's own state vector
/// cannot miss anything, so a further refusal means something else is wrong).
pub const MAX_RESENDS: u32 = 5;

type RejectCallback = Arc<dyn Fn(&Rejection) + Send + Sync>;
/// A row's new state and the delta that made it.
type Written = (Vec<u8>, Vec<u8>);

/// A row as the application sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub collection: String,
    pub doc_id: String,
    pub fields: Fields,
    pub deleted: bool,
    pub status: RowStatus,
}

/// The sync engine over one [`Store`].
pub struct Engine {
    store: Store,
    edge_id: String,
    collections: Vec<String>,
    limits: Limits,
    stats: Mutex<Stats>,
    changes: broadcast::Sender<RowChange>,
    on_rejected: Mutex<Vec<RejectCallback>>,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0)
}

fn engine_err(e: dink_core::EngineError) -> SyncError {
    let code = match e.code {
        ErrorCode::InvalidArgument => "BAD_REQUEST",
        other => other.as_str(),
    };
    SyncError {
        code: code.into(),
        message: e.message,
        field: e.field,
    }
}

/// The id of the next resend of `op_id`: `<base>~r<n+1>`, and `n + 1`.
pub fn resend_id(op_id: &str) -> (String, u32) {
    match op_id.rsplit_once("~r") {
        Some((base, n)) if n.parse::<u32>().is_ok() => {
            let n = n.parse::<u32>().unwrap_or(0) + 1;
            (format!("{base}~r{n}"), n)
        }
        _ => (format!("{op_id}~r1"), 1),
    }
}

/// The status a row with pending ops `ops` has (`None`: no pending op).
fn pending_status(ops: &[(u64, PendingOp)]) -> Option<RowStatus> {
    if ops.is_empty() {
        None
    } else if ops.iter().all(|(_, o)| o.sent) {
        Some(RowStatus::Sent)
    } else {
        Some(RowStatus::LocalOnly)
    }
}

impl Engine {
    /// An engine over `store` for edge `edge_id`, syncing `collections` (writes to and events
    /// of other collections are refused / ignored).
    pub fn new(store: Store, edge_id: impl Into<String>, collections: Vec<String>) -> Engine {
        let (changes, _) = broadcast::channel(1024);
        Engine {
            store,
            edge_id: edge_id.into(),
            collections,
            limits: Limits::default(),
            stats: Mutex::new(Stats::default()),
            changes,
            on_rejected: Mutex::new(Vec::new()),
        }
    }

    pub fn edge_id(&self) -> &str {
        &self.edge_id
    }

    pub fn collections(&self) -> &[String] {
        &self.collections
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn client_id(&self) -> u64 {
        self.store.client_id()
    }

    /// Row changes (local writes, remote deltas, reverts, status changes).
    pub fn subscribe(&self) -> broadcast::Receiver<RowChange> {
        self.changes.subscribe()
    }

    /// Called for every local change Convex refused (after the refusal was stored).
    pub fn on_sync_rejected(&self, f: impl Fn(&Rejection) + Send + Sync + 'static) {
        if let Ok(mut cbs) = self.on_rejected.lock() {
            cbs.push(Arc::new(f));
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(crate) fn bump(&self, f: impl FnOnce(&mut Stats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    fn check_collection(&self, collection: &str) -> Result<(), SyncError> {
        if self.collections.iter().any(|c| c == collection) {
            Ok(())
        } else {
            Err(SyncError::new(
                "UNKNOWN_COLLECTION",
                format!("collection {collection:?} is not synced by this edge"),
            ))
        }
    }

    fn emit(
        &self,
        collection: &str,
        doc_id: &str,
        source: ChangeSource,
        status: Option<RowStatus>,
    ) {
        let _ = self.changes.send(RowChange {
            collection: collection.into(),
            doc_id: doc_id.into(),
            source,
            status,
        });
    }

    fn to_row(&self, collection: &str, doc_id: &str, rec: RowRecord) -> Result<Row, SyncError> {
        let m = materialize(&rec.state, &self.limits).map_err(engine_err)?;
        Ok(Row {
            collection: collection.into(),
            doc_id: doc_id.into(),
            fields: m.fields,
            deleted: m.deleted,
            status: rec.status,
        })
    }

    pub fn get(&self, collection: &str, doc_id: &str) -> Result<Option<Row>, SyncError> {
        match self.store.get_row(collection, doc_id)? {
            Some(rec) => Ok(Some(self.to_row(collection, doc_id, rec)?)),
            None => Ok(None),
        }
    }

    /// Every row of `collection`, tombstones included, by doc id.
    pub fn list(&self, collection: &str) -> Result<Vec<Row>, SyncError> {
        self.store
            .list_rows(collection)?
            .into_iter()
            .map(|(d, rec)| self.to_row(collection, &d, rec))
            .collect()
    }

    pub fn status(&self, collection: &str, doc_id: &str) -> Result<Option<RowStatus>, SyncError> {
        Ok(self.store.get_row(collection, doc_id)?.map(|r| r.status))
    }

    pub fn pending_count(&self) -> Result<u64, SyncError> {
        self.store.pending_count()
    }

    pub fn last_seq(&self) -> Result<u64, SyncError> {
        self.store.last_seq()
    }

    /// Apply `intent` to the row's state; returns the new state and the delta (None: no change).
    fn apply_intent(
        &self,
        state: Option<&[u8]>,
        doc_id: &str,
        intent: &Intent,
    ) -> Result<Option<Written>, SyncError> {
        let current = match state {
            Some(s) => Some(materialize(s, &self.limits).map_err(engine_err)?),
            None => None,
        };
        let new = match intent {
            Intent::Delete => {
                if current.is_none() {
                    return Err(SyncError::new("NOT_FOUND", format!("no row {doc_id:?}")));
                }
                None
            }
            Intent::Put { fields, unset } => {
                let patch = fields_from_convex_json(fields).map_err(engine_err)?;
                if let Some(id) = patch.get("id") {
                    if *id != Value::String(doc_id.into()) {
                        return Err(SyncError::new("BAD_REQUEST", "fields.id must equal doc_id")
                            .with_field("id"));
                    }
                }
                if unset.iter().any(|k| k == "id") {
                    return Err(
                        SyncError::new("BAD_REQUEST", "id cannot be unset").with_field("id")
                    );
                }
                // A put on a tombstoned row starts from nothing: it re-creates the row.
                let mut new = match &current {
                    Some(m) if !m.deleted => m.fields.clone(),
                    _ => Fields::new(),
                };
                new.extend(patch);
                for k in unset {
                    new.remove(k);
                }
                new.insert("id".into(), Value::String(doc_id.into()));
                Some(new)
            }
        };
        let out = change(
            state,
            current.as_ref().map(|m| &m.fields),
            new.as_ref(),
            Some(doc_id),
            self.store.client_id(),
            now_ms(),
            &self.limits,
        )
        .map_err(engine_err)?;
        Ok(out.delta.map(|d| (out.state, d)))
    }

    fn local_write(
        &self,
        collection: &str,
        doc_id: &str,
        intent: Intent,
    ) -> Result<Option<String>, SyncError> {
        self.check_collection(collection)?;
        if doc_id.is_empty() || doc_id.chars().count() > 256 {
            return Err(
                SyncError::new("BAD_REQUEST", "doc_id must be 1-256 characters")
                    .with_field("doc_id"),
            );
        }
        let out = self.store.write(|tx| {
            let rec = tx.get_row(collection, doc_id)?;
            let Some((state, delta)) =
                self.apply_intent(rec.as_ref().map(|r| r.state.as_slice()), doc_id, &intent)?
            else {
                return Ok(None);
            };
            let op_id = format!("{}:{}", self.edge_id, tx.next_op_counter()?);
            tx.push_op(&PendingOp {
                op_id: op_id.clone(),
                collection: collection.into(),
                doc_id: doc_id.into(),
                delta,
                format: 2,
                sent: false,
                intent,
            })?;
            let needs_revert = rec.as_ref().is_some_and(|r| r.needs_revert);
            let status = match &rec {
                Some(r) if r.needs_revert => r.status.clone(),
                _ => RowStatus::LocalOnly,
            };
            tx.put_row(
                collection,
                doc_id,
                &RowRecord {
                    state,
                    status: status.clone(),
                    needs_revert,
                },
            )?;
            Ok(Some((op_id, status)))
        })?;
        Ok(out.map(|(op_id, status)| {
            self.emit(collection, doc_id, ChangeSource::Local, Some(status));
            op_id
        }))
    }

    /// Set `patch` and remove `unset` on the row (creating it when absent; `id` is set to
    /// `doc_id`). Returns the op id, or `None` when nothing changed.
    pub fn put(
        &self,
        collection: &str,
        doc_id: &str,
        patch: &Fields,
        unset: &[String],
    ) -> Result<Option<String>, SyncError> {
        let intent = Intent::Put {
            fields: fields_to_convex_json(patch),
            unset: unset.to_vec(),
        };
        self.local_write(collection, doc_id, intent)
    }

    /// Tombstone the row. Returns the op id, or `None` when it was deleted already.
    pub fn delete(&self, collection: &str, doc_id: &str) -> Result<Option<String>, SyncError> {
        self.local_write(collection, doc_id, Intent::Delete)
    }

    /// The next ops to push (oldest first, at most `max_ops` and about `max_bytes` of deltas),
    /// skipping rows that wait for a revert.
    pub fn next_batch(
        &self,
        max_ops: usize,
        max_bytes: usize,
    ) -> Result<Vec<(u64, PendingOp)>, SyncError> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut blocked: Vec<(String, String)> = Vec::new();
        for (seq, op) in self.store.pending_ops()? {
            let key = (op.collection.clone(), op.doc_id.clone());
            if blocked.contains(&key) {
                continue;
            }
            if self
                .store
                .get_row(&op.collection, &op.doc_id)?
                .is_some_and(|r| r.needs_revert)
            {
                blocked.push(key);
                continue;
            }
            let size = op.delta.len() * 4 / 3
                + op.op_id.len()
                + op.doc_id.len()
                + op.collection.len()
                + 64;
            if !out.is_empty() && (out.len() >= max_ops || bytes + size > max_bytes) {
                break;
            }
            bytes += size;
            out.push((seq, op));
        }
        Ok(out)
    }

    /// Record that `batch` is being sent (ops `sent`, rows `Sent` when all their ops are).
    pub fn mark_sent(&self, batch: &[(u64, PendingOp)]) -> Result<(), SyncError> {
        let changed = self.store.write(|tx| {
            let mut changed = Vec::new();
            for (seq, _) in batch {
                if let Some(mut cur) = tx.get_op(*seq)? {
                    if !cur.sent {
                        cur.sent = true;
                        tx.put_op(*seq, &cur)?;
                    }
                }
            }
            for (_, op) in batch {
                if changed
                    .iter()
                    .any(|(c, d, _)| c == &op.collection && d == &op.doc_id)
                {
                    continue;
                }
                if let Some(mut row) = tx.get_row(&op.collection, &op.doc_id)? {
                    let ops = tx.row_ops(&op.collection, &op.doc_id)?;
                    if let Some(st) = pending_status(&ops).filter(|_| !row.needs_revert) {
                        if st != row.status {
                            row.status = st.clone();
                            tx.put_row(&op.collection, &op.doc_id, &row)?;
                            changed.push((op.collection.clone(), op.doc_id.clone(), st));
                        }
                    }
                }
            }
            Ok(changed)
        })?;
        for (c, d, st) in changed {
            self.emit(&c, &d, ChangeSource::Status, Some(st));
        }
        Ok(())
    }

    /// Process the answers to a push of `batch` (`results[i]` answers `batch[i]`). Returns the
    /// rejections (also passed to the callbacks).
    pub fn apply_push_results(
        &self,
        batch: &[(u64, PendingOp)],
        results: &[PushResult],
    ) -> Result<Vec<Rejection>, SyncError> {
        let mut stats = Stats::default();
        let (rejections, changed) = self.store.write(|tx| {
            let mut rejections = Vec::new();
            let mut changed: Vec<(String, String, RowStatus)> = Vec::new();
            for ((seq, sent), r) in batch.iter().zip(results) {
                if r.op_id != sent.op_id {
                    continue; // not an answer to this op: leave it pending
                }
                let Some(op) = tx.get_op(*seq)?.filter(|o| o.op_id == sent.op_id) else {
                    match r.status.as_str() {
                        "applied" => stats.applied += 1,
                        "duplicate" => stats.duplicate += 1,
                        "noop" => stats.noop += 1,
                        _ => {}
                    }
                    continue; // dropped meanwhile (it built on a rejected op)
                };
                let (c, d) = (op.collection.clone(), op.doc_id.clone());
                match r.status.as_str() {
                    "applied" | "duplicate" | "noop" => {
                        match r.status.as_str() {
                            "applied" => stats.applied += 1,
                            "duplicate" => stats.duplicate += 1,
                            _ => stats.noop += 1,
                        }
                        tx.remove_op(*seq)?;
                        if let Some(mut row) = tx.get_row(&c, &d)? {
                            if !row.needs_revert {
                                let ops = tx.row_ops(&c, &d)?;
                                let st = match pending_status(&ops) {
                                    Some(st) => st,
                                    None => RowStatus::Applied {
                                        version: r.version.unwrap_or(match row.status {
                                            RowStatus::Applied { version } => version,
                                            _ => 0,
                                        }),
                                    },
                                };
                                if st != row.status {
                                    row.status = st.clone();
                                    tx.put_row(&c, &d, &row)?;
                                    changed.push((c, d, st));
                                }
                            }
                        }
                    }
                    "rejected" => {
                        let err = r.error.clone().unwrap_or(super::wire::WireError {
                            code: "REJECTED".into(),
                            message: "rejected without an error".into(),
                            field: None,
                            state_vector: None,
                        });
                        let (next_id, n) = resend_id(&op.op_id);
                        let row = tx.get_row(&c, &d)?;
                        if err.code == "MISSING_DEPENDENCIES" && n <= MAX_RESENDS {
                            if let Some(row) = row.as_ref().filter(|r| !r.needs_revert) {
                                let sv = err
                                    .state_vector
                                    .as_deref()
                                    .and_then(base64_decode)
                                    .unwrap_or_default();
                                let delta = diff(&row.state, &sv)
                                    .or_else(|_| diff(&row.state, &[]))
                                    .map_err(engine_err)?;
                                tx.put_op(
                                    *seq,
                                    &PendingOp {
                                        op_id: next_id,
                                        delta,
                                        format: 2,
                                        sent: false,
                                        ..op
                                    },
                                )?;
                                stats.resent += 1;
                                continue;
                            }
                        }
                        stats.rejected += 1;
                        let info = err.info();
                        for (s, later) in tx.row_ops(&c, &d)? {
                            if s < *seq {
                                continue;
                            }
                            tx.remove_op(s)?;
                            let error = if s == *seq {
                                info.clone()
                            } else {
                                SyncErrorInfo {
                                    message: format!(
                                        "dropped: builds on rejected op {} ({})",
                                        op.op_id, info.message
                                    ),
                                    ..info.clone()
                                }
                            };
                            rejections.push(Rejection {
                                collection: c.clone(),
                                doc_id: d.clone(),
                                op_id: later.op_id,
                                error,
                            });
                        }
                        if let Some(mut row) = row {
                            row.status = RowStatus::Rejected { error: info };
                            row.needs_revert = true;
                            tx.put_row(&c, &d, &row)?;
                            changed.push((c, d, row.status));
                        }
                    }
                    _ => {} // unknown status: not an acknowledgement, keep the op
                }
            }
            Ok((rejections, changed))
        })?;
        self.bump(|s| {
            s.applied += stats.applied;
            s.duplicate += stats.duplicate;
            s.noop += stats.noop;
            s.rejected += stats.rejected;
            s.resent += stats.resent;
        });
        for (c, d, st) in changed {
            self.emit(&c, &d, ChangeSource::Status, Some(st));
        }
        let cbs: Vec<RejectCallback> = self
            .on_rejected
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        for rej in &rejections {
            for cb in &cbs {
                cb(rej);
            }
        }
        Ok(rejections)
    }

    /// Rows whose state must be replaced by the server's.
    pub fn rows_needing_revert(&self) -> Result<Vec<(String, String)>, SyncError> {
        let mut out = Vec::new();
        for c in &self.collections {
            for (d, rec) in self.store.list_rows(c)? {
                if rec.needs_revert {
                    out.push((c.clone(), d));
                }
            }
        }
        Ok(out)
    }

    /// Replace the row's state by the server's (`None`: Convex has no such row, so it is removed
    /// locally). Local writes made since the rejection are rebuilt on top of it (same op ids).
    pub fn revert(
        &self,
        collection: &str,
        doc_id: &str,
        server_state: Option<&[u8]>,
    ) -> Result<(), SyncError> {
        if let Some(s) = server_state {
            materialize(s, &self.limits).map_err(engine_err)?;
        }
        let status = self.store.write(|tx| {
            let Some(row) = tx.get_row(collection, doc_id)? else {
                return Ok(None);
            };
            let mut state: Option<Vec<u8>> = server_state.map(<[u8]>::to_vec);
            let ops = tx.row_ops(collection, doc_id)?;
            let mut kept = Vec::new();
            for (seq, op) in ops {
                match self.apply_intent(state.as_deref(), doc_id, &op.intent) {
                    Ok(Some((s, delta))) => {
                        state = Some(s);
                        let op = PendingOp {
                            delta,
                            format: 2,
                            sent: false,
                            ..op
                        };
                        tx.put_op(seq, &op)?;
                        kept.push((seq, op));
                    }
                    _ => tx.remove_op(seq)?,
                }
            }
            let Some(state) = state else {
                tx.remove_row(collection, doc_id)?;
                return Ok(None);
            };
            let status = pending_status(&kept).unwrap_or(row.status);
            tx.put_row(
                collection,
                doc_id,
                &RowRecord {
                    state,
                    status: status.clone(),
                    needs_revert: false,
                },
            )?;
            Ok(Some(status))
        })?;
        self.emit(collection, doc_id, ChangeSource::Revert, status);
        Ok(())
    }

    /// Ingest a remote delta (or whole state) into a row inside `tx`. `Ok(false)`: skipped (the
    /// row cannot take it yet: the caller should catch up).
    fn ingest_remote(
        &self,
        tx: &mut Tx<'_>,
        collection: &str,
        doc_id: &str,
        delta_b64: &str,
        format: Option<u32>,
        version: Option<u64>,
    ) -> Result<Option<RowStatus>, ()> {
        let Some(delta) = base64_decode(delta_b64) else {
            return Err(());
        };
        let format = UpdateFormat::from_number(format.unwrap_or(2)).map_err(|_| ())?;
        let rec = tx.get_row(collection, doc_id).map_err(|_| ())?;
        let out = ingest(
            rec.as_ref().map(|r| r.state.as_slice()),
            &delta,
            format,
            Some(doc_id),
            &self.limits,
        )
        .map_err(|_| ())?;
        let pending = tx.row_ops(collection, doc_id).map_err(|_| ())?;
        let status = match &rec {
            Some(r) if r.needs_revert || !pending.is_empty() => r.status.clone(),
            Some(r) => match (version, &r.status) {
                (Some(v), _) => RowStatus::Applied { version: v },
                (None, st) => st.clone(),
            },
            None => RowStatus::Applied {
                version: version.unwrap_or(0),
            },
        };
        let needs_revert = rec.as_ref().is_some_and(|r| r.needs_revert);
        tx.put_row(
            collection,
            doc_id,
            &RowRecord {
                state: out.state,
                status: status.clone(),
                needs_revert,
            },
        )
        .map_err(|_| ())?;
        Ok(Some(status))
    }

    /// Apply an events batch. Returns true when the edge must catch up (a gap in `seq`, or a
    /// delta the row could not take).
    pub fn apply_events(&self, events: &[Event]) -> Result<bool, SyncError> {
        let mut applied = 0u64;
        let mut gap_seen = false;
        let (need, changed) = self.store.write(|tx| {
            let already = tx.get_catchup_needed()?;
            let last = tx.last_seq()?;
            let mut next = last + 1;
            let mut gap = false;
            let mut need = false;
            let mut changed = Vec::new();
            for ev in events {
                if ev.seq > next {
                    gap = true;
                }
                next = next.max(ev.seq + 1);
                if !self.collections.contains(&ev.collection) {
                    continue;
                }
                match &ev.delta {
                    Some(delta) => {
                        match self.ingest_remote(
                            tx,
                            &ev.collection,
                            &ev.doc_id,
                            delta,
                            ev.format,
                            ev.version,
                        ) {
                            Ok(st) => {
                                applied += 1;
                                changed.push((
                                    ev.collection.clone(),
                                    ev.doc_id.clone(),
                                    ChangeSource::Remote,
                                    st,
                                ));
                            }
                            Err(()) => need = true,
                        }
                    }
                    None => {
                        // Our own op's echo (or a delta-less event): only the version is news.
                        if let (Some(v), Some(mut row)) =
                            (ev.version, tx.get_row(&ev.collection, &ev.doc_id)?)
                        {
                            if !row.needs_revert
                                && tx.row_ops(&ev.collection, &ev.doc_id)?.is_empty()
                            {
                                let st = RowStatus::Applied { version: v };
                                let newer = match row.status {
                                    RowStatus::Applied { version } => v > version,
                                    _ => true,
                                };
                                if newer {
                                    row.status = st.clone();
                                    tx.put_row(&ev.collection, &ev.doc_id, &row)?;
                                    changed.push((
                                        ev.collection.clone(),
                                        ev.doc_id.clone(),
                                        ChangeSource::Status,
                                        Some(st),
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            if gap {
                gap_seen = !already;
                need = true;
            } else {
                tx.set_last_seq(next - 1)?;
            }
            if need {
                tx.set_catchup_needed(true)?;
            }
            Ok((need || already, changed))
        })?;
        self.bump(|s| {
            s.events_received += events.len() as u64;
            s.events_applied += applied;
            if gap_seen {
                s.gaps += 1;
            }
        });
        for (c, d, src, st) in changed {
            self.emit(&c, &d, src, st);
        }
        Ok(need)
    }

    /// Apply one catch-up page of `collection` and store its cursor, in one transaction.
    /// Items the row cannot take are skipped (the feed brings the whole history anyway).
    pub fn apply_changes_page(
        &self,
        collection: &str,
        page: &ChangesData,
    ) -> Result<(), SyncError> {
        let changed = self.store.write(|tx| {
            let mut changed = Vec::new();
            for item in &page.changes {
                if let Some(delta) = &item.delta {
                    if let Ok(st) = self.ingest_remote(
                        tx,
                        collection,
                        &item.doc_id,
                        delta,
                        item.format,
                        item.version,
                    ) {
                        changed.push((item.doc_id.clone(), st));
                    }
                }
            }
            if let Some(cursor) = &page.cursor {
                tx.set_cursor(collection, cursor)?;
            }
            Ok(changed)
        })?;
        for (d, st) in changed {
            self.emit(collection, &d, ChangeSource::Remote, st);
        }
        Ok(())
    }

    /// The catch-up cursor of `collection`.
    pub fn cursor(&self, collection: &str) -> Result<Option<String>, SyncError> {
        self.store.cursor(collection)
    }

    /// Whether a gap (or an unappliable delta) was seen and not yet caught up.
    pub fn catchup_needed(&self) -> Result<bool, SyncError> {
        self.store.catchup_needed()
    }

    /// A catch-up that started when the fan-out head was `head_seq` finished.
    pub fn finish_catchup(&self, head_seq: u64) -> Result<(), SyncError> {
        self.store.write(|tx| {
            tx.set_last_seq(head_seq)?;
            tx.set_catchup_needed(false)
        })?;
        self.bump(|s| s.catchups += 1);
        Ok(())
    }
}
