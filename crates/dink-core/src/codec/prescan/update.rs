//! The struct store and delete set walk (yrs `Update::decode`), shared by both encodings.

use super::any::ValueScanner;
use super::reader::Reader;
use super::{Fail, Scan, ShapeSummary};

/// The reads of a yrs `Decoder` the struct walk needs, for one encoding version.
pub(super) trait Source<'a> {
    /// Whether every struct and every string costs at least one byte of `rest` (v1), which
    /// bounds declared counts by the input size.
    const COUNTS_COST_BYTES: bool;

    /// The plain lib0 stream: counts, clocks, skip lengths, values, buffers, the delete set.
    fn rest(&mut self) -> &mut Reader<'a>;
    fn client(&mut self) -> Scan<u64>;
    fn info(&mut self) -> Scan<u8>;
    fn left_id(&mut self) -> Scan<Id>;
    fn right_id(&mut self) -> Scan<Id>;
    fn parent_info(&mut self) -> Scan<bool>;
    fn string(&mut self) -> Scan<&'a str>;
    fn type_ref(&mut self) -> Scan<u8>;
    fn len(&mut self) -> Scan<u32>;
    fn json(&mut self, values: &mut ValueScanner) -> Scan<()>;
    fn key(&mut self) -> Scan<()>;
    fn reset_ds(&mut self);
    fn ds_clock(&mut self) -> Scan<u32>;
    fn ds_len(&mut self) -> Scan<u32>;
    /// Bytes of the struct columns (v2) the walk did not read; v1 has no columns.
    fn unread_column_bytes(&self) -> usize {
        0
    }
}

/// A struct's id: the client that wrote it and the clock of its first unit. Packed to 12 bytes
/// (an `Option<Id>` takes 16, not 24): the row CRDT's structs hold three ids, and a hot row's
/// load is bound by how many bytes its thousands of structs take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed(4))]
pub(crate) struct Id {
    pub client: u64,
    pub clock: u32,
}

/// Where an item says it sits, as far as its own bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parent<'a> {
    /// The item has an origin: yrs takes parent and key from the neighbour it names.
    Origin,
    /// A root type, by name.
    Root(&'a str),
    /// A nested shared type, by the id of the item holding it.
    Nested,
}

/// An item's content as the bytes hold it, for the content a row document can hold; anything
/// else is `Other` (its ref is in [`ItemFacts::content`]) and the layout refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload<'a> {
    /// `ContentDeleted`: the item's length and nothing else.
    Deleted,
    /// `ContentAny`: lib0 `Any` values back to back, one per clock unit.
    Any(&'a [u8]),
    /// `ContentBinary`: one `Uint8Array`.
    Binary(&'a [u8]),
    Other,
}

/// One struct as decoded, handed to a [`Sink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    Gc { id: Id, len: u32 },
    Skip { id: Id, len: u32 },
    Item(DecodedItem<'a>),
}

/// An item as its bytes describe it (before integration resolves its parent and key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodedItem<'a> {
    pub id: Id,
    pub len: u32,
    pub origin: Option<Id>,
    pub right_origin: Option<Id>,
    pub parent: Parent<'a>,
    /// The item holding the parent type when `parent` is `Nested`.
    pub parent_item: Option<Id>,
    pub key: Option<&'a str>,
    pub payload: Payload<'a>,
}

/// Receives what a scan decodes. The shape check alone uses `()`, which keeps nothing (and
/// compiles to nothing); the row CRDT (`codec/row_crdt`) builds its store from it.
pub(crate) trait Sink<'a> {
    /// The update holds `count` client sections (checked against its length only: a hint).
    fn clients(&mut self, _count: u32) {}
    /// A client's section begins: `structs` structs follow (already counted against the
    /// scan's limit, so a sink may reserve room for them).
    fn section(&mut self, _client: u64, _structs: u32) {}
    fn block(&mut self, block: Decoded<'a>);
    fn delete(&mut self, client: u64, clock: u32, len: u32);
}

impl<'a> Sink<'a> for () {
    #[inline(always)]
    fn block(&mut self, _: Decoded<'a>) {}
    #[inline(always)]
    fn delete(&mut self, _: u64, _: u32, _: u32) {}
}

/// What the row layout check needs to know about one item (see `codec/layout.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemFacts<'a> {
    pub client: u64,
    pub clock: u32,
    pub parent: Parent<'a>,
    /// The map key (`parent_sub`) when the item names its parent.
    pub key: Option<&'a str>,
    /// Content ref (1 deleted, 3 binary, 4 string, 5 embed, 6 format, 7 type, 8 any, ...).
    pub content: u8,
    /// Shared type ref for type content (7).
    pub type_ref: Option<u8>,
}

