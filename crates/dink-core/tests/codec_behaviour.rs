//! Behaviour of the row codec: ingest, change, tombstones, diff, merge, limits and errors.

mod support;

use dink_core::{
    change, convert_v1_to_v2, convert_v2_to_v1, diff, ingest, materialize, merge, state_vector,
    ErrorCode, Limits, UpdateFormat, Value, SERVER_CLIENT_ID,
};
use support::{fields, s, Edge};

const NOW: f64 = 1_700_000_000_000.0;

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn change_then_materialize_round_trips_the_row() {
    let row = fields(&[
        ("id", s("t1")),
        ("title", s("buy milk")),
        ("done", Value::Boolean(false)),
    ]);
    let out = change(
        None,
        None,
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    assert!(out.delta.is_some());
    assert_eq!(out.changed_keys, vec!["done", "id", "title"]);
    let back = materialize(&out.state, &limits()).unwrap();
    assert_eq!(back.fields, row);
    assert!(!back.deleted);
}

#[test]
fn a_change_that_changes_nothing_gives_no_delta() {
    let row = fields(&[("id", s("t1")), ("n", Value::Float64(3.0))]);
    let first = change(
        None,
        None,
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    let again = change(
        Some(&first.state),
        Some(&row),
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    assert_eq!(again.delta, None);
    assert!(again.changed_keys.is_empty());
    assert_eq!(again.state_vector, first.state_vector);
}

#[test]
fn a_change_holds_only_the_changed_keys() {
    let big = s(&"x".repeat(10_000));
    let row = fields(&[
        ("id", s("t1")),
        ("body", big.clone()),
        ("n", Value::Float64(1.0)),
    ]);
    let first = change(
        None,
        None,
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    let next = fields(&[("id", s("t1")), ("body", big), ("n", Value::Float64(2.0))]);
    let out = change(
        Some(&first.state),
        Some(&row),
        Some(&next),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    let delta = out.delta.expect("n changed");
    assert_eq!(out.changed_keys, vec!["n"]);
    assert!(
        delta.len() < 100,
        "delta of one number is {} bytes",
        delta.len()
    );
    // An edge holding the old state reaches the new row by applying only the delta.
    let edge = Edge::new(7);
    edge.apply_v2(&first.state);
    edge.apply_v2(&delta);
    assert_eq!(edge.materialize().fields, next);
}

#[test]
fn removing_a_field_is_a_change() {
    let row = fields(&[("id", s("t1")), ("note", s("x"))]);
    let first = change(
        None,
        None,
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    let next = fields(&[("id", s("t1"))]);
    let out = change(
        Some(&first.state),
        Some(&row),
        Some(&next),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    assert_eq!(out.changed_keys, vec!["note"]);
    assert_eq!(materialize(&out.state, &limits()).unwrap().fields, next);
}

#[test]
fn drift_between_the_callers_old_row_and_the_crdt_is_reported_and_repaired() {
    let row = fields(&[("id", s("t1")), ("n", Value::Float64(1.0))]);
    let first = change(
        None,
        None,
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    let stale_old = fields(&[("id", s("t1")), ("n", Value::Float64(5.0))]);
    let out = change(
        Some(&first.state),
        Some(&stale_old),
        Some(&stale_old),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    assert!(out.drifted);
    assert_eq!(out.changed_keys, vec!["n"]);
    assert_eq!(
        materialize(&out.state, &limits()).unwrap().fields,
        stale_old
    );
}

#[test]
fn edge_updates_ingest_in_v1_and_v2_and_are_idempotent() {
    for v1 in [false, true] {
        let mut edge = Edge::new(11);
        edge.set("id", &s("r1"));
        edge.set("title", &s("from edge"));
        let update = edge.take_update(v1);
        let format = if v1 {
            UpdateFormat::V1
        } else {
            UpdateFormat::V2
        };
        let first = ingest(None, &update, format, None, &limits()).unwrap();
        assert!(first.changed);
        assert_eq!(
            first.fields,
            fields(&[("id", s("r1")), ("title", s("from edge"))])
        );
        assert!(!first.delta.is_empty());
        // The normalized delta is v2 and carries the same content.
        let replay = ingest(None, &first.delta, UpdateFormat::V2, None, &limits()).unwrap();
        assert_eq!(replay.fields, first.fields);
        // Duplicate delivery: nothing changes, no delta to forward.
        let dup = ingest(Some(&first.state), &update, format, None, &limits()).unwrap();
        assert!(!dup.changed);
        assert!(dup.delta.is_empty());
        assert_eq!(dup.state, first.state);
    }
}

#[test]
fn the_normalized_delta_holds_only_what_was_new() {
    let mut edge = Edge::new(12);
    edge.set("id", &s("r1"));
    edge.set("a", &s(&"a".repeat(5000)));
    let base = edge.take_update(false);
    let server = ingest(None, &base, UpdateFormat::V2, None, &limits()).unwrap();
    edge.set("b", &Value::Float64(2.0));
    // The edge resends everything (as Replicate clients do for some fields).
    let resend = edge.full_state_v2();
    let out = ingest(
        Some(&server.state),
        &resend,
        UpdateFormat::V2,
        None,
        &limits(),
    )
    .unwrap();
    assert!(out.changed);
    assert!(out.delta.len() < 200, "delta is {} bytes", out.delta.len());
}

#[test]
fn missing_dependencies_carry_the_server_state_vector_and_a_resend_is_accepted() {
    let mut edge = Edge::new(21);
    edge.set("id", &s("r1"));
    let first = edge.take_update(false);
    edge.set("title", &s("second"));
    let second = edge.take_update(false);
    let err = ingest(None, &second, UpdateFormat::V2, None, &limits()).unwrap_err();
    assert_eq!(err.code, ErrorCode::MissingDependencies);
    let sv = err.state_vector.expect("server state vector");
    // The edge answers with a diff against the server's state vector.
    let resend = diff(&edge.full_state_v2(), &sv).unwrap();
    let ok = ingest(None, &resend, UpdateFormat::V2, None, &limits()).unwrap();
    assert_eq!(
        ok.fields,
        fields(&[("id", s("r1")), ("title", s("second"))])
    );
    let _ = first;
}

#[test]
fn delete_sets_a_tombstone_and_late_edge_edits_do_not_resurrect() {
    let row = fields(&[("id", s("t1")), ("title", s("a"))]);
    let created = change(
        None,
        None,
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    // An edge got the row before the delete and edits it offline.
    let mut edge = Edge::new(31);
    edge.apply_v2(&created.state);
    let _ = edge.take_update(false);
    edge.set("title", &s("edited offline"));
    let late = edge.take_update(false);

    let deleted = change(
        Some(&created.state),
        Some(&row),
        None,
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.changed_keys, Vec::<String>::new());
    let tomb = materialize(&deleted.state, &limits()).unwrap();
    assert!(tomb.deleted);

    let after = ingest(
        Some(&deleted.state),
        &late,
        UpdateFormat::V2,
        None,
        &limits(),
    )
    .unwrap();
    assert!(
        after.changed,
        "the edit is merged into the tombstoned state"
    );
    assert!(after.deleted, "but the row stays deleted");

    // Deleting again changes nothing.
    let again = change(
        Some(&deleted.state),
        None,
        None,
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    assert_eq!(again.delta, None);
}

#[test]
fn re_inserting_a_deleted_id_clears_the_tombstone() {
    let row = fields(&[("id", s("t1")), ("title", s("a"))]);
    let created = change(
        None,
        None,
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    let deleted = change(
        Some(&created.state),
        Some(&row),
        None,
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap();
    let again = change(
        Some(&deleted.state),
        None,
        Some(&row),
        None,
        SERVER_CLIENT_ID,
        NOW + 1.0,
        &limits(),
    )
    .unwrap();
    assert!(again.delta.is_some(), "clearing the tombstone is a change");
    let back = materialize(&again.state, &limits()).unwrap();
    assert!(!back.deleted);
    assert_eq!(back.fields, row);
    // An edge that only saw the delete also sees the row come back through the delta.
    let edge = Edge::new(32);
    edge.apply_v2(&deleted.state);
    assert!(edge.materialize().deleted);
    edge.apply_v2(&again.delta.unwrap());
    assert!(!edge.materialize().deleted);
}

#[test]
fn an_edge_delete_tombstones_the_row() {
    let mut edge = Edge::new(33);
    edge.set("id", &s("r"));
    let created = ingest(
        None,
        &edge.take_update(false),
        UpdateFormat::V2,
        None,
        &limits(),
    )
    .unwrap();
    edge.delete_row(NOW);
    let out = ingest(
        Some(&created.state),
        &edge.take_update(true),
        UpdateFormat::V1,
        None,
        &limits(),
    )
    .unwrap();
    assert!(out.deleted);
    assert_eq!(out.fields, fields(&[("id", s("r"))]));
}

#[test]
fn diff_against_a_state_vector_brings_a_peer_up_to_date() {
    let mut edge = Edge::new(41);
    edge.set("id", &s("r"));
    let early = edge.take_update(false);
    edge.set("n", &Value::Float64(9.0));
    let _ = edge.take_update(false);
    let peer = Edge::new(42);
    peer.apply_v2(&early);
    let d = diff(&edge.full_state_v2(), &peer.state_vector()).unwrap();
    assert!(d.len() < edge.full_state_v2().len());
    peer.apply_v2(&d);
    assert_eq!(peer.materialize(), edge.materialize());
    // An empty state vector means "everything".
    let all = diff(&edge.full_state_v2(), &[]).unwrap();
    let fresh = Edge::new(43);
    fresh.apply_v2(&all);
    assert_eq!(fresh.materialize(), edge.materialize());
    assert_eq!(
        diff(&edge.full_state_v2(), &[0xff, 0xff]).unwrap_err().code,
        ErrorCode::InvalidArgument
    );
}

#[test]
fn untrusted_state_vectors_are_checked_before_yrs_sees_them() {
    let edge = Edge::new(44);
    edge.set("id", &s("r"));
    let state = edge.full_state_v2();
    let sv = edge.state_vector();
    let with_trailing = [sv.as_slice(), &[0]].concat();
    let cases: [(&[u8], &str); 4] = [
        // 100 million entries declared in 4 bytes: yrs would reserve room for them first.
        (&[0x80, 0xc2, 0xd7, 0x2f], "declares 100000000 entries"),
        (&with_trailing, "follow its last entry"),
        // A client id of 63 bits.
        (
            &[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1],
            "53 bits",
        ),
        // A clock past 32 bits.
        (&[1, 44, 0xff, 0xff, 0xff, 0xff, 0x1f], "32 bits"),
    ];
    for (bytes, message) in cases {
        let err = diff(&state, bytes).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{bytes:?}");
        assert!(err.message.contains(message), "{bytes:?}: {err}");
    }
    assert!(!diff(&state, &sv).unwrap().is_empty());
}

#[test]
fn merge_equals_applying_each_update() {
    let mut edge = Edge::new(51);
    let mut updates = Vec::new();
    for i in 0..20 {
        edge.set("id", &s("r"));
        edge.set("n", &Value::Float64(i as f64));
        updates.push(edge.take_update(false));
    }
    let refs: Vec<&[u8]> = updates.iter().map(Vec::as_slice).collect();
    let merged = merge(&refs, UpdateFormat::V2).unwrap();
    let out = ingest(None, &merged, UpdateFormat::V2, None, &limits()).unwrap();
    assert_eq!(out.fields, edge.materialize().fields);
    assert_eq!(
        state_vector(&merged, UpdateFormat::V2).unwrap(),
        edge.state_vector()
    );
    let bad: Vec<&[u8]> = vec![&updates[0], b"junk"];
    let err = merge(&bad, UpdateFormat::V2).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidDelta);
    assert!(err.message.starts_with("update 1"));
}

#[test]
fn v1_and_v2_convert_both_ways() {
    let mut edge = Edge::new(61);
    edge.set("id", &s("r"));
    edge.set("x", &Value::Int64(-5));
    let v1 = edge.take_update(true);
    let v2 = convert_v1_to_v2(&v1).unwrap();
    let back = convert_v2_to_v1(&v2).unwrap();
    let a = ingest(None, &v2, UpdateFormat::V2, None, &limits()).unwrap();
    let b = ingest(None, &back, UpdateFormat::V1, None, &limits()).unwrap();
    assert_eq!(a.fields, b.fields);
    assert_eq!(a.fields["x"], Value::Int64(-5));
}

#[test]
fn bad_bytes_are_typed_errors() {
    let mut edge = Edge::new(71);
    edge.set("id", &s("r"));
    let v1 = edge.take_update(true);
    let v2 = edge.full_state_v2();
    let cases: Vec<(&[u8], UpdateFormat)> = vec![
        (&[], UpdateFormat::V2),
        (b"not an update", UpdateFormat::V2),
        (&v1, UpdateFormat::V2),
        (&v2[..v2.len() / 2], UpdateFormat::V2),
        (&v1[..v1.len() - 1], UpdateFormat::V1),
        (&[0xff; 64], UpdateFormat::V1),
    ];
    for (bytes, format) in cases {
        let err = ingest(None, bytes, format, None, &limits()).unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::InvalidDelta,
            "{bytes:?} as {format:?}: {err}"
        );
    }
}

#[test]
fn an_empty_client_section_is_refused_not_a_panic() {
    // Found by the fuzzer: an update whose section for a client the row already knows holds no
    // structs made yrs panic while trimming it against the stored state.
    let created = change(
        None,
        None,
        Some(&fields(&[("id", s("r"))])),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .expect("create");
    let mut v1 = vec![1, 0];
    let mut client = SERVER_CLIENT_ID;
    while client >= 0x80 {
        v1.push((client as u8 & 0x7f) | 0x80);
        client >>= 7;
    }
    v1.extend_from_slice(&[client as u8, 0, 0]);
    let v2 = convert_v1_to_v2(&v1);
    for (state, bytes, format) in [
        (
            Some(created.state.as_slice()),
            v1.as_slice(),
            UpdateFormat::V1,
        ),
        (None, v1.as_slice(), UpdateFormat::V1),
    ] {
        let err = ingest(state, bytes, format, None, &limits()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidDelta, "{err}");
        assert!(err.message.contains("no structs"), "{err}");
    }
    // Conversion refuses it too (it decodes through the same guard).
    assert_eq!(v2.unwrap_err().code, ErrorCode::InvalidDelta);
}

#[test]
fn documents_outside_the_row_layout_are_rejected() {
    let doc = yrs::Doc::with_options(yrs::Options::with_guid_and_client_id(
        "x".into(),
        yrs::ClientID::new(5),
    ));
    {
        use yrs::{Map, Transact, WriteTxn};
        let mut txn = doc.transact_mut();
        let other = txn.get_or_insert_map("somethingElse");
        other.insert(&mut txn, "k", "v");
    }
    let bytes = {
        use yrs::{ReadTxn, Transact};
        doc.transact()
            .encode_state_as_update_v2(&yrs::StateVector::default())
    };
    let err = ingest(None, &bytes, UpdateFormat::V2, None, &limits()).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidDelta);

    let mut edge = Edge::new(72);
    edge.set("_secret", &s("x"));
    let err = ingest(
        None,
        &edge.take_update(false),
        UpdateFormat::V2,
        None,
        &limits(),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidDelta);
    assert_eq!(err.field.as_deref(), Some("_secret"));
}

#[test]
fn limits_are_enforced_with_too_large() {
    let mut edge = Edge::new(81);
    edge.set("id", &s("r"));
    edge.set("blob", &s(&"z".repeat(4000)));
    let update = edge.take_update(false);
    let small = Limits {
        max_update_bytes: 1000,
        ..Limits::default()
    };
    assert_eq!(
        ingest(None, &update, UpdateFormat::V2, None, &small)
            .unwrap_err()
            .code,
        ErrorCode::TooLarge
    );
    let small_row = Limits {
        max_row_bytes: 1000,
        ..Limits::default()
    };
    assert_eq!(
        ingest(None, &update, UpdateFormat::V2, None, &small_row)
            .unwrap_err()
            .code,
        ErrorCode::TooLarge
    );

    let many: dink_core::Fields = (0..1025).map(|i| (format!("f{i}"), Value::Null)).collect();
    assert_eq!(
        change(
            None,
            None,
            Some(&many),
            None,
            SERVER_CLIENT_ID,
            NOW,
            &limits()
        )
        .unwrap_err()
        .code,
        ErrorCode::TooLarge
    );

    let mut deep = Value::Null;
    for _ in 0..16 {
        deep = Value::Array(vec![deep]);
    }
    let err = change(
        None,
        None,
        Some(&fields(&[("d", deep)])),
        None,
        SERVER_CLIENT_ID,
        NOW,
        &limits(),
    )
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::TooLarge);
    assert_eq!(err.field.as_deref(), Some("d"));
}

#[test]
fn invalid_change_arguments_are_rejected() {
    let row = fields(&[("$bad", s("x"))]);
    assert_eq!(
        change(
            None,
            None,
            Some(&row),
            None,
            SERVER_CLIENT_ID,
            NOW,
            &limits()
        )
        .unwrap_err()
        .code,
        ErrorCode::InvalidArgument
    );
    let ok = fields(&[("id", s("x"))]);
    assert_eq!(
        change(None, None, Some(&ok), None, 0, NOW, &limits())
            .unwrap_err()
            .code,
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        change(None, None, Some(&ok), None, 1 << 53, NOW, &limits())
            .unwrap_err()
            .code,
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        change(
            Some(b"garbage"),
            None,
            Some(&ok),
            None,
            SERVER_CLIENT_ID,
            NOW,
            &limits()
        )
        .unwrap_err()
        .code,
        ErrorCode::InvalidArgument
    );
}

#[test]
fn stored_state_size_does_not_grow_with_edits() {
    let mut sizes = Vec::new();
    let mut state: Option<Vec<u8>> = None;
    let mut row = fields(&[("id", s("r")), ("n", Value::Float64(0.0))]);
    for i in 0..1000 {
        let mut next = row.clone();
        next.insert("n".into(), Value::Float64(i as f64 + 0.5));
        let out = change(
            state.as_deref(),
            Some(&row),
            Some(&next),
            None,
            SERVER_CLIENT_ID,
            NOW,
            &limits(),
        )
        .unwrap();
        if i == 9 || i == 999 {
            sizes.push(out.state.len());
        }
        state = Some(out.state);
        row = next;
    }
    // Only the varint-encoded clocks grow (logarithmically); no per-edit history is kept.
    assert!(
        sizes[1] <= sizes[0] + 8,
        "state grew from {} to {} bytes",
        sizes[0],
        sizes[1]
    );
}

#[test]
fn binary_content_from_yjs_edges_survives_v2_encoding() {
    // yjs stores a top-level Uint8Array map value as ContentBinary; yrs' own v2 encoder
    // writes its length twice (see codec/encoder_v2.rs), which must never reach stored state.
    let mut edge = Edge::new(91);
    edge.set("id", &s("r"));
    edge.set_binary("blob", &[0, 1, 255]);
    for v1 in [true, false] {
        let format = if v1 {
            UpdateFormat::V1
        } else {
            UpdateFormat::V2
        };
        let update = if v1 {
            edge.take_update(true)
        } else {
            edge.full_state_v2()
        };
        let out = ingest(None, &update, format, None, &limits()).unwrap();
        assert_eq!(out.fields["blob"], Value::Bytes(vec![0, 1, 255]));
        // Stored state and the forwarded delta decode again, in the engine and in yrs.
        assert_eq!(
            materialize(&out.state, &limits()).unwrap().fields,
            out.fields
        );
        let peer = Edge::new(92);
        peer.apply_v2(&out.delta);
        assert_eq!(peer.materialize().fields, out.fields);
        let merged = merge(&[&out.delta, &out.state], UpdateFormat::V2).unwrap();
        assert_eq!(
            ingest(None, &merged, UpdateFormat::V2, None, &limits())
                .unwrap()
                .fields,
            out.fields
        );
        let v2 = convert_v1_to_v2(&convert_v2_to_v1(&out.state).unwrap()).unwrap();
        assert_eq!(materialize(&v2, &limits()).unwrap().fields, out.fields);
        let d = diff(&out.state, &[]).unwrap();
        assert_eq!(materialize(&d, &limits()).unwrap().fields, out.fields);
    }
}
