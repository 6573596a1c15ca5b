//! Shape check of untrusted Yjs updates, run before yrs decodes them.
//!
//! yrs decodes `Any` values recursively (`Any::decode` calls itself for every array and object
//! level), so a few hundred kilobytes of `[117, 1, 117, 1, ...]` overflow the stack and abort the
//! process. This module skims the update format once, iteratively, and refuses nesting deeper
//! than a limit before yrs sees the bytes. It also refuses the inputs on which yrs 0.27.4 would
//! panic, misbehave or reserve memory out of proportion to the input: lengths that run past the
//! end, integer overflows of clocks and run counters, invalid UTF-8 (yrs reads strings with
//! `from_utf8_unchecked`) and string lengths that split a character.
//!
//! The walk mirrors yrs's decoder (`updates/decoder.rs`, `update.rs`, `block.rs`, `any.rs`,
//! `id_set.rs`) rather than yjs where the two differ, because the point is to see exactly the
//! bytes yrs will turn into values. Every input this accepts is parsed by yrs the same way; it
//! accepts every update yjs or yrs encode (yrs still does the real decode afterwards). Where yrs
//! would accept something no encoder produces (an 11-byte varint, a struct info byte with the
//! unused bit 4 set, an `i32` run counter that wraps), this refuses it.
//!
//! Nothing here recurses or allocates in proportion to a length read from the input: the only
//! allocation is the stack of open `Any` containers, bounded by the depth limit and by the input
//! (each level costs at least two bytes).

mod any;
mod reader;
mod state_vector;
#[cfg(test)]
mod test_support;
mod update;
mod v1;
mod v2;

pub(crate) use state_vector::decode_state_vector_entries;
pub(crate) use update::{Decoded, DecodedItem, Id, ItemFacts, Parent, Payload, Sink};

use super::UpdateFormat;
use crate::error::EngineError;
use any::ValueScanner;
use reader::Reader;
use update::scan;
use v1::V1Source;
use v2::V2Source;

/// Most structs one scan walks before refusing the update. In v2 a
/// run-length encoded column can describe billions of structs in a few bytes, and yrs reserves
/// memory for the declared count before decoding, so the count needs a ceiling independent of
/// the input size; this one keeps the scan in the tens of milliseconds. Callers with a tighter
/// budget pass it to [`check_update_shape_bounded`] or check [`ShapeSummary::structs`].
#[cfg(test)]
pub(crate) const MAX_SCANNED_STRUCTS: u64 = 1 << 22;

/// What a successful scan saw.
#[allow(dead_code)] // Diagnostics: each caller reads the counts it limits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ShapeSummary {
    /// Client sections in the struct part.
    pub clients: u64,
    /// Structs walked: items, GC ranges and skips (v2 can declare many per byte).
    pub structs: u64,
    /// Items among the structs.
    pub items: u64,
    /// Top-level values checked for depth: `ContentAny` elements, embed and format values,
    /// sub-document options.
    pub any_values: u64,
    /// Values whose bytes are not what the engine would write for them (see
    /// `ValueScanner::skip_any`); v1 JSON text is not counted.
    pub noncanonical_values: u64,
    /// Ranges in the delete set.
    pub delete_ranges: u64,
    /// Items with binary content (`ContentBinary`, how yjs stores a top-level `Uint8Array`).
    pub binary_items: u64,
    /// Deepest nesting of arrays and objects seen in any value (scalars 0, each level +1).
    pub max_any_depth: usize,
    /// Bytes after the delete set. yrs ignores them; yjs and yrs never write any.
    pub trailing_bytes: usize,
    /// Bytes of the v2 struct columns no struct read (0 for v1). yrs ignores them; yjs and yrs
    /// write none (except a yjs `XmlHook` name, which the row layout refuses anyway).
    pub unread_column_bytes: usize,
    /// The longest skip range (a gap in a merged update) and its client: `(client, units)`.
    pub longest_skip: (u64, u32),
    /// The first item whose own bytes break the row layout (`codec/layout.rs`), as the
    /// message to report. The scan itself accepts such updates; strict callers refuse them.
    pub layout_issue: Option<String>,
}

