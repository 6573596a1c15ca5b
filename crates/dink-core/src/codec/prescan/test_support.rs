//! Helpers shared by the pre-scan tests: a deterministic corpus of yrs updates, fixtures
//! encoded by yjs, and hand encoders for lib0 varints and v2 columns.

use super::*;
use crate::error::ErrorCode;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use yrs::types::Attrs;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, ArrayPrelim, Doc, Map, MapPrelim, OffsetKind, Options, ReadTxn, StateVector, Text,
    TextPrelim, Transact, Update, Xml, XmlElementPrelim, XmlFragment, XmlTextPrelim,
};

pub(super) const DEPTH: usize = 64;

/// xorshift64*: deterministic test data without a dependency.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(super) fn below32(&mut self, n: u32) -> u32 {
        self.below(u64::from(n)) as u32
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

pub(super) fn format_of(v2: bool) -> UpdateFormat {
    if v2 {
        UpdateFormat::V2
    } else {
        UpdateFormat::V1
    }
}

pub(super) fn decode_yrs(
    bytes: &[u8],
    format: UpdateFormat,
) -> Result<Update, yrs::encoding::read::Error> {
    match format {
        UpdateFormat::V1 => Update::decode_v1(bytes),
        UpdateFormat::V2 => Update::decode_v2(bytes),
    }
}

pub(super) fn random_string(rng: &mut Rng, bmp_only: bool) -> String {
    const PIECES: [&str; 8] = ["a", "bc", "é", "中文", " ", "\"\\{[", "ß", "x"];
    const WIDE: [&str; 2] = ["😀", "𝄞"];
    let n = rng.below(6);
    let mut s = String::new();
    for _ in 0..n {
        if !bmp_only && rng.chance(15) {
            s.push_str(WIDE[rng.below(2) as usize]);
        } else {
            s.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
        }
    }
    s
}

/// A random value nesting at most `depth` levels.
pub(super) fn random_any(rng: &mut Rng, depth: usize) -> Any {
    let kinds = if depth == 0 { 9 } else { 11 };
    match rng.below(kinds) {
        0 => Any::Null,
        1 => Any::Undefined,
        2 => Any::Bool(rng.chance(50)),
        3 => Any::Number(rng.below(1 << 40) as f64 - (1u64 << 39) as f64),
        4 => Any::Number(f64::from(rng.below32(1000)) / 8.0),
        5 => Any::Number(rng.next() as f64 / 3.0e7),
        6 => Any::BigInt(rng.next() as i64),
        7 => Any::String(random_string(rng, false).into()),
        8 => Any::Buffer(
            (0..rng.below(5))
                .map(|i| i as u8)
                .collect::<Vec<_>>()
                .into(),
        ),
        9 => Any::Array(
            (0..rng.below(4))
                .map(|_| random_any(rng, depth - 1))
                .collect::<Vec<_>>()
                .into(),
        ),
        _ => Any::Map(Arc::new(
            (0..rng.below(4))
                .map(|_| (random_string(rng, false), random_any(rng, depth - 1)))
                .collect::<HashMap<_, _>>(),
        )),
    }
}

/// An array nested exactly `depth` levels around `inner`.
pub(super) fn nested(depth: usize, inner: Any) -> Any {
    (0..depth).fold(inner, |acc, _| Any::Array(vec![acc].into()))
}

pub(super) fn attrs(rng: &mut Rng) -> Attrs {
    let mut attrs = Attrs::new();
    let key: Arc<str> = ["bold", "italic", "link", "color"][rng.below(4) as usize].into();
    attrs.insert(key, random_any(rng, 3));
    attrs
}

pub(super) fn new_doc(client: u64) -> Doc {
    let mut options = Options::with_client_id(yrs::ClientID::new(client));
    options.offset_kind = OffsetKind::Utf16;
    Doc::with_options(options)
}

