//! The strict row-document check (codec/layout.rs): every path that stores or forwards a row
//! refuses what a row cannot hold, with INVALID_DELTA naming what was found and where.

mod support;

use std::sync::Arc;

use dink_core::{
    change, diff, ingest, materialize, merge, ChangeOutcome, EngineError, ErrorCode, IngestOutcome,
    Limits, UpdateFormat, Value, SERVER_CLIENT_ID,
};
use support::{fields, s, Edge};
use yrs::block::{ItemContent, Prelim, SplittableString, Unused};
use yrs::branch::BranchPtr;
use yrs::{
    Any, Array, ArrayPrelim, Doc, Map, MapPrelim, Options, ReadTxn, StateVector, Text, TextPrelim,
    Transact, TransactionMut, WriteTxn, XmlElementPrelim, XmlFragmentPrelim, XmlTextPrelim,
};

const NOW: f64 = 1_700_000_000_000.0;

fn ingest_row(
    state: Option<&[u8]>,
    update: &[u8],
    format: UpdateFormat,
    doc_id: &str,
) -> Result<IngestOutcome, EngineError> {
    ingest(state, update, format, Some(doc_id), &Limits::default())
}

fn change_row(
    state: Option<&[u8]>,
    new: Option<&dink_core::Fields>,
    doc_id: &str,
) -> Result<ChangeOutcome, EngineError> {
    change(
        state,
        None,
        new,
        Some(doc_id),
        SERVER_CLIENT_ID,
        NOW,
        &Limits::default(),
    )
}

fn doc(client: u64) -> Doc {
    Doc::with_options(Options::with_guid_and_client_id(
        "t".into(),
        yrs::ClientID::new(client),
    ))
}

/// Everything in `doc` as v1 and as v2 (yrs writes both: the engine's converters serve row
/// documents only, and these are not).
fn both(doc: &Doc) -> [(UpdateFormat, Vec<u8>); 2] {
    let txn = doc.transact();
    let v1 = txn.encode_state_as_update_v1(&StateVector::default());
    let v2 = txn.encode_state_as_update_v2(&StateVector::default());
    [(UpdateFormat::V1, v1), (UpdateFormat::V2, v2)]
}

/// A live row "a" created on the server.
fn stored_row() -> Vec<u8> {
    change_row(
        None,
        Some(&fields(&[("id", s("a")), ("title", s("t"))])),
        "a",
    )
    .expect("row")
    .state
}

fn refused(result: Result<IngestOutcome, EngineError>, needle: &str) {
    match result {
        Ok(out) => panic!("accepted (changed: {}), expected {needle:?}", out.changed),
        Err(err) => {
            assert_eq!(err.code, ErrorCode::InvalidDelta, "{err}");
            assert!(err.message.contains(needle), "{err} (expected {needle:?})");
        }
    }
}

/// Map values of raw item content (what a hand-made or foreign encoder can put under a key).
struct Raw(ItemContent);

impl Prelim for Raw {
    type Return = Unused;

    fn into_content(self, _txn: &mut TransactionMut) -> (ItemContent, Option<Self>) {
        (self.0, None)
    }

    fn integrate(self, _txn: &mut TransactionMut, _inner_ref: BranchPtr) {}
}

fn var(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A v1 update holding one GC (`info` 0) or skip (`info` 10) struct of `len` units for
/// `client`, starting at clock `clock`.
fn range_v1(client: u64, clock: u64, info: u8, len: u64) -> Vec<u8> {
    let mut out = vec![1, 1];
    var(&mut out, client);
    var(&mut out, clock);
    out.push(info);
    var(&mut out, len);
    out.push(0);
    out
}

#[test]
fn a_v2_update_labelled_v1_is_refused_not_answered_noop() {
    let mut edge = Edge::new(11);
    edge.set("id", &s("a"));
    edge.set("title", &s("x"));
    let v2 = edge.take_update(false);
    for state in [None, Some(stored_row())] {
        refused(
            ingest_row(state.as_deref(), &v2, UpdateFormat::V1, "a"),
            "follow the end of the update",
        );
    }
}

#[test]
fn bytes_after_the_update_are_refused() {
    let edge = Edge::new(11);
    edge.set("id", &s("a"));
    edge.set("title", &s("x"));
    for (format, mut bytes) in both(&edge.doc) {
        ingest_row(None, &bytes, format, "a").expect("the update itself is fine");
        bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7]);
        refused(
            ingest_row(None, &bytes, format, "a"),
            "7 bytes follow the end of the update",
        );
    }
}