/// Checks that `bytes` is a well-formed Yjs update of `format` whose values nest at most
/// `max_any_depth` levels, without recursion. Errors: TOO_LARGE when a value nests deeper (or
/// the update declares more than [`MAX_SCANNED_STRUCTS`] structs), INVALID_DELTA when the bytes
/// are truncated or malformed. (The engines call [`decode_update_into`] or [`check_update_shape_bounded`].)
#[cfg(test)]
pub(crate) fn check_update_shape(
    bytes: &[u8],
    format: UpdateFormat,
    max_any_depth: usize,
) -> Result<ShapeSummary, EngineError> {
    check_update_shape_bounded(bytes, format, max_any_depth, MAX_SCANNED_STRUCTS)
}

/// Checks the update's shape (see `check_update_shape`) with an explicit ceiling on structs
/// (the yrs engine's guard; the row CRDT decodes through [`decode_update_into`]).
#[cfg(any(test, feature = "yrs-oracle"))]
pub(crate) fn check_update_shape_bounded(
    bytes: &[u8],
    format: UpdateFormat,
    max_any_depth: usize,
    max_structs: u64,
) -> Result<ShapeSummary, EngineError> {
    decode_update_into(bytes, format, max_any_depth, max_structs, &mut ())
}

/// The shape check of [`check_update_shape_bounded`], handing every struct and delete range
/// to `sink` as it is read. The sink sees a prefix of the update when the check fails.
pub(crate) fn decode_update_into<'a, K: Sink<'a>>(
    bytes: &'a [u8],
    format: UpdateFormat,
    max_any_depth: usize,
    max_structs: u64,
    sink: &mut K,
) -> Result<ShapeSummary, EngineError> {
    let mut values = ValueScanner::new(max_any_depth);
    let mut summary = ShapeSummary::default();
    let result = match format {
        UpdateFormat::V1 => scan(
            &mut V1Source {
                rest: Reader::new(bytes),
            },
            sink,
            &mut values,
            max_structs,
            &mut summary,
        ),
        UpdateFormat::V2 => V2Source::new(bytes)
            .and_then(|mut source| scan(&mut source, sink, &mut values, max_structs, &mut summary)),
    };
    summary.max_any_depth = values.deepest;
    summary.any_values = values.values;
    summary.noncanonical_values = values.noncanonical;
    match result {
        Ok(()) => Ok(summary),
        Err(fail) => Err(fail.into_error(format, max_any_depth, max_structs)),
    }
}

/// The byte length of the first `count` lib0 `Any` values in `bytes` (values a scan accepted),
/// or `None` when `bytes` holds fewer. Used to split a multi-value item.
pub(crate) fn any_values_len(bytes: &[u8], count: u32) -> Option<usize> {
    let mut reader = Reader::new(bytes);
    let mut values = ValueScanner::new(usize::MAX);
    for _ in 0..count {
        values.skip_any(&mut reader).ok()?;
    }
    Some(reader.mark())
}

/// Why a scan stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    /// A read ran past the end of its buffer.
    Truncated,
    Malformed(&'static str),
    TooDeep,
    TooManyStructs,
}

impl Fail {
    fn into_error(self, format: UpdateFormat, max_depth: usize, max_structs: u64) -> EngineError {
        let version = match format {
            UpdateFormat::V1 => 1,
            UpdateFormat::V2 => 2,
        };
        match self {
            Fail::Truncated => EngineError::invalid_delta(format!(
                "bytes are not a Yjs update v{version}: unexpected end of input"
            )),
            Fail::Malformed(what) => {
                EngineError::invalid_delta(format!("bytes are not a Yjs update v{version}: {what}"))
            }
            Fail::TooDeep => EngineError::too_large(format!(
                "update nests a value deeper than the depth limit of {max_depth} levels"
            )),
            Fail::TooManyStructs => EngineError::too_large(format!(
                "update declares more structs than the limit of {max_structs}"
            )),
        }
    }
}

