//! The control protocol: bad lines never panic and are answered with a BAD_REQUEST error.

use dink_edge::control::{execute_local, parse, reply, status_json, Command};
use dink_edge::sync::{Engine, Store};
use proptest::prelude::*;
use serde_json::{json, Value};

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::new(
        Store::open(dir.path()).expect("store"),
        "edge-a",
        vec!["tasks".into()],
    );
    (dir, e)
}

/// What the binary does with a line that needs only the engine: parse, execute, reply.
fn answer(e: &Engine, line: &str) -> Value {
    let text = match parse(line) {
        Ok(req) => match execute_local(e, &req.cmd) {
            Some(r) => reply(&req.id, r),
            None => reply(&req.id, Ok(json!({}))),
        },
        Err((id, err)) => reply(&id, Err(err)),
    };
    serde_json::from_str(&text).expect("replies are JSON")
}

#[test]
fn bad_lines_are_answered_not_fatal() {
    let (_d, e) = engine();
    let bad = [
        "",
        "   ",
        "{",
        "null",
        "42",
        "\"put\"",
        "[]",
        "{}",
        r#"{"cmd":7}"#,
        r#"{"cmd":""}"#,
        r#"{"cmd":"explode"}"#,
        r#"{"cmd":"put"}"#,
        r#"{"cmd":"put","collection":"tasks"}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":""}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":5}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":"a","fields":[]}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":"a","fields":{"$x":1}}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":"a","fields":{"b":{"$integer":"zz"}}}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":"a","fields":{"_b":1}}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":"a","fields":{"id":"b"}}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":"a","unset":"x"}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":"a","unset":[1]}"#,
        r#"{"cmd":"put","collection":"tasks","doc_id":"a","unset":["id"]}"#,
        r#"{"cmd":"put","collection":"nope","doc_id":"a","fields":{}}"#,
        r#"{"cmd":"delete","collection":"tasks","doc_id":"missing"}"#,
        r#"{"cmd":"get","collection":"tasks"}"#,
        r#"{"cmd":"rows"}"#,
        r#"{"cmd":"sync","timeout_ms":-1}"#,
        r#"{"cmd":"sync","timeout_ms":"5"}"#,
        r#"{"cmd":"sync","timeout_ms":1e99}"#,
        "{\"cmd\":\"put\",\"collection\":\"tasks\",\"doc_id\":\"a\",\"fields\":{\"n\":{\"$float\":\"AAAA\"}}}",
    ];
    for line in bad {
        let v = answer(&e, line);
        assert_eq!(v["ok"], false, "{line} -> {v}");
        assert!(v["error"]["code"].is_string(), "{line} -> {v}");
        assert!(v["error"]["message"].is_string(), "{line} -> {v}");
    }
    let v = answer(&e, r#"{"id":"x1","cmd":"nope"}"#);
    assert_eq!(v["id"], "x1", "the id is echoed on errors too");
    assert_eq!(e.pending_count().expect("p"), 0, "nothing was queued");
}

#[test]
fn commands_answer_in_the_documented_shape() {
    let (_d, e) = engine();
    let v = answer(
        &e,
        r#"{"id":1,"cmd":"put","collection":"tasks","doc_id":"t1","fields":{"title":"a","n":{"$integer":"AQAAAAAAAAA="},"x":1},"unset":[]}"#,
    );
    assert_eq!(v, json!({"id":1,"ok":true,"op_id":"edge-a:1"}));
    let v = answer(
        &e,
        r#"{"id":2,"cmd":"put","collection":"tasks","doc_id":"t1","unset":["x"]}"#,
    );
    assert_eq!(v["op_id"], "edge-a:2");
    let v = answer(
        &e,
        r#"{"id":3,"cmd":"get","collection":"tasks","doc_id":"t1"}"#,
    );
    assert_eq!(
        v,
        json!({"id":3,"ok":true,"row":{"doc_id":"t1","fields":{"id":"t1","title":"a","n":{"$integer":"AQAAAAAAAAA="}},"deleted":false,"status":{"state":"local"}}})
    );
    let v = answer(&e, r#"{"cmd":"get","collection":"tasks","doc_id":"zz"}"#);
    assert_eq!(v, json!({"ok":true,"row":null}));
    let v = answer(&e, r#"{"cmd":"delete","collection":"tasks","doc_id":"t1"}"#);
    assert_eq!(v["op_id"], "edge-a:3");
    let v = answer(&e, r#"{"cmd":"rows","collection":"tasks"}"#);
    assert_eq!(v["rows"][0]["deleted"], true, "tombstones are listed: {v}");
    let st: Value = status_json(&e, false).expect("status");
    assert_eq!(st["pending"], 3);
    assert_eq!(st["last_seq"], 0);
    assert_eq!(st["connected"], false);
    for k in [
        "applied",
        "duplicate",
        "noop",
        "rejected",
        "resent",
        "events_received",
        "events_applied",
        "gaps",
        "catchups",
        "unavailable",
    ] {
        assert_eq!(st["stats"][k], 0, "{k}");
    }
    for (line, cmd) in [
        (r#"{"cmd":"status"}"#, Command::Status),
        (r#"{"cmd":"offline"}"#, Command::Offline),
        (r#"{"cmd":"online"}"#, Command::Online),
        (r#"{"cmd":"quit"}"#, Command::Quit),
        (
            r#"{"cmd":"sync","timeout_ms":250}"#,
            Command::Sync { timeout_ms: 250 },
        ),
    ] {
        assert_eq!(parse(line).expect("parse").cmd, cmd);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_lines_never_panic(line in ".{0,200}") {
        let (_d, e) = engine();
        let v = answer(&e, &line);
        prop_assert!(v["ok"].is_boolean());
    }

    #[test]
    fn arbitrary_put_fields_never_panic(
        key in "[a-z_$]{0,6}",
        val in prop_oneof![
            Just(json!(null)), any::<bool>().prop_map(|b| json!(b)), any::<f64>().prop_map(|f| json!(f)),
            ".{0,20}".prop_map(|s| json!(s)), ".{0,12}".prop_map(|s| json!({"$integer": s})),
            ".{0,12}".prop_map(|s| json!({"$bytes": s})), Just(json!([[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]])),
        ],
        doc in ".{0,10}",
    ) {
        let (_d, e) = engine();
        let line = json!({"cmd":"put","collection":"tasks","doc_id":doc,"fields":{key: val}}).to_string();
        let v = answer(&e, &line);
        prop_assert!(v["ok"].is_boolean());
    }
}