fn charge(summary: &ShapeSummary, extra: u64, max_structs: u64) -> Scan<()> {
    let total = summary
        .structs
        .checked_add(extra)
        .ok_or(Fail::TooManyStructs)?;
    if total > max_structs {
        return Err(Fail::TooManyStructs);
    }
    Ok(())
}

/// yrs `Update::decode`: the struct store, then the delete set.
pub(super) fn scan<'a, S: Source<'a>, K: Sink<'a>>(
    source: &mut S,
    sink: &mut K,
    values: &mut ValueScanner,
    max_structs: u64,
    summary: &mut ShapeSummary,
) -> Scan<()> {
    let clients = source.rest().var_u32()?;
    // A client section takes at least two bytes of `rest` (struct count and first clock).
    if clients as usize > source.rest().remaining() / 2 {
        return Err(Fail::Malformed(
            "update declares more clients than it holds",
        ));
    }
    summary.clients = u64::from(clients);
    sink.clients(clients);
    // yrs keys client sections by id, so a repeated id would splice two runs of clocks into
    // one list (overlapping or out of order), which its block store cannot integrate.
    let mut seen_clients = std::collections::BTreeSet::new();
    for _ in 0..clients {
        let structs = source.rest().var_u32()?;
        let client = source.client()?;
        if !seen_clients.insert(client) {
            return Err(Fail::Malformed("update repeats a client section"));
        }
        // No encoder writes an empty client section (yjs and yrs skip clients with nothing to
        // send), and yrs panics trimming an update that holds one for a client the document
        // knows (`Update::exclude` takes the first struct).
        if structs == 0 {
            return Err(Fail::Malformed("client section holds no structs"));
        }
        let mut clock = source.rest().var_u32()?;
        if S::COUNTS_COST_BYTES && structs as usize > source.rest().remaining() {
            return Err(Fail::Malformed(
                "update declares more structs than it holds",
            ));
        }
        // yrs reserves room for the declared count before reading any struct.
        charge(summary, u64::from(structs), max_structs)?;
        summary.structs += u64::from(structs);
        sink.section(client, structs);
        for _ in 0..structs {
            let id = Id { client, clock };
            let decoded = match source.info()? {
                // GC
                0 => Decoded::Gc {
                    id,
                    len: source.len()?,
                },
                // Skip
                10 => {
                    let len = source.rest().var_u32()?;
                    if len > summary.longest_skip.1 {
                        summary.longest_skip = (client, len);
                    }
                    Decoded::Skip { id, len }
                }
                info => {
                    summary.items += 1;
                    if info & 0x0f == BINARY_CONTENT {
                        summary.binary_items += 1;
                    }
                    let (item, facts) = item(source, info, values, id)?;
                    if summary.layout_issue.is_none() {
                        summary.layout_issue = crate::codec::layout::item_issue(&facts);
                    }
                    Decoded::Item(item)
                }
            };
            let len = match decoded {
                Decoded::Gc { len, .. } | Decoded::Skip { len, .. } => len,
                Decoded::Item(item) => item.len,
            };
            // No encoder writes an empty struct, and yrs integrates one at a clock it never
            // advances past, leaving a state it cannot decode again.
            if len == 0 {
                return Err(Fail::Malformed("struct has zero length"));
            }
            sink.block(decoded);
            // yrs adds struct lengths to a u32 clock.
            clock = clock
                .checked_add(len)
                .ok_or(Fail::Malformed("struct clock overflows"))?;
        }
    }

    // Delete set (yrs `IdSet::decode`).
    let clients = source.rest().var_u32()?;
    if clients as usize > source.rest().remaining() / 2 {
        return Err(Fail::Malformed(
            "delete set declares more clients than it holds",
        ));
    }
    // Encoders write each client once, its ranges sorted and disjoint (v2's clock differences
    // cannot express anything else). yrs decodes other orders, but its v2 encoder subtracts each
    // range's clock from the previous range's end: an underflow (a debug panic, garbage in
    // release builds) on the overlap (found by the fuzzer).
    let mut ds_clients = std::collections::BTreeSet::new();
    for _ in 0..clients {
        source.reset_ds();
        let ds_client = client_id(source.rest().var_u64()?)?;
        if !ds_clients.insert(ds_client) {
            return Err(Fail::Malformed("delete set repeats a client"));
        }
        let ranges = source.rest().var_u32()?;
        if ranges as usize > source.rest().remaining() / 2 {
            return Err(Fail::Malformed(
                "delete set declares more ranges than it holds",
            ));
        }
        let mut end = 0u32;
        for _ in 0..ranges {
            let clock = source.ds_clock()?;
            let len = source.ds_len()?;
            // v2 stores `len - 1`; a v1 zero-length range is what yrs's v2 encoder would
            // underflow on (a debug assertion; found by the fuzzer).
            if len == 0 {
                return Err(Fail::Malformed("delete set range is empty"));
            }
            if clock < end {
                return Err(Fail::Malformed(
                    "delete set ranges overlap or are out of order",
                ));
            }
            end = clock
                .checked_add(len)
                .ok_or(Fail::Malformed("delete set range overflows"))?;
            sink.delete(ds_client, clock, len);
        }
        summary.delete_ranges += u64::from(ranges);
    }
    summary.trailing_bytes = source.rest().remaining();
    summary.unread_column_bytes = source.unread_column_bytes();
    Ok(())
}