/// One random transaction on `doc`; returns its update in both encodings.
pub(super) fn random_edit(doc: &Doc, rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let fields = doc.get_or_insert_map("fields");
    let list = doc.get_or_insert_array("list");
    let text = doc.get_or_insert_text("text");
    let wide = doc.get_or_insert_text("wide");
    let xml = doc.get_or_insert_xml_fragment("xml");
    let mut txn = doc.transact_mut();
    for _ in 0..1 + rng.below(4) {
        match rng.below(14) {
            0..=2 => {
                let key = format!("k{}", rng.below(6));
                let levels = rng.below(6) as usize;
                fields.insert(&mut txn, key, nested(levels, random_any(rng, 5)));
            }
            3 => {
                let key = format!("k{}", rng.below(6));
                fields.remove(&mut txn, &key);
            }
            4 => {
                let sub = fields.insert(&mut txn, "sub", MapPrelim::default());
                sub.insert(&mut txn, "x", random_any(rng, 2));
                let arr = sub.insert(&mut txn, "arr", ArrayPrelim::default());
                arr.insert_range(&mut txn, 0, (0..3).map(|_| random_any(rng, 2)));
                sub.insert(&mut txn, "t", TextPrelim::new("nested text"));
            }
            5 => {
                let len = list.len(&txn);
                let at = rng.below32(len + 1);
                let n = 1 + rng.below(4);
                list.insert_range(&mut txn, at, (0..n).map(|_| random_any(rng, 4)));
            }
            6 => {
                let len = list.len(&txn);
                if len > 0 {
                    let at = rng.below32(len);
                    let n = 1 + rng.below32(len - at);
                    list.remove_range(&mut txn, at, n);
                }
            }
            7 => {
                let len = text.len(&txn);
                let at = rng.below32(len + 1);
                let s = random_string(rng, true);
                if rng.chance(50) {
                    text.insert(&mut txn, at, &s);
                } else {
                    let a = attrs(rng);
                    text.insert_with_attributes(&mut txn, at, &s, a);
                }
            }
            8 => {
                let len = text.len(&txn);
                if len > 0 {
                    let at = rng.below32(len);
                    let n = 1 + rng.below32(len - at);
                    if rng.chance(50) {
                        text.remove_range(&mut txn, at, n);
                    } else {
                        let a = attrs(rng);
                        text.format(&mut txn, at, n, a);
                    }
                }
            }
            9 => {
                let len = text.len(&txn);
                let at = rng.below32(len + 1);
                text.insert_embed(&mut txn, at, random_any(rng, 4));
            }
            10 => {
                let len = wide.len(&txn);
                wide.insert(&mut txn, len, &random_string(rng, false));
            }
            11 => {
                let len = xml.len(&txn);
                let at = rng.below32(len + 1);
                let el = xml.insert(&mut txn, at, XmlElementPrelim::empty("p"));
                el.insert_attribute(&mut txn, "class", "c");
                let t = el.insert(&mut txn, 0, XmlTextPrelim::new("para"));
                let a = attrs(rng);
                t.format(&mut txn, 0, 2, a);
            }
            12 => {
                let len = xml.len(&txn);
                if len > 0 {
                    xml.remove_range(&mut txn, rng.below32(len), 1);
                }
            }
            _ => {
                // Sub-documents are refused by policy (see `subdocuments_are_refused`);
                // a nested map of nested maps stands in for that shape here.
                let outer = fields.insert(&mut txn, "doc", MapPrelim::default());
                let inner = outer.insert(&mut txn, "inner", MapPrelim::default());
                inner.insert(&mut txn, "leaf", random_any(rng, 1));
            }
        }
    }
    (txn.encode_update_v1(), txn.encode_update_v2())
}