type Scan<T> = Result<T, Fail>;

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::error::ErrorCode;
    use std::time::{Duration, Instant};
    use yrs::{Doc, ReadTxn, StateVector, Transact};

    #[test]
    fn prescan_accepts_every_update_yrs_produces() {
        let corpus = corpus();
        assert!(corpus.len() > 500, "corpus has {} updates", corpus.len());
        let mut deepest = 0;
        let mut structs = 0;
        for (name, format, bytes) in &corpus {
            decode_yrs(bytes, *format)
                .unwrap_or_else(|e| panic!("{name}: yrs rejects its own update: {e}"));
            let summary = check_update_shape(bytes, *format, DEPTH)
                .unwrap_or_else(|e| panic!("{name} ({format:?}): {e}"));
            assert_eq!(
                summary.trailing_bytes, 0,
                "{name} ({format:?}) left bytes unread"
            );
            deepest = deepest.max(summary.max_any_depth);
            structs += summary.structs;
        }
        assert!(deepest >= 4, "corpus nests only {deepest} levels");
        assert!(structs > 1000);
    }

    #[test]
    fn prescan_agrees_with_yrs_on_updates_made_by_yjs() {
        for (name, format, text) in YJS_FIXTURES {
            let bytes = hex(text);
            let scanned = check_update_shape(&bytes, *format, DEPTH);
            let decoded = decode_yrs(&bytes, *format);
            // Sub-documents decode in yrs but are refused by policy.
            let accepted_by_policy = decoded.is_ok() && *name != "subdoc";
            assert_eq!(
                scanned.is_ok(),
                accepted_by_policy,
                "{name} {format:?}: {scanned:?}"
            );
            if let Ok(summary) = scanned {
                assert_eq!(summary.trailing_bytes, 0, "{name} {format:?}");
                let expected_depth = match *name {
                    "rich_a" => 6,
                    "merged_gaps" => 2,
                    _ => summary.max_any_depth,
                };
                assert_eq!(summary.max_any_depth, expected_depth, "{name} {format:?}");
            }
        }
        // yjs writes an XmlHook's name, yrs does not read it: in v1 that misaligns the stream
        // (both refuse), in v2 the name sits unread in the string column (both accept).
        let hook = |f| {
            YJS_FIXTURES
                .iter()
                .find(|(n, ff, _)| *n == "xmlhook" && *ff == f)
                .map(|x| hex(x.2))
        };
        let v1 = hook(UpdateFormat::V1).expect("fixture");
        let v2 = hook(UpdateFormat::V2).expect("fixture");
        assert_eq!(
            code(&check_update_shape(&v1, UpdateFormat::V1, DEPTH)),
            Some(ErrorCode::InvalidDelta)
        );
        assert!(check_update_shape(&v2, UpdateFormat::V2, DEPTH).is_ok());
    }

    fn v1_any_item(value: &[u8]) -> Vec<u8> {
        let mut bytes = vec![1, 1, 5, 0, 0x28, 1, 6];
        bytes.extend_from_slice(b"fields");
        bytes.extend_from_slice(&[1, b'v', 1]);
        bytes.extend_from_slice(value);
        bytes.push(0);
        bytes
    }

    #[test]
    fn huge_declared_lengths_are_refused_without_allocating() {
        let mut cases: Vec<(UpdateFormat, Vec<u8>)> = Vec::new();
        // Any array / object / string / buffer lengths far beyond the input.
        for (tag, len) in [
            (117u8, 1u64 << 62),
            (118, 1 << 40),
            (119, u64::from(u32::MAX)),
            (116, u64::from(u32::MAX)),
            (119, 1 << 40),
        ] {
            let mut value = vec![tag];
            var(&mut value, len);
            cases.push((UpdateFormat::V1, v1_any_item(&value)));
        }
        // Item value count.
        let mut bytes = vec![1, 1, 5, 0, 0x28, 1, 6];
        bytes.extend_from_slice(b"fields");
        bytes.extend_from_slice(&[1, b'v']);
        var(&mut bytes, u64::from(u32::MAX));
        bytes.extend_from_slice(&[126, 0]);
        cases.push((UpdateFormat::V1, bytes));
        // Client, struct and delete-set counts.
        cases.push((UpdateFormat::V1, vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0]));
        cases.push((
            UpdateFormat::V1,
            vec![1, 0xff, 0xff, 0xff, 0xff, 0x0f, 5, 0, 0],
        ));
        cases.push((UpdateFormat::V1, vec![0, 0xff, 0xff, 0xff, 0xff, 0x0f]));
        cases.push((
            UpdateFormat::V1,
            vec![0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ));
        // Root name length.
        cases.push((
            UpdateFormat::V1,
            vec![1, 1, 5, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ));
        // Varints longer than 10 bytes or wider than 64 bits.
        cases.push((
            UpdateFormat::V1,
            vec![
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
            ],
        ));
        cases.push((
            UpdateFormat::V1,
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ));
        // v2 column lengths; a column length cut short (yrs indexes past the end and panics).
        cases.push((
            UpdateFormat::V2,
            vec![0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ));
        cases.push((UpdateFormat::V2, vec![0, 0x80]));
        cases.push((UpdateFormat::V2, vec![]));
        cases.push((UpdateFormat::V1, vec![]));
        for (format, bytes) in cases {
            let started = Instant::now();
            let err = check_update_shape(&bytes, format, DEPTH).expect_err("refused");
            assert_eq!(err.code, ErrorCode::InvalidDelta, "{bytes:?}: {err}");
            assert!(started.elapsed() < Duration::from_millis(100));
        }
    }

    #[test]
    fn empty_updates_and_trailing_bytes() {
        let summary = check_update_shape(&[0, 0], UpdateFormat::V1, DEPTH).expect("empty v1");
        assert_eq!(summary, ShapeSummary::default());
        let empty_v2 = Doc::new()
            .transact()
            .encode_state_as_update_v2(&StateVector::default());
        check_update_shape(&empty_v2, UpdateFormat::V2, DEPTH).expect("empty v2");
        // yrs ignores bytes after the delete set, so the scan reports and accepts them.
        let summary = check_update_shape(&[0, 0, 9, 9], UpdateFormat::V1, DEPTH).expect("trailing");
        assert_eq!(summary.trailing_bytes, 2);
        decode_yrs(&[0, 0, 9, 9], UpdateFormat::V1).expect("yrs agrees");
    }

    #[test]
    fn prescan_never_panics_on_truncations_and_flips() {
        let corpus = corpus();
        let mut rng = Rng(0xdead_beef);
        let mut accepted_mutants = 0u32;
        for (name, format, bytes) in corpus.iter().step_by(7).take(60) {
            for len in 0..bytes.len() {
                let result = scan_then_yrs(&bytes[..len], *format);
                if let Err(e) = &result {
                    assert!(
                        matches!(e.code, ErrorCode::InvalidDelta | ErrorCode::TooLarge),
                        "{name}: {e}"
                    );
                } else {
                    accepted_mutants += 1;
                }
            }
            for _ in 0..200 {
                let mut mutant = bytes.clone();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(mutant.len() as u64) as usize;
                    mutant[at] = match rng.below(4) {
                        0 => mutant[at] ^ (1 << rng.below(8)),
                        1 => 0xff,
                        2 => 0x80,
                        _ => rng.next() as u8,
                    };
                }
                if scan_then_yrs(&mutant, *format).is_ok() {
                    accepted_mutants += 1;
                }
            }
        }
        assert!(accepted_mutants > 0);
    }
}