/// Content ref of `ContentBinary`.
const BINARY_CONTENT: u8 = 3;

/// Yjs client ids are at most 53 bits (a JavaScript number); yrs asserts this when it builds
/// an id and silently truncates in release builds.
pub(super) fn client_id(id: u64) -> Scan<u64> {
    if id >= 1 << 53 {
        return Err(Fail::Malformed("client id exceeds 53 bits"));
    }
    Ok(id)
}

/// One item (yrs `Update::decode_block` and `ItemContent::decode`).
#[inline(always)]
fn item<'a, S: Source<'a>>(
    source: &mut S,
    info: u8,
    values: &mut ValueScanner,
    id: Id,
) -> Scan<(DecodedItem<'a>, ItemFacts<'a>)> {
    // yrs matches GC and Skip on the whole byte and content on the low four bits; yjs uses the
    // low five. Accept only content refs 1..=9 with bit 4 clear, where all readers agree (yrs
    // alone would read bit 4 as unset; no encoder sets it).
    if info & 0x10 != 0 {
        return Err(Fail::Malformed("struct info sets the unused bit 4"));
    }
    let content = info & 0x0f;
    if !(1..=9).contains(&content) {
        return Err(Fail::Malformed("unknown struct type"));
    }
    let has_origin = info & 0x80 != 0;
    let has_right_origin = info & 0x40 != 0;
    let origin = if has_origin {
        Some(source.left_id()?)
    } else {
        None
    };
    let right_origin = if has_right_origin {
        Some(source.right_id()?)
    } else {
        None
    };
    let mut facts = ItemFacts {
        client: id.client,
        clock: id.clock,
        parent: Parent::Origin,
        key: None,
        content,
        type_ref: None,
    };
    let mut parent_item = None;
    if !has_origin && !has_right_origin {
        facts.parent = if source.parent_info()? {
            Parent::Root(source.string()?)
        } else {
            parent_item = Some(source.left_id()?);
            Parent::Nested
        };
        if info & 0x20 != 0 {
            facts.key = Some(source.string()?);
        }
    }
    let mut payload = Payload::Other;
    let len = match content {
        // Deleted
        1 => {
            payload = Payload::Deleted;
            source.len()?
        }
        // JSON (legacy, content ref 2): yjs has not written it since v13, and yrs decodes one
        // more string than it encodes, so a state holding it cannot be read back. Refused.
        2 => {
            return Err(Fail::Malformed(
                "legacy JSON content (ref 2) is not supported",
            ))
        }
        // Binary
        3 => {
            payload = Payload::Binary(source.rest().var_buf()?);
            1
        }
        // String: its length in UTF-16 code units
        4 => {
            let text = source.string()?;
            u32::try_from(text.encode_utf16().count())
                .map_err(|_| Fail::Malformed("string exceeds 32 bits of length"))?
        }
        // Embed
        5 => {
            source.json(values)?;
            1
        }
        // Format
        6 => {
            source.key()?;
            source.json(values)?;
            1
        }
        // Type: yrs 0.27.4 without the `weak` feature knows array, map, text, xml element (with
        // a key), xml fragment, xml hook (no key, unlike yjs), xml text, sub-doc, undefined.
        7 => {
            let type_ref = source.type_ref()?;
            match type_ref {
                3 => source.key()?,
                0 | 1 | 2 | 4 | 5 | 6 | 9 | 15 => {}
                _ => return Err(Fail::Malformed("unknown shared type")),
            }
            facts.type_ref = Some(type_ref);
            1
        }
        // Any
        8 => {
            let count = source.len()?;
            if count as usize > source.rest().remaining() {
                return Err(Fail::Malformed(
                    "value list declares more values than it holds",
                ));
            }
            let start = source.rest().mark();
            for _ in 0..count {
                values.skip_any(source.rest())?;
            }
            payload = Payload::Any(source.rest().since(start));
            count
        }
        // Doc (content ref 9): a row is one document and never holds sub-documents; yrs also
        // leaks a decoded sub-document (its store and the parent item reference each other),
        // so refusing it here keeps untrusted bytes from leaking engine memory.
        _ => {
            return Err(Fail::Malformed(
                "sub-documents (content ref 9) are not supported: a row is one document",
            ))
        }
    };
    let item = DecodedItem {
        id,
        len,
        origin,
        right_origin,
        parent: facts.parent,
        parent_item,
        key: facts.key,
        payload,
    };
    Ok((item, facts))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::error::ErrorCode;
    use yrs::{Doc, Map, Transact};

    #[test]
    fn prescan_refuses_clock_overflow() {
        // yrs adds struct lengths to a u32 clock (a debug-build panic).
        let bytes = gc_run(2, u64::from(u32::MAX));
        let err = check_update_shape(&bytes, UpdateFormat::V2, DEPTH).expect_err("overflow");
        assert_eq!(err.code, ErrorCode::InvalidDelta);
        assert!(err.message.contains("overflow"), "{}", err.message);
        // Delete set: clock + len past u32 in v1.
        let ds = [0, 1, 5, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1];
        let err = check_update_shape(&ds, UpdateFormat::V1, DEPTH).expect_err("overflow");
        assert!(err.message.contains("delete set range overflows"), "{err}");
    }

    #[test]
    fn legacy_json_content_is_refused() {
        // ContentJSON declaring 2 elements: yrs would read 3 strings but write 2, so a state
        // holding it could never be decoded again.
        let strings = string_column("fields", &[(6, 1), (0, 3)]);
        let bytes = v2_item(2, &strings, &uint_rle(&[(2, 1)]), &[]);
        assert_eq!(
            code(&check_update_shape(&bytes, UpdateFormat::V2, DEPTH)),
            Some(ErrorCode::InvalidDelta)
        );
    }

    #[test]
    fn subdocuments_are_refused() {
        // A row is one document. yrs would decode a sub-document, but the decoded sub-document
        // and its parent item keep each other alive (found by the fuzzer's leak sanitizer).
        let made_by_yjs = YJS_FIXTURES.iter().filter(|(n, _, _)| *n == "subdoc");
        let made_by_yrs = {
            let doc = new_doc(9);
            let fields = doc.get_or_insert_map("fields");
            let mut txn = doc.transact_mut();
            fields.insert(&mut txn, "doc", Doc::new());
            [
                (UpdateFormat::V1, txn.encode_update_v1()),
                (UpdateFormat::V2, txn.encode_update_v2()),
            ]
        };
        let mut cases: Vec<(UpdateFormat, Vec<u8>)> =
            made_by_yjs.map(|(_, f, text)| (*f, hex(text))).collect();
        cases.extend(made_by_yrs);
        assert_eq!(cases.len(), 4);
        for (format, bytes) in cases {
            let err = check_update_shape(&bytes, format, DEPTH).expect_err("sub-document");
            assert_eq!(err.code, ErrorCode::InvalidDelta, "{format:?}");
            assert!(err.message.contains("sub-documents"), "{}", err.message);
        }
    }

    #[test]
    fn struct_info_bits_no_encoder_sets_are_refused() {
        // GC with an origin flag (yjs: GC, yrs: an item with content 0), and bit 4 (yjs: unknown
        // content, yrs: ignored).
        for (info, reason) in [
            (0x80u8, "unknown struct type"),
            (0x4a, "unknown struct type"),
            (0x18, "bit 4"),
            (0x1b, "bit 4"),
        ] {
            let mut bytes = vec![1, 1, 5, 0, info, 5, 0, 1];
            bytes.extend_from_slice(&[1, b'x', 0]);
            let err = check_update_shape(&bytes, UpdateFormat::V1, DEPTH).expect_err("refused");
            assert_eq!(err.code, ErrorCode::InvalidDelta);
            assert!(err.message.contains(reason), "{info:#x}: {err}");
        }
    }
}