#[test]
fn empty_updates_that_carry_data_are_refused() {
    let state = stored_row();
    // The canonical empty updates (yjs `encodeStateAsUpdate(V2)` of an empty doc, and of a
    // diff with nothing missing) are an honest no-op.
    let empty_v2 = [0u8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for (format, bytes) in [
        (UpdateFormat::V1, &[0u8, 0][..]),
        (UpdateFormat::V2, &empty_v2),
    ] {
        let out = ingest_row(Some(&state), bytes, format, "a").expect("empty");
        assert!(!out.changed);
    }
    // The engine's own empty state and empty diff load again under the same rule.
    let empty = ingest_row(None, &[0, 0], UpdateFormat::V1, "a").expect("empty create");
    assert!(!empty.changed);
    ingest_row(Some(&empty.state), &[0, 0], UpdateFormat::V1, "a").expect("reloads");
    let nothing = diff(
        &state,
        &dink_core::state_vector(&state, UpdateFormat::V2).unwrap(),
    )
    .expect("empty diff");
    let out = ingest_row(Some(&state), &nothing, UpdateFormat::V2, "a").expect("empty diff");
    assert!(!out.changed);
    // A padded varint: zero structs and zero deletes in three bytes.
    refused(
        ingest_row(Some(&state), &[0x80, 0, 0], UpdateFormat::V1, "a"),
        "decodes as empty",
    );
    // v2 with bytes in a column nothing reads (the client column holds two client ids).
    let junk_column = [0u8, 0, 2, 5, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    refused(
        ingest_row(Some(&state), &junk_column, UpdateFormat::V2, "a"),
        "unread",
    );
}

/// Writes something into a root map.
type Insert = fn(&yrs::MapRef, &mut TransactionMut);

#[test]
fn shared_types_as_field_values_are_refused() {
    let cases: [(&str, Insert); 6] = [
        ("Y.Text", |m, t| {
            m.insert(t, "title", TextPrelim::new("hello"));
        }),
        ("Y.XmlText", |m, t| {
            m.insert(t, "title", XmlTextPrelim::new("hello"));
        }),
        ("Y.XmlElement", |m, t| {
            m.insert(t, "title", XmlElementPrelim::empty("p"));
        }),
        ("Y.XmlFragment", |m, t| {
            m.insert(t, "title", XmlFragmentPrelim::default());
        }),
        ("Y.Array", |m, t| {
            m.insert(t, "title", ArrayPrelim::default());
        }),
        ("Y.Map", |m, t| {
            m.insert(t, "title", MapPrelim::default());
        }),
    ];
    for (kind, insert) in cases {
        let d = doc(21);
        {
            let mut txn = d.transact_mut();
            let fields = txn.get_or_insert_map("fields");
            fields.insert(&mut txn, "id", "a");
            insert(&fields, &mut txn);
        }
        for (format, bytes) in both(&d) {
            refused(
                ingest_row(None, &bytes, format, "a"),
                &format!("fields.title is a {kind}; synced fields hold plain values"),
            );
        }
    }
}

#[test]
fn text_characters_embeds_and_formats_as_field_values_are_refused() {
    let cases = [
        (
            "text characters",
            ItemContent::String(SplittableString::from("abc")),
        ),
        ("an embed", ItemContent::Embed(Any::from("e"))),
        (
            "a text format",
            ItemContent::Format(Arc::from("bold"), Box::new(Any::Bool(true))),
        ),
    ];
    for (kind, content) in cases {
        let d = doc(22);
        {
            let mut txn = d.transact_mut();
            let fields = txn.get_or_insert_map("fields");
            fields.insert(&mut txn, "id", "a");
            fields.insert(&mut txn, "title", Raw(content));
        }
        let v1 = d
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let v2 = d
            .transact()
            .encode_state_as_update_v2(&StateVector::default());
        for (format, bytes) in [(UpdateFormat::V1, v1), (UpdateFormat::V2, v2)] {
            refused(
                ingest_row(None, &bytes, format, "a"),
                &format!("fields.title is {kind}"),
            );
        }
    }
}

#[test]
fn meta_deleted_is_a_boolean_and_deleted_at_a_number() {
    let state = stored_row();
    let cases: [(&str, Insert); 5] = [
        (
            "_meta._deleted is a string; it must be a boolean",
            |m, t| {
                m.insert(t, "_deleted", "yes");
            },
        ),
        ("_meta._deleted is a Y.Text", |m, t| {
            m.insert(t, "_deleted", TextPrelim::new("true"));
        }),
        (
            "_meta._deleted is a number; it must be a boolean",
            |m, t| {
                m.insert(t, "_deleted", 1.0);
            },
        ),
        ("_meta._deleted is null; it must be a boolean", |m, t| {
            m.insert(t, "_deleted", Any::Null);
        }),
        (
            "_meta._deletedAt is a string; it must be a number",
            |m, t| {
                m.insert(t, "_deleted", true);
                m.insert(t, "_deletedAt", "yesterday");
            },
        ),
    ];
    for (needle, insert) in cases {
        let d = doc(31);
        {
            let mut txn = d.transact_mut();
            let meta = txn.get_or_insert_map("_meta");
            insert(&meta, &mut txn);
        }
        for (format, bytes) in both(&d) {
            refused(ingest_row(Some(&state), &bytes, format, "a"), needle);
        }
    }
    // A boolean and a number are the layout.
    let mut edge = Edge::new(32);
    edge.delete_row(NOW);
    let out = ingest_row(
        Some(&state),
        &edge.take_update(false),
        UpdateFormat::V2,
        "a",
    )
    .expect("a tombstone");
    assert!(out.deleted);
}

#[test]
fn sequence_content_under_a_root_map_is_refused() {
    let state = stored_row();
    for root in ["fields", "_meta"] {
        let d = doc(41);
        {
            let mut txn = d.transact_mut();
            let list = txn.get_or_insert_array(root);
            list.insert(&mut txn, 0, 1.0);
        }
        for (format, bytes) in both(&d) {
            refused(
                ingest_row(Some(&state), &bytes, format, "a"),
                &format!("sequence (list) content directly under root \"{root}\""),
            );
        }
    }
    // Text characters straight under the root are sequence content too.
    let d = doc(42);
    {
        let mut txn = d.transact_mut();
        let text = txn.get_or_insert_text("fields");
        text.insert(&mut txn, 0, "junk");
    }
    for (format, bytes) in both(&d) {
        refused(
            ingest_row(Some(&state), &bytes, format, "a"),
            "sequence (list) content directly under root \"fields\"",
        );
    }
}

#[test]
fn roots_outside_the_layout_are_refused() {
    let d = doc(51);
    {
        let mut txn = d.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.insert(&mut txn, "id", "a");
        let notes = txn.get_or_insert_map("notes");
        notes.insert(&mut txn, "k", "v");
    }
    for (format, bytes) in both(&d) {
        refused(
            ingest_row(None, &bytes, format, "a"),
            "root \"notes\" is not part of the row layout (only \"fields\" and \"_meta\")",
        );
    }
}

#[test]
fn a_live_row_carries_its_document_id() {
    // A create without id.
    let mut edge = Edge::new(61);
    edge.set("title", &s("x"));
    refused(
        ingest_row(None, &edge.take_update(false), UpdateFormat::V2, "a"),
        "fields.id is missing; a live row carries its document id",
    );
    // A create with another document's id.
    let mut edge = Edge::new(62);
    edge.set("id", &s("b"));
    refused(
        ingest_row(None, &edge.take_update(false), UpdateFormat::V2, "a"),
        "fields.id is \"b\" but the document id is \"a\"",
    );
    // An id that is not a string.
    let mut edge = Edge::new(63);
    edge.set("id", &Value::Float64(1.0));
    refused(
        ingest_row(None, &edge.take_update(false), UpdateFormat::V2, "a"),
        "fields.id is a number",
    );
    // Removing the id of a live row.
    let mut edge = Edge::new(64);
    edge.set("id", &s("a"));
    edge.set("title", &s("x"));
    let created = ingest_row(None, &edge.take_update(false), UpdateFormat::V2, "a")
        .expect("a row with its id");
    edge.remove("id");
    refused(
        ingest_row(
            Some(&created.state),
            &edge.take_update(false),
            UpdateFormat::V2,
            "a",
        ),
        "fields.id is missing",
    );
    // Tombstoning keeps the id; removing it in the same update is refused as well.
    let mut edge = Edge::new(65);
    edge.set("id", &s("a"));
    let created = ingest_row(None, &edge.take_update(false), UpdateFormat::V2, "a").unwrap();
    edge.delete_row(NOW);
    edge.remove("id");
    refused(
        ingest_row(
            Some(&created.state),
            &edge.take_update(false),
            UpdateFormat::V2,
            "a",
        ),
        "fields.id is missing",
    );
}

#[test]
fn clock_jumps_are_bounded() {
    let state = stored_row();
    // Row poisoning: one GC range spanning 2^32-2 clock units of another client.
    for (info, len) in [(0u8, u64::from(u32::MAX) - 1), (0, (1 << 20) + 1)] {
        refused(
            ingest_row(
                Some(&state),
                &range_v1(12345, 0, info, len),
                UpdateFormat::V1,
                "a",
            ),
            &format!("client 12345 jumps {len} clock units in one update; the limit is 1048576"),
        );
    }
    // A skip range never reaches the state.
    let err = ingest_row(
        Some(&state),
        &range_v1(12345, 0, 10, u64::from(u32::MAX) - 1),
        UpdateFormat::V1,
        "a",
    )
    .expect_err("skip");
    assert!(
        matches!(
            err.code,
            ErrorCode::InvalidDelta | ErrorCode::MissingDependencies
        ),
        "{err}"
    );
    // At the limit is fine, and that client's next real write still integrates.
    let out = ingest_row(
        Some(&state),
        &range_v1(12345, 0, 0, 1 << 20),
        UpdateFormat::V1,
        "a",
    )
    .expect("at the limit");
    let writer = doc(12345);
    writer
        .transact_mut()
        .apply_update(yrs::updates::decoder::Decode::decode_v2(&out.state).unwrap())
        .unwrap();
    {
        let mut txn = writer.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.insert(&mut txn, "title", "after");
    }
    let next = writer
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let after = ingest_row(Some(&out.state), &next, UpdateFormat::V1, "a").expect("next write");
    assert_eq!(after.fields.get("title"), Some(&s("after")));
}

#[test]
fn change_checks_the_row_document_too() {
    // A Convex-side write without the id, or with another one.
    let err = change_row(None, Some(&fields(&[("title", s("x"))])), "a").unwrap_err();
    assert!(err.message.contains("fields.id is missing"), "{err}");
    let err = change_row(None, Some(&fields(&[("id", s("b"))])), "a").unwrap_err();
    assert!(
        err.message
            .contains("fields.id is \"b\" but the document id is \"a\""),
        "{err}"
    );
    // A field stored as a Y.Text (possible only before the row layout rules): the yrs engine
    // rewrites it as the plain value, repairing the row; the row CRDT, which models rows only,
    // refuses the stored state by name and changes nothing.
    let d = doc(71);
    {
        let mut txn = d.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.insert(&mut txn, "id", "a");
        fields.insert(&mut txn, "title", TextPrelim::new("legacy"));
    }
    let legacy = both(&d)[1].1.clone();
    let repaired = change_row(
        Some(&legacy),
        Some(&fields(&[("id", s("a")), ("title", s("legacy"))])),
        "a",
    );
    if cfg!(feature = "yrs-engine") {
        let repaired = repaired.expect("repairing write");
        assert_eq!(repaired.changed_keys, vec!["title".to_string()]);
        let edge = Edge::new(73);
        edge.apply_v2(&repaired.state);
        assert_eq!(
            edge.materialize().fields,
            fields(&[("id", s("a")), ("title", s("legacy"))])
        );
    } else {
        let err = repaired.expect_err("a stored Y.Text is refused");
        assert_eq!(err.code, ErrorCode::InvalidArgument, "{err}");
        assert!(
            err.message
                .contains("stored state is not a row document: fields.title is a Y.Text"),
            "{err}"
        );
        let err = materialize(&legacy, &Limits::default()).expect_err("materialize refuses it");
        assert!(err.message.contains("fields.title is a Y.Text"), "{err}");
    }
    // What a write cannot repair (a foreign root) is refused.
    let d = doc(72);
    {
        let mut txn = d.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.insert(&mut txn, "id", "a");
        let notes = txn.get_or_insert_map("notes");
        notes.insert(&mut txn, "k", "v");
    }
    let legacy = both(&d)[1].1.clone();
    let err = change_row(
        Some(&legacy),
        Some(&fields(&[("id", s("a")), ("n", Value::Float64(1.0))])),
        "a",
    )
    .unwrap_err();
    assert!(err.message.contains("root \"notes\" is not part"), "{err}");
}

#[test]
fn merge_and_diff_refuse_what_a_row_cannot_hold() {
    let mut edge = Edge::new(81);
    edge.set("id", &s("a"));
    let mut update = edge.take_update(true);
    update.extend_from_slice(&[9, 9]);
    let err = merge(&[&update], UpdateFormat::V1).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidDelta);
    assert!(err.message.contains("2 bytes follow"), "{err}");

    let d = doc(82);
    {
        let mut txn = d.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.insert(&mut txn, "id", "a");
        fields.insert(&mut txn, "title", TextPrelim::new("legacy"));
    }
    let [(_, v1), (_, v2)] = both(&d);
    let err = merge(&[&v1], UpdateFormat::V1).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidDelta);
    assert!(err.message.contains("fields.title is a Y.Text"), "{err}");
    // A snapshot does not forward a stored state that breaks the layout.
    let err = diff(&v2, &[]).unwrap_err();
    assert!(err.message.contains("fields.title is a Y.Text"), "{err}");
}

