//! Schema validation against real validator JSON: every fixture below was printed by the
//! `convex` npm package 1.48 (`v.object({...}).json`, `schema.tables.t.export().documentType`,
//! `schema.doc("t").json`) and is used verbatim.

use std::collections::BTreeMap;

use dink_core::schema::{validate, validate_json, Validator};
use dink_core::value::fields_from_convex_json;
use dink_core::{ErrorCode, Value};
use proptest::prelude::*;
use serde_json::json;

/// A validator built with serde_json's `json!` as the engine's JSON tree.
fn ours(value: &serde_json::Value) -> dink_core::json::Json {
    dink_core::json::parse(&value.to_string()).expect("serde_json writes JSON")
}

/// `v.object({ n: v.null(), num: v.number(), f: v.float64(), big: v.int64(), bi: v.bigint(),
/// b: v.boolean(), s: v.string(), by: v.bytes(), a: v.any(), id: v.id("users") })`
const SCALARS: &str = r#"{"type":"object","value":{"n":{"fieldType":{"type":"null"},"optional":false},"num":{"fieldType":{"type":"number"},"optional":false},"f":{"fieldType":{"type":"number"},"optional":false},"big":{"fieldType":{"type":"bigint"},"optional":false},"bi":{"fieldType":{"type":"bigint"},"optional":false},"b":{"fieldType":{"type":"boolean"},"optional":false},"s":{"fieldType":{"type":"string"},"optional":false},"by":{"fieldType":{"type":"bytes"},"optional":false},"a":{"fieldType":{"type":"any"},"optional":false},"id":{"fieldType":{"type":"id","tableName":"users"},"optional":false}}}"#;

/// `v.object({ ls: v.literal("active"), ln: v.literal(42), lf: v.literal(1.5),
/// lb: v.literal(true), lbig: v.literal(7n) })`
const LITERALS: &str = r#"{"type":"object","value":{"ls":{"fieldType":{"type":"literal","value":"active"},"optional":false},"ln":{"fieldType":{"type":"literal","value":42},"optional":false},"lf":{"fieldType":{"type":"literal","value":1.5},"optional":false},"lb":{"fieldType":{"type":"literal","value":true},"optional":false},"lbig":{"fieldType":{"type":"literal","value":{"$integer":"BwAAAAAAAAA="}},"optional":false}}}"#;

/// `v.object({ id: v.string(), timestamp: v.number(), title: v.string(),
/// tags: v.array(v.string()), meta: v.object({ owner: v.id("users"),
/// score: v.optional(v.number()), extra: v.optional(v.object({ deep: v.array(v.int64()) })) }),
/// status: v.union(v.literal("todo"), v.literal("done")), counts: v.record(v.string(),
/// v.number()), note: v.optional(v.string()) })`
const NESTED: &str = r#"{"type":"object","value":{"id":{"fieldType":{"type":"string"},"optional":false},"timestamp":{"fieldType":{"type":"number"},"optional":false},"title":{"fieldType":{"type":"string"},"optional":false},"tags":{"fieldType":{"type":"array","value":{"type":"string"}},"optional":false},"meta":{"fieldType":{"type":"object","value":{"owner":{"fieldType":{"type":"id","tableName":"users"},"optional":false},"score":{"fieldType":{"type":"number"},"optional":true},"extra":{"fieldType":{"type":"object","value":{"deep":{"fieldType":{"type":"array","value":{"type":"bigint"}},"optional":false}}},"optional":true}}},"optional":false},"status":{"fieldType":{"type":"union","value":[{"type":"literal","value":"todo"},{"type":"literal","value":"done"}]},"optional":false},"counts":{"fieldType":{"type":"record","keys":{"type":"string"},"values":{"fieldType":{"type":"number"},"optional":false}},"optional":false},"note":{"fieldType":{"type":"string"},"optional":true}}}"#;