/// Valid updates of every kind yrs produces: per-transaction updates, full states, diffs,
/// merges with gaps (skips), in v1 and v2.
pub(super) fn corpus() -> Vec<(String, UpdateFormat, Vec<u8>)> {
    let mut out = Vec::new();
    for seed in 1..=24u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let clients = 1 + rng.below(4) as usize;
        let docs: Vec<Doc> = (0..clients)
            .map(|i| new_doc(100 + i as u64 * 7919))
            .collect();
        let mut per_txn: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for step in 0..12 {
            let i = rng.below(clients as u64) as usize;
            let update = random_edit(&docs[i], &mut rng);
            out.push((
                format!("seed {seed} step {step} txn"),
                UpdateFormat::V1,
                update.0.clone(),
            ));
            out.push((
                format!("seed {seed} step {step} txn"),
                UpdateFormat::V2,
                update.1.clone(),
            ));
            per_txn.push(update);
            if rng.chance(40) {
                // sync a random pair through a diff
                let a = rng.below(clients as u64) as usize;
                let b = rng.below(clients as u64) as usize;
                let sv = docs[b].transact().state_vector();
                let v2 = rng.chance(50);
                let diff = if v2 {
                    docs[a].transact().encode_state_as_update_v2(&sv)
                } else {
                    docs[a].transact().encode_state_as_update_v1(&sv)
                };
                out.push((
                    format!("seed {seed} step {step} diff"),
                    format_of(v2),
                    diff.clone(),
                ));
                let update = decode_yrs(&diff, format_of(v2)).expect("yrs decodes its own diff");
                docs[b].transact_mut().apply_update(update).expect("apply");
            }
        }
        for (i, doc) in docs.iter().enumerate() {
            let txn = doc.transact();
            let empty = StateVector::default();
            out.push((
                format!("seed {seed} state {i}"),
                UpdateFormat::V1,
                txn.encode_state_as_update_v1(&empty),
            ));
            out.push((
                format!("seed {seed} state {i}"),
                UpdateFormat::V2,
                txn.encode_state_as_update_v2(&empty),
            ));
        }
        // merges with gaps produce skips; diffs of merged updates too
        let every_other_v1: Vec<&[u8]> =
            per_txn.iter().step_by(2).map(|u| u.0.as_slice()).collect();
        let every_other_v2: Vec<&[u8]> =
            per_txn.iter().step_by(2).map(|u| u.1.as_slice()).collect();
        let merged_v1 = yrs::merge_updates_v1(every_other_v1).expect("merge v1");
        let merged_v2 = yrs::merge_updates_v2(every_other_v2).expect("merge v2");
        let sv = docs[0].transact().state_vector().encode_v1();
        out.push((
            format!("seed {seed} diff of merged v1"),
            UpdateFormat::V1,
            yrs::diff_updates_v1(&merged_v1, &sv).expect("diff v1"),
        ));
        out.push((
            format!("seed {seed} merged v1"),
            UpdateFormat::V1,
            merged_v1,
        ));
        out.push((
            format!("seed {seed} merged v2"),
            UpdateFormat::V2,
            merged_v2,
        ));
        let all_v2: Vec<&[u8]> = per_txn.iter().map(|u| u.1.as_slice()).collect();
        out.push((
            format!("seed {seed} merged all v2"),
            UpdateFormat::V2,
            yrs::merge_updates_v2(all_v2).expect("merge all"),
        ));
    }
    out
}

pub(super) fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

pub(super) fn code(result: &Result<ShapeSummary, EngineError>) -> Option<ErrorCode> {
    result.as_ref().err().map(|e| e.code)
}

/// Feeds `bytes` to the scan; when it passes, yrs must decode the same bytes without
/// panicking (the scan is the guard in front of yrs).
pub(super) fn scan_then_yrs(
    bytes: &[u8],
    format: UpdateFormat,
) -> Result<ShapeSummary, EngineError> {
    let result = check_update_shape(bytes, format, DEPTH);
    if result.is_ok() {
        let decoded = catch_unwind(AssertUnwindSafe(|| decode_yrs(bytes, format).is_ok()));
        assert!(
            decoded.is_ok(),
            "yrs panicked on bytes the scan accepted: {bytes:?}"
        );
    }
    result
}

