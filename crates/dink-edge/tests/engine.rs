//! The sync engine without NATS: durability, statuses, answers, events, interop with dink-core.

use std::sync::{Arc, Mutex};

use dink_core::value::{base64_encode, fields_from_convex_json};
use dink_core::{
    change, ingest, materialize, state_vector, Fields, Limits, UpdateFormat, Value,
    SERVER_CLIENT_ID,
};
use dink_edge::sync::wire::{ChangeItem, ChangesData, Event, PushResult, WireError};
use dink_edge::sync::{Engine, Rejection, RowStatus, Store};

const C: &str = "tasks";

fn fields(json: &str) -> Fields {
    fields_from_convex_json(json).expect("fields")
}

fn open(dir: &std::path::Path) -> Engine {
    Engine::new(Store::open(dir).expect("store"), "edge-a", vec![C.into()])
}

fn ok(op_id: &str, status: &str, version: u64) -> PushResult {
    PushResult {
        op_id: op_id.into(),
        status: status.into(),
        version: Some(version),
        error: None,
    }
}

fn rejected(op_id: &str, code: &str, sv: Option<String>) -> PushResult {
    PushResult {
        op_id: op_id.into(),
        status: "rejected".into(),
        version: None,
        error: Some(WireError {
            code: code.into(),
            message: format!("{code} for test"),
            field: (code == "VALIDATION_ERROR").then(|| "done".to_string()),
            state_vector: sv,
        }),
    }
}

/// The server side of one row, as the Convex component keeps it (dink-core natively).
struct Server {
    state: Option<Vec<u8>>,
}

impl Server {
    fn ingest(&mut self, delta: &[u8], doc_id: &str) -> Result<(), dink_core::EngineError> {
        let out = ingest(
            self.state.as_deref(),
            delta,
            UpdateFormat::V2,
            Some(doc_id),
            &Limits::default(),
        )?;
        self.state = Some(out.state);
        Ok(())
    }
    fn fields(&self) -> Fields {
        materialize(self.state.as_deref().expect("state"), &Limits::default())
            .expect("materialize")
            .fields
    }
}