/// `v.object({ id: v.string(), state: v.union(v.object({ kind: v.literal("pending") }),
/// v.object({ kind: v.literal("failed"), error: v.string() }), v.object({ kind:
/// v.literal("success"), at: v.number() })), value: v.union(v.string(), v.number(), v.null()) })`
const UNION_DOC: &str = r#"{"type":"object","value":{"id":{"fieldType":{"type":"string"},"optional":false},"state":{"fieldType":{"type":"union","value":[{"type":"object","value":{"kind":{"fieldType":{"type":"literal","value":"pending"},"optional":false}}},{"type":"object","value":{"kind":{"fieldType":{"type":"literal","value":"failed"},"optional":false},"error":{"fieldType":{"type":"string"},"optional":false}}},{"type":"object","value":{"kind":{"fieldType":{"type":"literal","value":"success"},"optional":false},"at":{"fieldType":{"type":"number"},"optional":false}}}]},"optional":false},"value":{"fieldType":{"type":"union","value":[{"type":"string"},{"type":"number"},{"type":"null"}]},"optional":false}}}"#;

/// `v.record(v.id("users"), v.boolean())`
const RECORD_ID: &str = r#"{"type":"record","keys":{"type":"id","tableName":"users"},"values":{"fieldType":{"type":"boolean"},"optional":false}}"#;

/// `v.record(v.union(v.literal("a"), v.literal("b")), v.string())`
const RECORD_UNION_KEYS: &str = r#"{"type":"record","keys":{"type":"union","value":[{"type":"literal","value":"a"},{"type":"literal","value":"b"}]},"values":{"fieldType":{"type":"string"},"optional":false}}"#;

/// `defineTable({ id: v.string(), timestamp: v.number(), text: v.string(), done: v.boolean(),
/// assignee: v.optional(v.id("users")) })`, its `documentType`.
const TABLE_DOC: &str = r#"{"type":"object","value":{"id":{"fieldType":{"type":"string"},"optional":false},"timestamp":{"fieldType":{"type":"number"},"optional":false},"text":{"fieldType":{"type":"string"},"optional":false},"done":{"fieldType":{"type":"boolean"},"optional":false},"assignee":{"fieldType":{"type":"id","tableName":"users"},"optional":true}}}"#;

/// The same table through `schema.doc("tasks").json` (system fields added).
const TABLE_DOC_WITH_SYSTEM: &str = r#"{"type":"object","value":{"id":{"fieldType":{"type":"string"},"optional":false},"timestamp":{"fieldType":{"type":"number"},"optional":false},"text":{"fieldType":{"type":"string"},"optional":false},"done":{"fieldType":{"type":"boolean"},"optional":false},"assignee":{"fieldType":{"type":"id","tableName":"users"},"optional":true},"_id":{"fieldType":{"type":"id","tableName":"tasks"},"optional":false},"_creationTime":{"fieldType":{"type":"number"},"optional":false}}}"#;

/// `schema.doc("events").json` for `defineTable(v.union(v.object({ id: v.string(), type:
/// v.literal("a"), x: v.number() }), v.object({ id: v.string(), type: v.literal("b"),
/// y: v.string() })))`.
const UNION_TABLE_WITH_SYSTEM: &str = r#"{"type":"union","value":[{"type":"object","value":{"id":{"fieldType":{"type":"string"},"optional":false},"type":{"fieldType":{"type":"literal","value":"a"},"optional":false},"x":{"fieldType":{"type":"number"},"optional":false},"_id":{"fieldType":{"type":"id","tableName":"events"},"optional":false},"_creationTime":{"fieldType":{"type":"number"},"optional":false}}},{"type":"object","value":{"id":{"fieldType":{"type":"string"},"optional":false},"type":{"fieldType":{"type":"literal","value":"b"},"optional":false},"y":{"fieldType":{"type":"string"},"optional":false},"_id":{"fieldType":{"type":"id","tableName":"events"},"optional":false},"_creationTime":{"fieldType":{"type":"number"},"optional":false}}}]}"#;

/// `v.object({ ts: v.commitTs() })`
const COMMIT_TS: &str =
    r#"{"type":"object","value":{"ts":{"fieldType":{"type":"commitTs"},"optional":false}}}"#;