/// Updates encoded by yjs 13.6 (node), hex. Made with yjs's own API: a rich document
/// (map values of every Any type, formatted text with an embed, xml, arrays, deletes), merged
/// updates with gaps (skips), a sub-document, GC'd deletes, four clients overwriting one key,
/// lone surrogates, and an `XmlHook` (yjs writes a hook name yrs does not read).
pub(super) const YJS_FIXTURES: &[(&str, UpdateFormat, &str)] = &[
    (
        "rich_a",
        UpdateFormat::V1,
        concat!(
            "013501002101066669656c64730173012101066669656c6473016e012801066669656c6473016601",
            "7c3fc000002801066669656c64730164017b3fb999999999999a2801066669656c6473036e656701",
            "7dd5b4de752801066669656c647303626967017a10000000000000002801066669656c6473017401",
            "782801066669656c647302666101792801066669656c6473036e756c017e2801066669656c647301",
            "75017f2301066669656c64730362696e030102032801066669656c6473036f626a01760301617502",
            "7d0176010162750175017500016376010164770165007709656d707479206b65792801066669656c",
            "6473036172720175037501750175017d01770178760101797e2701066669656c647304796d617001",
            "2800010d016b0175027d017d022701066669656c64730479617272000800010f017d018801100277",
            "0374776f76010574687265657d03c8011001110177036d696404010474657874024865840115016c",
            "840116026c6f8101180384011b0f726c6420f09f98802068c3a96c6c6f46011404626f6c64047472",
            "7565c601280114046c696e6b1d7b2268726566223a2278222c226e6573746564223a5b312c5b325d",
            "5d7dc60118011904626f6c64046e756c6cc6012a0119046c696e6b046e756c6cc60116011704626f",
            "6c64046e756c6cc6012c0117046c696e6b046e756c6cc5012d0117287b22696d616765223a22612e",
            "706e67222c226d657461223a7b2277223a312c2268223a5b325d7d7dc6012e011704626f6c640474",
            "727565c6012f0117046c696e6b1d7b2268726566223a2278222c226e6573746564223a5b312c5b32",
            "5d5d7dc601150116066974616c69630474727565c60131011604626f6c64046e756c6cc601320116",
            "046c696e6b046e756c6cc401330116025a5ac601350116066974616c6963046e756c6cc601360116",
            "04626f6c640474727565c601370116046c696e6b1d7b2268726566223a2278222c226e6573746564",
            "223a5b312c5b325d5d7d070103786d6c0301702800013905636c6173730177016328000139046461",
            "74610177017607000139060400013c03786d6c84013f05207465787446013d0162027b7dc6013f01",
            "400162046e756c6c8701390301710801046c697374017d018101480288014a037d047d057601016b",
            "770176a801000177076368616e676564010103000219034902",
        ),
    ),
    (
        "rich_a",
        UpdateFormat::V2,
        concat!(
            "000300030f024133211a0402000a0204061a6024682c0301743803000403000401000700004c1e04",
            "d4020e2206000a004401024201048e01063f210128072300280127002800270008008800c8000400",
            "8401810084004600c604c500c604c400c602070028010700040084004600c6008700080081008800",
            "a8a702ef016669656c6473736669656c64736e6669656c6473666669656c6473646669656c64736e",
            "65676669656c64736269676669656c6473746669656c647366616669656c64736e756c6669656c64",
            "73756669656c647362696e6669656c64736f626a6669656c64736172726669656c6473796d61706b",
            "6669656c6473796172727465787448656c6c6f726c6420f09f98802068c3a96c6c6f626f6c646c69",
            "6e6b626f6c646c696e6b626f6c646c696e6b626f6c646c696e6b6974616c6963626f6c646c696e6b",
            "5a5a6974616c6963626f6c646c696e6b786d6c70636c61737364617461786d6c2074657874626271",
            "6c69737406010601060106010603060306010602060306010603060306030604010644000201020c",
            "4406064400020644000301050403054101040d010d00000100000001010003010501000306030a41",
            "0c02010341010203010135007c3fc000007b3fb999999999999a7dd5b4de757a1000000000000000",
            "78797e7f030102037603016175027d0176010162750175017500016376010164770165007709656d",
            "707479206b657975037501750175017d01770178760101797e75027d017d027d01770374776f7601",
            "0574687265657d0377036d69647876020468726566770178066e657374656475027d0175017d027e",
            "7e7e7e760205696d6167657705612e706e67046d657461760201777d01016875017d027876020468",
            "726566770178066e657374656475027d0175017d02787e7e7e7876020468726566770178066e6573",
            "74656475027d0175017d0277016377017676007e7d017d047d057601016b77017677076368616e67",
            "6564010103000117022d01",
        ),
    ),
    (
        "merged_gaps",
        UpdateFormat::V1,
        concat!(
            "010707002801066669656c6473026b3001760201697d00017675017d000a012801066669656c6473",
            "026b3201760201697d02017675017d020a022801066669656c6473026b3501760201697d05017675",
            "017d050a0944070c0361623300",
        ),
    ),
    (
        "merged_gaps",
        UpdateFormat::V2,
        concat!(
            "00000247000001180d28000a0028000a0028000a0044231b6669656c64736b306669656c64736b32",
            "6669656c64736b3561623306020602060203010100024101010700760201697d00017675017d0001",
            "760201697d02017675017d0202760201697d05017675017d050900",
        ),
    ),
    (
        "subdoc",
        UpdateFormat::V1,
        concat!(
            "010109002901066669656c647303737562087375622d677569647601046d6574617601017875017d",
            "0100",
        ),
    ),
    (
        "subdoc",
        UpdateFormat::V2,
        concat!(
            "000001090000012915116669656c64737375627375622d6775696406030801010000010100760104",
            "6d6574617601017875017d0100",
        ),
    ),
    (
        "xmlhook",
        UpdateFormat::V1,
        "01010b00070103786d6c0508686f6f6b6e616d6500",
    ),
    (
        "xmlhook",
        UpdateFormat::V2,
        "000100010b000001070e0b786d6c686f6f6b6e616d650308010101050001010000",
    ),
    (
        "gc_deletes",
        UpdateFormat::V1,
        "01040c000101046c69737403040101740161810c0303840c06026566010c0200030403",
    ),
    (
        "gc_deletes",
        UpdateFormat::V2,
        concat!(
            "0000024c010207000007010004008100840d086c6973747461656604410002010100024300010400",
            "010c0200020102",
        ),
    ),
    (
        "alternating",
        UpdateFormat::V1,
        concat!(
            "04076800a1670001a1670101a1670201a1670301a1670401a1670501a1670601076700a1660001a1",
            "660101a1660201a1660301a1660401a1660501a1660601086600a1650001a1650101a1650201a165",
            "0301a1650401a1650501a1650601a86507017d1d0865002101066669656c647307636f756e746572",
            "01a1680001a1680101a1680201a1680301a1680401a1680501a16806010468010007670100076601",
            "000765010008",
        ),
    ),
    (
        "alternating",
        UpdateFormat::V2,
        concat!(
            "00000ea801e70106e60106e50107e801050c0003044c03044c03054e03040007a114a8002100a110",
            "0d6669656c6473636f756e746572060701010002411c040700070008007d1d080004680100066701",
            "00066601000665010007",
        ),
    ),
    (
        "lone_surrogates",
        UpdateFormat::V1,
        "01020d002801066669656c647303efbfbd01770478efbfbd040101740461efbfbd00",
    ),
    (
        "lone_surrogates",
        UpdateFormat::V2,
        concat!(
            "0000010d000003280004130e6669656c6473efbfbd7461efbfbd0641000201010001010102007704",
            "78efbfbd00",
        ),
    ),
];