#[test]
fn state_vectors_read_any_update_and_converters_refuse_what_a_row_cannot_hold() {
    let d = doc(91);
    {
        let mut txn = d.transact_mut();
        let fields = txn.get_or_insert_map("fields");
        fields.insert(&mut txn, "id", "a");
        fields.insert(&mut txn, "title", TextPrelim::new("legacy text"));
        let notes = txn.get_or_insert_map("notes");
        notes.insert(&mut txn, "k", "v");
    }
    let expected = yrs::updates::encoder::Encode::encode_v1(&d.transact().state_vector());
    for (format, bytes) in both(&d) {
        // A state vector needs only clock ranges, which every update has.
        assert_eq!(
            dink_core::state_vector(&bytes, format).expect("state vector"),
            expected,
            "{format:?}"
        );
        let converted = match format {
            UpdateFormat::V1 => dink_core::convert_v1_to_v2(&bytes),
            UpdateFormat::V2 => dink_core::convert_v2_to_v1(&bytes),
        };
        if cfg!(feature = "yrs-engine") {
            converted.expect("the yrs engine converts any update");
        } else {
            let err = converted.expect_err("not a row document");
            assert_eq!(err.code, ErrorCode::InvalidDelta, "{err}");
            assert!(err.message.contains("fields.title is a Y.Text"), "{err}");
        }
    }
}