/// `v.object({ zero: v.literal(0), meta: v.object({ _private: v.string() }) })`
const ZERO_AND_NESTED_UNDERSCORE: &str = r#"{"type":"object","value":{"zero":{"fieldType":{"type":"literal","value":0},"optional":false},"meta":{"fieldType":{"type":"object","value":{"_private":{"fieldType":{"type":"string"},"optional":false}}},"optional":false}}}"#;

/// `v.object({ tags: v.array(v.union(v.string(), v.int64())), byTeam: v.record(v.string(),
/// v.array(v.object({ ok: v.boolean() }))) })`
const ARRAYS_OF_UNIONS: &str = r#"{"type":"object","value":{"tags":{"fieldType":{"type":"array","value":{"type":"union","value":[{"type":"string"},{"type":"bigint"}]}},"optional":false},"byTeam":{"fieldType":{"type":"record","keys":{"type":"string"},"values":{"fieldType":{"type":"array","value":{"type":"object","value":{"ok":{"fieldType":{"type":"boolean"},"optional":false}}}},"optional":false}},"optional":false}}}"#;

// Convex JSON of a few special values (`convexToJson`).
const INT_42: &str = r#"{"$integer":"KgAAAAAAAAA="}"#;
const INT_7: &str = r#"{"$integer":"BwAAAAAAAAA="}"#;
const NAN: &str = r#"{"$float":"AAAAAAAA+H8="}"#;
const NEG_ZERO: &str = r#"{"$float":"AAAAAAAAAIA="}"#;
const BYTES: &str = r#"{"$bytes":"AQID"}"#;

/// Asserts a validation error at `field` whose message is exactly `message`.
#[track_caller]
fn rejects(fields: &str, validator: &str, field: Option<&str>, message: &str) {
    let err = validate_json(fields, validator).expect_err("expected a validation error");
    assert_eq!(err.code, ErrorCode::ValidationError, "{err}");
    assert_eq!(err.field.as_deref(), field, "{err}");
    assert_eq!(err.message, message, "{err}");
}

#[track_caller]
fn accepts(fields: &str, validator: &str) {
    if let Err(err) = validate_json(fields, validator) {
        panic!("{fields} should pass: {err}");
    }
}

#[track_caller]
fn malformed(validator: &str) {
    let err = validate_json("{}", validator).expect_err("expected malformed validator");
    assert_eq!(err.code, ErrorCode::InvalidArgument, "{validator}: {err}");
}