pub(super) fn var(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// lib0 `writeVarInt` of a magnitude and sign (so `-0` is expressible).
pub(super) fn signed(out: &mut Vec<u8>, mut magnitude: u64, negative: bool) {
    let more = if magnitude > 0x3f { 0x80 } else { 0 };
    let sign = if negative { 0x40 } else { 0 };
    out.push(more | sign | (magnitude & 0x3f) as u8);
    magnitude >>= 6;
    while magnitude > 0 {
        let more = if magnitude > 0x7f { 0x80 } else { 0 };
        out.push(more | (magnitude & 0x7f) as u8);
        magnitude >>= 7;
    }
}

/// A lib0 `UintOptRle` column of `(value, run)` pairs.
pub(super) fn uint_rle(runs: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(value, run) in runs {
        if run == 1 {
            signed(&mut out, value, false);
        } else {
            signed(&mut out, value, true);
            var(&mut out, run - 2);
        }
    }
    out
}

/// A lib0 `StringEncoder` column: the concatenation, then the UTF-16 lengths.
pub(super) fn string_column(text: &str, lens: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    var(&mut out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&uint_rle(lens));
    out
}

/// A v2 update from its columns (key clock, client, left clock, right clock, info, strings,
/// parent info, type ref, len) and the rest stream.
pub(super) fn v2_update(columns: [&[u8]; 9], rest: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    for column in columns {
        var(&mut out, column.len() as u64);
        out.extend_from_slice(column);
    }
    out.extend_from_slice(rest);
    out
}

/// `structs` GC structs of client 5, each `gc_len` long, from one run in each column.
pub(super) fn gc_run(structs: u64, gc_len: u64) -> Vec<u8> {
    let mut rest = Vec::new();
    var(&mut rest, 1);
    var(&mut rest, structs);
    var(&mut rest, 0);
    var(&mut rest, 0);
    let lens = uint_rle(&[(gc_len, structs.max(2))]);
    v2_update(
        [
            &[],
            &uint_rle(&[(5, 1)]),
            &[],
            &[],
            &[0],
            &string_column("", &[]),
            &[],
            &[],
            &lens,
        ],
        &rest,
    )
}

pub(super) fn clock_of(update: &Update, client: u64) -> u32 {
    update.state_vector().get(&yrs::ClientID::new(client))
}

/// One item of client 5 under root "fields" with content `info` (no origins), whose
/// strings and lengths come from the given columns.
pub(super) fn v2_item(info: u8, strings: &[u8], lens: &[u8], rest_tail: &[u8]) -> Vec<u8> {
    let mut rest = vec![1, 1, 0];
    rest.extend_from_slice(rest_tail);
    rest.push(0);
    v2_update(
        [&[], &[5], &[], &[], &[info], strings, &[1], &[], lens],
        &rest,
    )
}
