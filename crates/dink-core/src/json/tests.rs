//! The reader against serde_json (with its exact float parser), the reference: on texts
//! written from random trees, on random mutations of them and on hand-picked edge cases, both
//! accept or both refuse, and what they accept is the same value.

use proptest::prelude::*;

use super::{parse, Json, Object, MAX_DEPTH};

/// serde_json's reading of `text`, as our tree.
fn reference(text: &str) -> Option<Json> {
    fn convert(value: serde_json::Value) -> Json {
        match value {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(b),
            serde_json::Value::Number(n) => Json::Number(n.as_f64().expect("a float64")),
            serde_json::Value::String(s) => Json::String(s),
            serde_json::Value::Array(items) => {
                Json::Array(items.into_iter().map(convert).collect())
            }
            serde_json::Value::Object(map) => Json::Object(
                map.into_iter()
                    .map(|(k, v)| (k, convert(v)))
                    .collect::<Object>(),
            ),
        }
    }
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .map(convert)
}

/// Same value, with float64s compared by bits (`-0` is not `0`).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.to_bits() == y.to_bits(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, a), (kb, b))| ka == kb && same(a, b))
        }
        _ => a == b,
    }
}

fn check(text: &str) {
    let ours = parse(text);
    match (ours, reference(text)) {
        (Ok(a), Some(b)) => assert!(same(&a, &b), "{text:?}: {a:?} vs serde_json {b:?}"),
        (Err(_), None) => {}
        (a, b) => panic!("{text:?}: ours {a:?}, serde_json {b:?}"),
    }
}

fn tree() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        // The writer writes `-0` as `0`, as `JSON.stringify` does.
        any::<f64>()
            .prop_filter("finite", |n| n.is_finite())
            .prop_map(|n| Json::Number(if n == 0.0 { 0.0 } else { n })),
        (-1e6f64..1e6).prop_map(|n| Json::Number(n.trunc())),
        "\\PC{0,12}".prop_map(Json::String),
        any::<String>().prop_map(Json::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..6).prop_map(Json::Object),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn written_trees_read_back_and_agree_with_serde_json(value in tree()) {
        let text = value.to_string();
        let read = parse(&text).expect("the writer writes JSON");
        prop_assert!(same(&read, &value), "{} read as {:?}", text, read);
        check(&text);
        // serde_json's own text of the value reads the same too.
        if let Some(reference) = reference(&text) {
            prop_assert!(same(&reference, &value));
        }
    }

    #[test]
    fn mutated_texts_are_judged_as_serde_json_judges_them(
        value in tree(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<char>()), 1..4),
    ) {
        let mut text: Vec<char> = value.to_string().chars().collect();
        for (at, kind, c) in edits {
            let i = at.index(text.len() + 1);
            match kind {
                0 if i < text.len() => { text.remove(i); }
                1 if i < text.len() => text[i] = c,
                2 => text.insert(i, c),
                _ => text.insert(i, *['"', '\\', '{', '}', '[', ']', ',', ':', '-', '.', 'e', '0', ' ', 'u']
                    .get(c as usize % 14).unwrap_or(&' ')),
            }
        }
        let text: String = text.into_iter().collect();
        check(&text);
    }
}

#[test]
fn edge_cases_agree_with_serde_json() {
    let cases = [
        "",
        " ",
        "null",
        "nul",
        "true ",
        " false",
        "tru",
        "0",
        "-0",
        "-",
        "01",
        "1.",
        ".5",
        "1e",
        "1e+",
        "1E-7",
        "-1.5e300",
        "1e400",
        "-1e400",
        "2.2250738585072011e-308",
        "4.9e-324",
        "1e-400",
        "9007199254740993",
        "18446744073709551616",
        "123456789012345678901234567890",
        "0.1",
        "[1,]",
        "[,1]",
        "[]",
        "[ ]",
        "{}",
        "{ }",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1,\"a\":2}",
        "\"\\u0041\"",
        "\"\\ud83d\\ude00\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\ud83d\\u0041\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"a\nb\"",
        "\"a\tb\"",
        "\"\u{7f}\"",
        "\"é\"",
        "\"\\/\"",
        "[1] [2]",
        "1 2",
        "NaN",
        "Infinity",
        "[\"a\",{\"b\":[null]}]",
        "\u{feff}1",
        "\t\n\r 1 \t\n\r",
    ];
    for text in cases {
        check(text);
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(parse(&deep(MAX_DEPTH)).is_ok());
    let err = parse(&deep(MAX_DEPTH + 1)).expect_err("too deep");
    assert_eq!(err.message, "recursion limit exceeded");
    check(&deep(MAX_DEPTH));
    check(&deep(MAX_DEPTH + 1));
    // Far deeper input ends at the limit, not on the stack.
    assert!(parse(&deep(100_000)).is_err());
}

#[test]
fn errors_say_where() {
    let err = parse("{\"a\":\n  [1, x]}").expect_err("bad");
    assert_eq!(err.to_string(), "expected value at line 2 column 7");
}

#[test]
fn numbers_are_written_as_javascript_writes_them() {
    let text = |n: f64| Json::Number(n).to_string();
    assert_eq!(text(3.0), "3");
    assert_eq!(text(-12.0), "-12");
    assert_eq!(text(0.1), "0.1");
    assert_eq!(text(1e21), "1e21");
    assert_eq!(text(9007199254740993.0), "9007199254740992");
    assert_eq!(text(1.5e-7), "1.5e-7");
    assert_eq!(text(f64::NAN), "null");
    assert_eq!(super::number_text(f64::NEG_INFINITY), "-Infinity");
    let s = Json::from("q\"\\\n\u{1}\u{8}").to_string();
    assert_eq!(s, "\"q\\\"\\\\\\n\\u0001\\b\"");
    assert_eq!(
        parse(&s).expect("reads back"),
        Json::from("q\"\\\n\u{1}\u{8}")
    );
}