#[test]
fn store_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (client_id, op_id) = {
        let e = open(dir.path());
        let op = e
            .put(
                C,
                "t1",
                &fields(r#"{"title":"milk","n":{"$integer":"BwAAAAAAAAA="}}"#),
                &[],
            )
            .expect("put");
        (e.client_id(), op.expect("op id"))
    };
    let e = open(dir.path());
    assert_eq!(
        e.client_id(),
        client_id,
        "client id is chosen once per store"
    );
    assert!((1..1u64 << 32).contains(&client_id));
    let row = e.get(C, "t1").expect("get").expect("row");
    assert_eq!(row.fields.get("title"), Some(&Value::String("milk".into())));
    assert_eq!(row.fields.get("n"), Some(&Value::Int64(7)));
    assert_eq!(row.fields.get("id"), Some(&Value::String("t1".into())));
    assert_eq!(row.status, RowStatus::LocalOnly);
    let pending = e.store().pending_ops().expect("ops");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1.op_id, op_id);
    assert_eq!(op_id, "edge-a:1");
    // The op counter survives too: ids are never reused.
    assert_eq!(
        e.put(C, "t2", &fields(r#"{"a":1}"#), &[]).expect("put"),
        Some("edge-a:2".into())
    );
}

/// Runs only as the child of `crash_between_write_and_ack_keeps_the_op_with_its_id`: writes,
/// marks the op sent, then aborts the process (no destructor, no clean close of the store).
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("DINK_EDGE_CRASH_DIR") else {
        return;
    };
    let e = open(std::path::Path::new(&dir));
    let op = e
        .put(C, "t1", &fields(r#"{"title":"x"}"#), &[])
        .expect("put")
        .expect("op");
    let batch = e.next_batch(500, 1 << 20).expect("batch");
    e.mark_sent(&batch).expect("sent");
    println!("OP_ID={op}");
    std::process::abort();
}

#[test]
fn crash_between_write_and_ack_keeps_the_op_with_its_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("DINK_EDGE_CRASH_DIR", dir.path())
        .output()
        .expect("run child");
    assert!(!out.status.success(), "the child aborts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let op_id = stdout
        .split("OP_ID=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("child wrote")
        .to_string();
    let e = open(dir.path());
    let batch = e.next_batch(500, 1 << 20).expect("batch");
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].1.op_id, op_id, "resent with the same op id");
    assert!(batch[0].1.sent);
    assert_eq!(e.status(C, "t1").expect("status"), Some(RowStatus::Sent));
    // Convex answers duplicate (it had applied it): the op goes, the row is applied.
    e.apply_push_results(&batch, &[ok(&op_id, "duplicate", 1)])
        .expect("results");
    assert_eq!(e.pending_count().expect("pending"), 0);
    assert_eq!(
        e.status(C, "t1").expect("status"),
        Some(RowStatus::Applied { version: 1 })
    );
}

#[test]
fn statuses_change_only_on_sends_and_acks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    let mut changes = e.subscribe();
    let op1 = e
        .put(C, "t1", &fields(r#"{"title":"a"}"#), &[])
        .expect("put")
        .expect("op");
    assert_eq!(e.status(C, "t1").expect("s"), Some(RowStatus::LocalOnly));
    let batch = e.next_batch(500, 1 << 20).expect("batch");
    assert_eq!(
        e.status(C, "t1").expect("s"),
        Some(RowStatus::LocalOnly),
        "choosing a batch is not sending"
    );
    e.mark_sent(&batch).expect("sent");
    assert_eq!(e.status(C, "t1").expect("s"), Some(RowStatus::Sent));
    // A second write before the answer: local again.
    let op2 = e
        .put(C, "t1", &fields(r#"{"title":"b"}"#), &[])
        .expect("put")
        .expect("op");
    assert_eq!(e.status(C, "t1").expect("s"), Some(RowStatus::LocalOnly));
    // An answer that is not an acknowledgement (unknown status, wrong op id) changes nothing.
    e.apply_push_results(&batch, &[ok("other", "applied", 9)])
        .expect("r");
    e.apply_push_results(&batch, &[ok(&op1, "weird", 9)])
        .expect("r");
    assert_eq!(e.pending_count().expect("p"), 2);
    assert_eq!(e.status(C, "t1").expect("s"), Some(RowStatus::LocalOnly));
    // op1 applied: op2 still unsent, so still local.
    e.apply_push_results(&batch, &[ok(&op1, "applied", 1)])
        .expect("r");
    assert_eq!(e.status(C, "t1").expect("s"), Some(RowStatus::LocalOnly));
    let batch = e.next_batch(500, 1 << 20).expect("batch");
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].1.op_id, op2);
    e.mark_sent(&batch).expect("sent");
    assert_eq!(e.status(C, "t1").expect("s"), Some(RowStatus::Sent));
    e.apply_push_results(&batch, &[ok(&op2, "noop", 2)])
        .expect("r");
    assert_eq!(
        e.status(C, "t1").expect("s"),
        Some(RowStatus::Applied { version: 2 })
    );
    assert_eq!(e.stats().applied, 1);
    assert_eq!(e.stats().noop, 1);
    // Subscribers saw every status.
    let mut seen = Vec::new();
    while let Ok(c) = changes.try_recv() {
        seen.push(c.status);
    }
    assert!(seen.contains(&Some(RowStatus::Sent)));
    assert_eq!(seen.last(), Some(&Some(RowStatus::Applied { version: 2 })));
    // Survives a reopen.
    drop(e);
    let e = open(dir.path());
    assert_eq!(
        e.status(C, "t1").expect("s"),
        Some(RowStatus::Applied { version: 2 })
    );
}

#[test]
fn missing_dependencies_resend_is_a_diff_the_server_can_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    // The row exists on the server (a Convex-side write) and reached the edge.
    let base = change(
        None,
        None,
        Some(&fields(r#"{"id":"t1","title":"a","done":false}"#)),
        Some("t1"),
        SERVER_CLIENT_ID,
        1.0,
        &Limits::default(),
    )
    .expect("server write");
    let mut server = Server {
        state: Some(base.state.clone()),
    };
    let ev = Event {
        seq: 1,
        collection: C.into(),
        doc_id: "t1".into(),
        version: Some(1),
        origin_edge_id: None,
        delta: Some(base64_encode(&base.delta.expect("delta"))),
        format: Some(2),
    };
    assert!(!e.apply_events(&[ev]).expect("events"));
    // Two local writes of the same key: the second builds on the first.
    let op1 = e
        .put(C, "t1", &fields(r#"{"title":"b"}"#), &[])
        .expect("put")
        .expect("op");
    let op2 = e
        .put(C, "t1", &fields(r#"{"title":"c"}"#), &[])
        .expect("put")
        .expect("op");
    let all = e.next_batch(500, 1 << 20).expect("batch");
    assert_eq!(all.len(), 2);
    // The server lost op1 (say it went to a dead gateway); op2 alone misses its dependencies.
    let err = server.ingest(&all[1].1.delta, "t1").expect_err("op2 alone");
    assert_eq!(err.code, dink_core::ErrorCode::MissingDependencies);
    let sv = err.state_vector.clone().unwrap_or_else(|| {
        state_vector(server.state.as_deref().expect("s"), UpdateFormat::V2).expect("sv")
    });
    let only2 = vec![all[1].clone()];
    e.mark_sent(&only2).expect("sent");
    let rej = e
        .apply_push_results(
            &only2,
            &[rejected(
                &op2,
                "MISSING_DEPENDENCIES",
                Some(base64_encode(&sv)),
            )],
        )
        .expect("r");
    assert!(rej.is_empty(), "a resend is not a rejection");
    assert_eq!(e.stats().resent, 1);
    let ops = e.store().pending_ops().expect("ops");
    let resend = ops
        .iter()
        .find(|(_, o)| o.op_id.starts_with(&op2))
        .expect("resend")
        .1
        .clone();
    assert_eq!(resend.op_id, format!("{op2}~r1"));
    assert!(!resend.sent);
    server
        .ingest(&resend.delta, "t1")
        .expect("the diff ingests on the server's state");
    let edge_row = e.get(C, "t1").expect("get").expect("row");
    assert_eq!(
        server.fields(),
        edge_row.fields,
        "server now has exactly the edge's row"
    );
    assert_eq!(
        server.fields().get("title"),
        Some(&Value::String("c".into()))
    );
    // op1 still pending; it is now a noop for the server.
    assert!(ops.iter().any(|(_, o)| o.op_id == op1));
    assert_eq!(
        dink_edge::sync::engine::resend_id("edge-a:3~r1"),
        ("edge-a:3~r2".to_string(), 2)
    );
}

#[test]
fn rejection_drops_the_op_and_later_ops_of_the_row_and_reverts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    let seen: Arc<Mutex<Vec<Rejection>>> = Arc::default();
    let s2 = seen.clone();
    e.on_sync_rejected(move |r| s2.lock().expect("lock").push(r.clone()));
    let op1 = e
        .put(C, "t1", &fields(r#"{"title":"a","done":"yes"}"#), &[])
        .expect("put")
        .expect("op");
    let op2 = e
        .put(C, "t1", &fields(r#"{"title":"b"}"#), &[])
        .expect("put")
        .expect("op");
    let op3 = e
        .put(C, "t2", &fields(r#"{"title":"other"}"#), &[])
        .expect("put")
        .expect("op");
    let batch = e.next_batch(1, 1 << 20).expect("batch");
    assert_eq!(batch[0].1.op_id, op1);
    e.mark_sent(&batch).expect("sent");
    let rej = e
        .apply_push_results(&batch, &[rejected(&op1, "VALIDATION_ERROR", None)])
        .expect("r");
    assert_eq!(
        rej.iter().map(|r| r.op_id.clone()).collect::<Vec<_>>(),
        vec![op1.clone(), op2.clone()]
    );
    assert_eq!(rej[0].error.code, "VALIDATION_ERROR");
    assert_eq!(rej[0].error.field.as_deref(), Some("done"));
    assert_eq!(
        *seen.lock().expect("lock"),
        rej,
        "the callback saw each rejection"
    );
    assert_eq!(e.stats().rejected, 1);
    let ops = e.store().pending_ops().expect("ops");
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].1.op_id, op3, "other rows keep their ops");
    assert!(matches!(
        e.status(C, "t1").expect("s"),
        Some(RowStatus::Rejected { .. })
    ));
    assert_eq!(
        e.rows_needing_revert().expect("revert"),
        vec![(C.to_string(), "t1".to_string())]
    );

    // A write to the row while it waits for the revert is kept, but not sent yet.
    let op4 = e
        .put(C, "t1", &fields(r#"{"note":"later"}"#), &[])
        .expect("put")
        .expect("op");
    let batch = e.next_batch(500, 1 << 20).expect("batch");
    assert_eq!(
        batch
            .iter()
            .map(|(_, o)| o.op_id.clone())
            .collect::<Vec<_>>(),
        vec![op3.clone()]
    );

    // The server's row (another edge created it meanwhile).
    let server = change(
        None,
        None,
        Some(&fields(r#"{"id":"t1","title":"server","done":false}"#)),
        Some("t1"),
        SERVER_CLIENT_ID,
        1.0,
        &Limits::default(),
    )
    .expect("server write");
    e.revert(C, "t1", Some(&server.state)).expect("revert");
    let row = e.get(C, "t1").expect("get").expect("row");
    let mut expected = materialize(&server.state, &Limits::default())
        .expect("m")
        .fields;
    expected.insert("note".into(), Value::String("later".into()));
    assert_eq!(
        row.fields, expected,
        "the server's row plus the later write, none of the refused change"
    );
    assert!(e.rows_needing_revert().expect("r").is_empty());
    // The later write was rebuilt on the server's state, same op id, and now ingests there.
    let ops = e.store().pending_ops().expect("ops");
    let rebuilt = ops
        .iter()
        .find(|(_, o)| o.op_id == op4)
        .expect("op4")
        .1
        .clone();
    let mut srv = Server {
        state: Some(server.state.clone()),
    };
    srv.ingest(&rebuilt.delta, "t1")
        .expect("rebuilt op ingests on the server");
    assert_eq!(srv.fields(), row.fields);

    // Without later writes, the row becomes exactly the server's.
    let op5 = e
        .put(C, "t2", &fields(r#"{"bad":true}"#), &[])
        .expect("put")
        .expect("op");
    let batch = e.next_batch(500, 1 << 20).expect("batch");
    let results: Vec<PushResult> = batch
        .iter()
        .map(|(_, o)| {
            if o.doc_id == "t2" {
                rejected(&o.op_id, "VALIDATION_ERROR", None)
            } else {
                ok(&o.op_id, "applied", 2)
            }
        })
        .collect();
    e.mark_sent(&batch).expect("sent");
    e.apply_push_results(&batch, &results).expect("r");
    assert!(seen.lock().expect("l").iter().any(|r| r.op_id == op5));
    let srv2 = change(
        None,
        None,
        Some(&fields(r#"{"id":"t2","title":"convex"}"#)),
        Some("t2"),
        SERVER_CLIENT_ID,
        1.0,
        &Limits::default(),
    )
    .expect("w");
    e.revert(C, "t2", Some(&srv2.state)).expect("revert");
    let row = e.get(C, "t2").expect("g").expect("row");
    assert_eq!(
        row.fields,
        materialize(&srv2.state, &Limits::default())
            .expect("m")
            .fields
    );
    assert_eq!(
        e.store().get_row(C, "t2").expect("r").expect("r").state,
        srv2.state,
        "state is the server's"
    );

    // NOT_FOUND on the server: the row is removed locally.
    let op6 = e
        .put(C, "t3", &fields(r#"{"x":1}"#), &[])
        .expect("put")
        .expect("op");
    let batch: Vec<_> = e
        .next_batch(500, 1 << 20)
        .expect("b")
        .into_iter()
        .filter(|(_, o)| o.op_id == op6)
        .collect();
    e.apply_push_results(&batch, &[rejected(&op6, "UNKNOWN_COLLECTION", None)])
        .expect("r");
    e.revert(C, "t3", None).expect("revert");
    assert_eq!(e.get(C, "t3").expect("g"), None);
}

#[test]
fn gaps_are_detected_and_cleared_by_a_catch_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    let ev = |seq| Event {
        seq,
        collection: C.into(),
        doc_id: "x".into(),
        version: Some(1),
        origin_edge_id: Some("edge-a".into()),
        delta: None,
        format: None,
    };
    assert!(!e.apply_events(&[ev(1), ev(2)]).expect("e"));
    assert_eq!(e.last_seq().expect("s"), 2);
    assert!(
        !e.apply_events(&[ev(2)]).expect("e"),
        "a repeat is not a gap"
    );
    assert_eq!(e.last_seq().expect("s"), 2);
    assert!(
        e.apply_events(&[ev(5), ev(6)]).expect("e"),
        "3 and 4 are missing"
    );
    assert_eq!(e.stats().gaps, 1);
    assert!(e.catchup_needed().expect("c"));
    assert_eq!(
        e.last_seq().expect("s"),
        2,
        "last_seq does not skip the gap"
    );
    assert!(
        e.apply_events(&[ev(3), ev(4), ev(7)]).expect("e"),
        "inside a batch too (5, 6 then 7 ok, but catch-up still owed)"
    );
    e.finish_catchup(7).expect("catch-up");
    assert!(!e.catchup_needed().expect("c"));
    assert_eq!(e.last_seq().expect("s"), 7);
    assert!(!e.apply_events(&[ev(8)]).expect("e"));
    assert_eq!(e.stats().catchups, 1);
    drop(e);
    assert_eq!(open(dir.path()).last_seq().expect("s"), 8);
}

#[test]
fn applying_the_same_delta_twice_is_harmless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    let w = change(
        None,
        None,
        Some(&fields(r#"{"id":"t9","title":"z"}"#)),
        Some("t9"),
        SERVER_CLIENT_ID,
        1.0,
        &Limits::default(),
    )
    .expect("w");
    let delta = base64_encode(&w.delta.expect("d"));
    let ev = Event {
        seq: 1,
        collection: C.into(),
        doc_id: "t9".into(),
        version: Some(4),
        origin_edge_id: None,
        delta: Some(delta.clone()),
        format: Some(2),
    };
    e.apply_events(std::slice::from_ref(&ev)).expect("e");
    let first = e.get(C, "t9").expect("g").expect("row");
    e.apply_events(&[ev]).expect("e");
    let page = ChangesData {
        changes: vec![ChangeItem {
            doc_id: "t9".into(),
            version: Some(4),
            origin: Some("convex".into()),
            delta: Some(delta),
            format: Some(2),
        }],
        cursor: Some("c1".into()),
        more: false,
        snapshot: true,
    };
    e.apply_changes_page(C, &page).expect("page");
    let again = e.get(C, "t9").expect("g").expect("row");
    assert_eq!(first, again);
    assert_eq!(again.status, RowStatus::Applied { version: 4 });
    assert_eq!(e.cursor(C).expect("c"), Some("c1".into()));
    // A delta the row cannot take yet is skipped and asks for a catch-up.
    let w1 = change(
        None,
        None,
        Some(&fields(r#"{"id":"t7","a":1}"#)),
        Some("t7"),
        SERVER_CLIENT_ID,
        1.0,
        &Limits::default(),
    )
    .expect("w1");
    let w2 = change(
        Some(&w1.state),
        None,
        Some(&fields(r#"{"id":"t7","a":2}"#)),
        Some("t7"),
        SERVER_CLIENT_ID,
        1.0,
        &Limits::default(),
    )
    .expect("w2");
    let ev2 = Event {
        seq: 2,
        collection: C.into(),
        doc_id: "t7".into(),
        version: Some(2),
        origin_edge_id: None,
        delta: Some(base64_encode(&w2.delta.expect("d"))),
        format: Some(2),
    };
    assert!(e.apply_events(&[ev2]).expect("e"), "needs catch-up");
    assert_eq!(e.get(C, "t7").expect("g"), None);
}

#[test]
fn edge_deltas_ingest_with_dink_core_as_the_server_would() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    let mut server = Server { state: None };
    e.put(
        C,
        "t1",
        &fields(
            r#"{"title":"a","tags":["x","y"],"b":{"$bytes":"AAE="},"f":{"$float":"AAAAAAAA+H8="}}"#,
        ),
        &[],
    )
    .expect("put");
    e.put(C, "t1", &fields(r#"{"title":"b"}"#), &["tags".to_string()])
        .expect("put");
    e.delete(C, "t1").expect("delete");
    e.put(C, "t1", &fields(r#"{"title":"again"}"#), &[])
        .expect("put");
    for (_, op) in e.store().pending_ops().expect("ops") {
        assert_eq!(op.format, 2);
        server.ingest(&op.delta, "t1").expect("ingests");
    }
    let edge_row = e.get(C, "t1").expect("g").expect("row");
    assert!(!edge_row.deleted);
    assert_eq!(server.fields(), edge_row.fields);
    assert_eq!(
        edge_row.fields.len(),
        2,
        "a put on a tombstone starts afresh: {:?}",
        edge_row.fields
    );
    // Bad writes are refused locally and queue nothing.
    assert_eq!(
        e.put(C, "t1", &fields(r#"{"id":"other"}"#), &[])
            .expect_err("id")
            .code,
        "BAD_REQUEST"
    );
    assert_eq!(
        e.put(C, "t1", &fields(r#"{"_x":1}"#), &[])
            .expect_err("_x")
            .code,
        "BAD_REQUEST"
    );
    assert_eq!(
        e.put("nope", "t1", &fields("{}"), &[])
            .expect_err("coll")
            .code,
        "UNKNOWN_COLLECTION"
    );
    assert_eq!(
        e.delete(C, "missing").expect_err("missing").code,
        "NOT_FOUND"
    );
    assert_eq!(
        e.put(C, "t1", &fields(r#"{"title":"again"}"#), &[])
            .expect("same"),
        None,
        "no change, no op"
    );
}

#[test]
fn reordered_delivery_converges_after_the_catch_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path());
    let limits = Limits::default();
    let row = |json: &str, state: Option<&[u8]>| {
        change(
            state,
            None,
            Some(&fields(json)),
            Some("r1"),
            SERVER_CLIENT_ID,
            1.0,
            &limits,
        )
        .expect("change")
    };
    let w1 = row(r#"{"id":"r1","n":1}"#, None);
    let w2 = row(r#"{"id":"r1","n":2}"#, Some(&w1.state));
    let (d1, d2) = (
        base64_encode(&w1.delta.expect("d1")),
        base64_encode(&w2.delta.expect("d2")),
    );
    let ev = |seq, delta: &str| Event {
        seq,
        collection: C.into(),
        doc_id: "r1".into(),
        version: Some(seq),
        origin_edge_id: None,
        delta: Some(delta.to_string()),
        format: Some(2),
    };
    // The second change arrives first (a gap: seq 2 before 1), then the first one.
    assert!(e.apply_events(&[ev(2, &d2)]).expect("e2"), "a gap");
    e.apply_events(&[ev(1, &d1)]).expect("e1");
    // The catch-up brings both, in commit order; the row ends as Convex has it.
    let item = |version, delta: &str| ChangeItem {
        doc_id: "r1".into(),
        version: Some(version),
        origin: Some("convex".into()),
        delta: Some(delta.to_string()),
        format: Some(2),
    };
    let page = ChangesData {
        changes: vec![item(1, &d1), item(2, &d2)],
        cursor: Some("c2".into()),
        more: false,
        snapshot: false,
    };
    e.apply_changes_page(C, &page).expect("page");
    e.finish_catchup(2).expect("catch-up");
    let got = e.get(C, "r1").expect("get").expect("row");
    assert_eq!(got.fields, fields(r#"{"id":"r1","n":2}"#));
    assert!(!e.catchup_needed().expect("c"));
}