/// A valid SCALARS row with one field replaced.
fn scalars_row(replace: &str, with: &str) -> String {
    let mut parts = vec![
        ("n", "null".to_string()),
        ("num", "1.5".into()),
        ("f", NAN.into()),
        ("big", INT_42.into()),
        ("bi", INT_7.into()),
        ("b", "true".into()),
        ("s", r#""text""#.into()),
        ("by", BYTES.into()),
        ("a", r#"{"anything":[1,"x",null]}"#.into()),
        ("id", r#""k57abc""#.into()),
    ];
    for (name, value) in parts.iter_mut() {
        if *name == replace {
            *value = with.to_string();
        }
    }
    let body: Vec<String> = parts
        .iter()
        .map(|(name, value)| format!("{name:?}:{value}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

#[test]
fn every_scalar_type_is_accepted() {
    accepts(&scalars_row("", ""), SCALARS);
    accepts(&scalars_row("num", NEG_ZERO), SCALARS);
    accepts(&scalars_row("a", INT_7), SCALARS);
    accepts(&scalars_row("a", "null"), SCALARS);
}

#[test]
fn every_scalar_type_is_rejected_with_its_path() {
    let cases = [
        ("n", "false", "expected null, got boolean"),
        ("num", INT_42, "expected number, got bigint"),
        ("f", r#""1""#, "expected number, got string"),
        ("big", "42", "expected bigint, got number"),
        ("bi", "null", "expected bigint, got null"),
        ("b", r#""true""#, "expected boolean, got string"),
        ("s", "1", "expected string, got number"),
        ("s", BYTES, "expected string, got bytes"),
        ("by", r#""AQID""#, "expected bytes, got string"),
        ("id", "5", r#"expected id("users"), got number"#),
        ("id", "[]", r#"expected id("users"), got array"#),
        ("s", r#"{"x":1}"#, "expected string, got object"),
    ];
    for (field, value, message) in cases {
        rejects(&scalars_row(field, value), SCALARS, Some(field), message);
    }
}

#[test]
fn literals_compare_exactly() {
    let row = format!(r#"{{"ls":"active","ln":42,"lf":1.5,"lb":true,"lbig":{INT_7}}}"#);
    accepts(&row, LITERALS);
    let cases = [
        (
            "ls",
            r#""inactive""#,
            r#"expected "active", got string "inactive""#,
        ),
        ("ln", "43", "expected 42, got number 43"),
        ("ln", INT_42, "expected 42, got bigint 42n"),
        ("lf", "1.25", "expected 1.5, got number 1.25"),
        ("lb", "false", "expected true, got boolean false"),
        ("lbig", "7", "expected 7n, got number 7"),
        ("ls", "null", r#"expected "active", got null"#),
    ];
    for (field, value, message) in cases {
        let mut map: BTreeMap<String, serde_json::Value> = serde_json::from_str(&row).unwrap();
        map.insert(field.into(), serde_json::from_str(value).unwrap());
        let text = serde_json::to_string(&map).unwrap();
        rejects(&text, LITERALS, Some(field), message);
    }
    // 0 and -0 are different Convex values.
    accepts(
        r#"{"zero":0,"meta":{"_private":"x"}}"#,
        ZERO_AND_NESTED_UNDERSCORE,
    );
    rejects(
        &format!(r#"{{"zero":{NEG_ZERO},"meta":{{"_private":"x"}}}}"#),
        ZERO_AND_NESTED_UNDERSCORE,
        Some("zero"),
        "expected 0, got number -0",
    );
}

fn nested_row() -> serde_json::Value {
    json!({
        "id": "row-1",
        "timestamp": 1700000000000.0,
        "title": "Write tests",
        "tags": ["a", "b", "c"],
        "meta": {"owner": "k57user", "extra": {"deep": [{"$integer": "BwAAAAAAAAA="}]}},
        "status": "todo",
        "counts": {"views": 3, "likes": 0.5},
    })
}

#[track_caller]
fn nested_rejects(edit: impl FnOnce(&mut serde_json::Value), field: &str, message: &str) {
    let mut row = nested_row();
    edit(&mut row);
    rejects(&row.to_string(), NESTED, Some(field), message);
}

#[test]
fn nested_objects_arrays_and_records_report_full_paths() {
    accepts(&nested_row().to_string(), NESTED);
    let mut with_optionals = nested_row();
    with_optionals["note"] = json!("hi");
    with_optionals["meta"]["score"] = json!(4);
    with_optionals["counts"] = json!({});
    with_optionals["tags"] = json!([]);
    accepts(&with_optionals.to_string(), NESTED);

    nested_rejects(
        |r| r["tags"][2] = json!(3),
        "tags[2]",
        "expected string, got number",
    );
    nested_rejects(
        |r| r["tags"] = json!("a"),
        "tags",
        "expected array, got string",
    );
    nested_rejects(
        |r| {
            r["meta"].as_object_mut().unwrap().remove("owner");
        },
        "meta.owner",
        r#"missing required field "owner""#,
    );
    nested_rejects(
        |r| r["meta"]["owner"] = json!(7),
        "meta.owner",
        r#"expected id("users"), got number"#,
    );
    nested_rejects(
        |r| r["meta"]["score"] = json!("high"),
        "meta.score",
        "expected number, got string",
    );
    nested_rejects(
        |r| r["meta"]["extra"]["deep"][0] = json!(7),
        "meta.extra.deep[0]",
        "expected bigint, got number",
    );
    nested_rejects(
        |r| r["meta"]["bogus"] = json!(true),
        "meta.bogus",
        r#"extra field "bogus" is not in the validator"#,
    );
    nested_rejects(
        |r| r["counts"]["views"] = json!("3"),
        "counts.views",
        "expected number, got string",
    );
    nested_rejects(
        |r| r["counts"] = json!([]),
        "counts",
        "expected record, got array",
    );
    nested_rejects(
        |r| r["meta"] = json!(null),
        "meta",
        "expected object, got null",
    );
    nested_rejects(
        |r| r["note"] = json!(null),
        "note",
        "expected string, got null",
    );
}

#[test]
fn missing_and_extra_top_level_fields_are_named() {
    let mut row = nested_row();
    row.as_object_mut().unwrap().remove("title");
    rejects(
        &row.to_string(),
        NESTED,
        Some("title"),
        r#"missing required field "title""#,
    );
    let mut row = nested_row();
    row["color"] = json!("red");
    rejects(
        &row.to_string(),
        NESTED,
        Some("color"),
        r#"extra field "color" is not in the validator"#,
    );
    // Several problems: the alphabetically first offending field is reported.
    let mut row = nested_row();
    row["zzz"] = json!(1);
    row["aaa"] = json!(1);
    row.as_object_mut().unwrap().remove("title");
    rejects(
        &row.to_string(),
        NESTED,
        Some("aaa"),
        r#"extra field "aaa" is not in the validator"#,
    );
}

#[test]
fn unions_report_the_most_specific_member() {
    let row = |state: serde_json::Value, value: serde_json::Value| {
        json!({"id": "r", "state": state, "value": value}).to_string()
    };
    accepts(&row(json!({"kind": "pending"}), json!("s")), UNION_DOC);
    accepts(
        &row(json!({"kind": "failed", "error": "boom"}), json!(1)),
        UNION_DOC,
    );
    accepts(
        &row(json!({"kind": "success", "at": 5}), json!(null)),
        UNION_DOC,
    );
    // The discriminant selects the member whose message is shown.
    rejects(
        &row(json!({"kind": "failed"}), json!(1)),
        UNION_DOC,
        Some("state.error"),
        r#"missing required field "error""#,
    );
    rejects(
        &row(json!({"kind": "success", "at": "noon"}), json!(1)),
        UNION_DOC,
        Some("state.at"),
        "expected number, got string",
    );
    rejects(
        &row(json!({"kind": "pending", "error": "x"}), json!(1)),
        UNION_DOC,
        Some("state.error"),
        r#"extra field "error" is not in the validator"#,
    );
    // No member of the value's kind: the alternatives are listed.
    rejects(
        &row(json!({"kind": "pending"}), json!(true)),
        UNION_DOC,
        Some("value"),
        "expected string | number | null, got boolean",
    );
    rejects(
        &row(json!("pending"), json!(1)),
        UNION_DOC,
        Some("state"),
        "expected object, got string",
    );
    let mut nested = nested_row();
    nested["status"] = json!("doing");
    rejects(
        &nested.to_string(),
        NESTED,
        Some("status"),
        r#"expected "todo" | "done", got string "doing""#,
    );
    // Unions inside arrays and records inside records.
    accepts(
        &format!(r#"{{"tags":["a",{INT_7}],"byTeam":{{"red":[{{"ok":true}}],"blue":[]}}}}"#),
        ARRAYS_OF_UNIONS,
    );
    rejects(
        r#"{"tags":["a",1.5],"byTeam":{}}"#,
        ARRAYS_OF_UNIONS,
        Some("tags[1]"),
        "expected string | bigint, got number",
    );
    rejects(
        r#"{"tags":[],"byTeam":{"red":[{"ok":true},{"ok":1}]}}"#,
        ARRAYS_OF_UNIONS,
        Some("byTeam.red[1].ok"),
        "expected boolean, got number",
    );
}

#[test]
fn records_check_keys_and_values() {
    accepts(r#"{"k57a":true,"k57b":false}"#, RECORD_ID);
    accepts("{}", RECORD_ID);
    rejects(
        r#"{"k57a":1}"#,
        RECORD_ID,
        Some("k57a"),
        "expected boolean, got number",
    );
    accepts(r#"{"a":"x","b":"y"}"#, RECORD_UNION_KEYS);
    rejects(
        r#"{"a":"x","c":"y"}"#,
        RECORD_UNION_KEYS,
        Some("c"),
        r#"invalid record key "c": expected "a" | "b", got string "c""#,
    );
}

#[test]
fn table_document_validators_skip_system_fields() {
    let row = r#"{"id":"t1","timestamp":1,"text":"buy milk","done":false}"#;
    accepts(row, TABLE_DOC);
    accepts(row, TABLE_DOC_WITH_SYSTEM);
    accepts(
        r#"{"id":"t1","timestamp":1,"text":"x","done":true,"assignee":"k57u"}"#,
        TABLE_DOC_WITH_SYSTEM,
    );
    rejects(
        r#"{"id":"t1","timestamp":1,"done":false}"#,
        TABLE_DOC_WITH_SYSTEM,
        Some("text"),
        r#"missing required field "text""#,
    );
    // A declared system field is still checked when present.
    accepts(
        r#"{"id":"t1","timestamp":1,"text":"x","done":true,"_id":"k57t","_creationTime":2}"#,
        TABLE_DOC_WITH_SYSTEM,
    );
    rejects(
        r#"{"id":"t1","timestamp":1,"text":"x","done":true,"_creationTime":"now"}"#,
        TABLE_DOC_WITH_SYSTEM,
        Some("_creationTime"),
        "expected number, got string",
    );
    // An undeclared one is an extra field.
    rejects(
        r#"{"id":"t1","timestamp":1,"text":"x","done":true,"_id":"k57t"}"#,
        TABLE_DOC,
        Some("_id"),
        r#"extra field "_id" is not in the validator"#,
    );
    // Top-level unions (a table defined as a union of objects) skip them per member.
    accepts(r#"{"id":"e1","type":"a","x":1}"#, UNION_TABLE_WITH_SYSTEM);
    accepts(r#"{"id":"e1","type":"b","y":"s"}"#, UNION_TABLE_WITH_SYSTEM);
    rejects(
        r#"{"id":"e1","type":"b","y":3}"#,
        UNION_TABLE_WITH_SYSTEM,
        Some("y"),
        "expected string, got number",
    );
    // Below the top level, `_` fields are ordinary.
    rejects(
        r#"{"zero":0,"meta":{}}"#,
        ZERO_AND_NESTED_UNDERSCORE,
        Some("meta._private"),
        r#"missing required field "_private""#,
    );
}

#[test]
fn commit_ts_any_and_non_object_roots() {
    accepts(&format!(r#"{{"ts":{INT_7}}}"#), COMMIT_TS);
    rejects(
        r#"{"ts":7}"#,
        COMMIT_TS,
        Some("ts"),
        "expected commitTs (bigint), got number",
    );
    accepts(r#"{"whatever":[1,{"x":null}]}"#, r#"{"type":"any"}"#);
    rejects(
        "{}",
        r#"{"type":"string"}"#,
        None,
        "expected string, got object",
    );
    rejects(
        r#"{"a":1}"#,
        r#"{"type":"union","value":[]}"#,
        None,
        "expected nothing (empty union), got object",
    );
}

#[test]
fn typed_api_matches_json_api() {
    let fields = fields_from_convex_json(&nested_row().to_string()).unwrap();
    let validator: serde_json::Value = serde_json::from_str(NESTED).unwrap();
    assert!(validate(&fields, &ours(&validator)).is_ok());
    let parsed = Validator::from_json(&ours(&validator)).unwrap();
    assert!(parsed.check_fields(&fields).is_ok());
    let mut bad = fields.clone();
    bad.insert("title".into(), Value::Int64(1));
    let err = parsed.check_fields(&bad).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("title"));
    assert_eq!(err.message, "expected string, got bigint");
    assert_eq!(
        err.to_string(),
        "VALIDATION_ERROR: expected string, got bigint (field title)"
    );
    // check_value on a non-document value.
    assert!(Validator::Array(Box::new(Validator::Number))
        .check_value(&Value::Array(vec![Value::Float64(1.0)]), false)
        .is_ok());
}

#[test]
fn malformed_validators_are_invalid_arguments() {
    for validator in [
        "",
        "not json",
        "[]",
        r#""string""#,
        r#"{}"#,
        r#"{"type":7}"#,
        r#"{"type":"strng"}"#,
        r#"{"type":"literal"}"#,
        r#"{"type":"literal","value":null}"#,
        r#"{"type":"literal","value":[1]}"#,
        r#"{"type":"literal","value":{"$integer":"AQ=="}}"#,
        r#"{"type":"id"}"#,
        r#"{"type":"id","tableName":1}"#,
        r#"{"type":"array"}"#,
        r#"{"type":"array","value":"string"}"#,
        r#"{"type":"object"}"#,
        r#"{"type":"object","value":[]}"#,
        r#"{"type":"object","value":{"a":{"optional":false}}}"#,
        r#"{"type":"object","value":{"a":{"fieldType":{"type":"string"},"optional":"no"}}}"#,
        r#"{"type":"union","value":{"type":"string"}}"#,
        r#"{"type":"record","keys":{"type":"string"}}"#,
        r#"{"type":"record","keys":{"type":"string"},"values":{"fieldType":{"type":"string"},"optional":true}}"#,
        // Malformed in a branch this row never reaches (optional field absent).
        r#"{"type":"object","value":{"a":{"fieldType":{"type":"nope"},"optional":true}}}"#,
    ] {
        malformed(validator);
    }
    let err = validate_json(
        "{}",
        r#"{"type":"object","value":{"meta":{"fieldType":{"type":"strng"},"optional":true}}}"#,
    )
    .unwrap_err();
    assert!(
        err.message.contains("validator.value.meta.fieldType") && err.message.contains("strng"),
        "{}",
        err.message
    );
    // Absurd nesting is refused instead of recursing without bound.
    let mut deep = json!({"type": "string"});
    for _ in 0..100 {
        deep = json!({"type": "array", "value": deep});
    }
    let fields = BTreeMap::new();
    assert_eq!(
        validate(&fields, &ours(&deep)).unwrap_err().code,
        ErrorCode::InvalidArgument
    );
    // Bad fields JSON is an invalid argument too, not a validation error.
    let err = validate_json("{", SCALARS).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
    let err = validate_json("[1]", SCALARS).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidArgument);
}

// ---- property: a validator derived from a value accepts it -------------------------------

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Boolean),
        any::<f64>().prop_map(Value::Float64),
        any::<i64>().prop_map(Value::Int64),
        "[a-z]{0,6}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..4).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4).prop_map(Value::Object),
        ]
    })
}

/// The narrowest validator JSON accepting `value`: literals for scalars where Convex allows
/// them, a union of element validators for arrays, an exact object for objects.
fn exact_validator(value: &Value) -> serde_json::Value {
    let mut literal = String::new();
    match value {
        Value::Null => json!({"type": "null"}),
        Value::Bytes(_) => json!({"type": "bytes"}),
        Value::String(_) | Value::Boolean(_) | Value::Float64(_) | Value::Int64(_) => {
            dink_core::value::value_to_convex_json(value, &mut literal);
            json!({"type": "literal", "value": serde_json::from_str::<serde_json::Value>(&literal).unwrap()})
        }
        Value::Array(items) => json!({
            "type": "array",
            "value": {"type": "union", "value": items.iter().map(exact_validator).collect::<Vec<_>>()},
        }),
        Value::Object(map) => json!({
            "type": "object",
            "value": map
                .iter()
                .map(|(k, v)| (k.clone(), json!({"fieldType": exact_validator(v), "optional": false})))
                .collect::<serde_json::Map<_, _>>(),
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn derived_validator_accepts_its_value_and_any_accepts_all(
        fields in prop::collection::btree_map("[a-z]{1,4}", any_value(), 0..5),
    ) {
        let derived = exact_validator(&Value::Object(fields.clone()));
        prop_assert!(validate(&fields, &ours(&derived)).is_ok(), "{}", derived);
        let any = json!({"type": "any"});
        prop_assert!(validate(&fields, &ours(&any)).is_ok());
        // Adding a field the validator does not know is always reported, by name.
        let mut extra = fields.clone();
        extra.insert("zzzzz".into(), Value::Null);
        let err = validate(&extra, &ours(&derived)).unwrap_err();
        prop_assert_eq!(err.code, ErrorCode::ValidationError);
        prop_assert_eq!(err.field.as_deref(), Some("zzzzz"));
    }
}
