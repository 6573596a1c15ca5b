//! Reading update bytes into structs to integrate. The bytes are walked once, by the same
//! checked decoder that guards yrs (`codec/prescan`), which hands each struct to the sink here.

use super::block::{Block, Content};
use crate::codec::prescan::{self, Decoded, DecodedItem, Payload, ShapeSummary, Sink};
use crate::codec::{row_doc, UpdateFormat};
use crate::error::EngineError;

/// A struct from an update, before integration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Incoming<'a> {
    pub block: Block<'a>,
    /// The item's own bytes name its root map and key (`block.root`, `block.key`); otherwise
    /// it takes them from the neighbour its origin (or right origin) names.
    pub named: bool,
    /// A skip range (a gap a merged update leaves): nothing to integrate.
    pub skip: bool,
    /// Whether the item's info byte gets the key flag when written back by a byte-level
    /// operation: as yjs's lazy struct reader (`mergeUpdates`, `diffUpdate`) sees an item, it
    /// has a key only when its bytes name one (no origins), and a slice keeps it.
    pub key_flag: bool,
}

/// An update's structs, one section per client in the order the bytes list them, and its
/// delete set as (client, clock, length) ranges.
#[derive(Debug, Default, Clone)]
pub(crate) struct UpdateRefs<'a> {
    pub sections: Vec<(u64, Vec<Incoming<'a>>)>,
    pub deletes: Vec<(u64, u32, u32)>,
    /// Set when an item cannot be part of a row: the layout check reports it (the scan's
    /// summary names it). Such an item is in `sections` as a placeholder GC range of its
    /// clocks (enough for a state vector or a clock check, nothing to integrate or write).
    pub foreign: bool,
}

impl<'a> Incoming<'a> {
    /// A GC range: also the placeholder of an item a row cannot hold (`UpdateRefs::foreign`).
    fn gc(id: super::block::Id, len: u32) -> Self {
        Incoming {
            block: Block::gc(id, len),
            named: false,
            skip: false,
            key_flag: false,
        }
    }
}

impl<'a> UpdateRefs<'a> {
    fn push(&mut self, incoming: Incoming<'a>) {
        let client = incoming.block.id.client;
        match self.sections.last_mut() {
            Some((c, list)) if *c == client => list.push(incoming),
            _ => self.sections.push((client, vec![incoming])),
        }
    }
}

/// An item's content as a struct holds it; `None` for content a row cannot hold.
pub(crate) fn content_of(payload: Payload<'_>) -> Option<Content<'_>> {
    match payload {
        Payload::Deleted => Some(Content::Deleted),
        Payload::Any(bytes) => Some(Content::Any(bytes)),
        Payload::Binary(bytes) => Some(Content::Binary(bytes)),
        Payload::Other => None,
    }
}

/// The root map and key an item's own bytes name (`None`: it is placed by an origin and takes
/// them from there); `Err` for another root, sequence content or a nested parent: not a row.
pub(crate) fn row_key<'a>(item: &DecodedItem<'a>) -> Result<Option<(&'a str, &'a str)>, ()> {
    match (item.parent, item.key) {
        (prescan::Parent::Origin, _) => Ok(None),
        (prescan::Parent::Root(root), Some(key))
            if root == row_doc::FIELDS_ROOT || root == row_doc::META_ROOT =>
        {
            Ok(Some((root, key)))
        }
        _ => Err(()),
    }
}

impl<'a> Sink<'a> for UpdateRefs<'a> {
    fn section(&mut self, client: u64, structs: u32) {
        self.sections
            .push((client, Vec::with_capacity(structs as usize)));
    }

    fn block(&mut self, decoded: Decoded<'a>) {
        let incoming = match decoded {
            Decoded::Gc { id, len } => Incoming::gc(id, len),
            Decoded::Skip { id, len } => Incoming {
                block: Block::gc(id, len),
                named: false,
                skip: true,
                key_flag: false,
            },
            Decoded::Item(item) => {
                let (Some(content), Ok(named)) = (content_of(item.payload), row_key(&item)) else {
                    self.foreign = true;
                    return self.push(Incoming::gc(item.id, item.len));
                };
                let mut block = Block::gc(item.id, item.len);
                block.content = content;
                block.origin = item.origin;
                block.right_origin = item.right_origin;
                block.deleted = false;
                if let Some((root, key)) = named {
                    block.root = root;
                    block.key = key;
                }
                Incoming {
                    block,
                    named: named.is_some(),
                    skip: false,
                    key_flag: named.is_some(),
                }
            }
        };
        self.push(incoming);
    }

    fn delete(&mut self, client: u64, clock: u32, len: u32) {
        self.deletes.push((client, clock, len));
    }
}

/// Decodes `bytes` (checked as `row_doc::decode_update_scanned` checks them, framing
/// included) into structs.
pub(crate) fn decode(
    bytes: &'_ [u8],
    format: UpdateFormat,
) -> Result<(UpdateRefs<'_>, ShapeSummary), EngineError> {
    let mut refs = UpdateRefs::default();
    let summary = decode_into(bytes, format, &mut refs)?;
    Ok((refs, summary))
}

/// [`decode`] into any sink (stored state goes straight into a store, `load.rs`).
pub(crate) fn decode_into<'a, K: Sink<'a>>(
    bytes: &'a [u8],
    format: UpdateFormat,
    sink: &mut K,
) -> Result<ShapeSummary, EngineError> {
    if bytes.is_empty() {
        return Err(EngineError::invalid_delta("update is empty"));
    }
    let summary = scan_into(bytes, format, sink)?;
    row_doc::check_framing(bytes, format, &summary)?;
    Ok(summary)
}

/// The checked scan with the engine's limits, without the framing check.
fn scan_into<'a, K: Sink<'a>>(
    bytes: &'a [u8],
    format: UpdateFormat,
    sink: &mut K,
) -> Result<ShapeSummary, EngineError> {
    prescan::decode_update_into(
        bytes,
        format,
        row_doc::SCAN_MAX_ANY_DEPTH,
        row_doc::SCAN_MAX_STRUCTS,
        sink,
    )
}

/// `refs` with every struct cut into one-unit structs and the delete set merged per client
/// (see `row_crdt::normalized`).
pub(crate) fn unit_refs<'a>(refs: &UpdateRefs<'a>) -> UpdateRefs<'a> {
    let mut out = UpdateRefs::default();
    for (client, structs) in &refs.sections {
        let mut units = Vec::new();
        for s in structs {
            let mut rest = s.block.content;
            for i in 0..s.block.len {
                let mut unit = *s;
                unit.block.id.clock += i;
                unit.block.len = 1;
                if i > 0 {
                    unit.block.origin = Some(super::block::Id {
                        client: *client,
                        clock: unit.block.id.clock - 1,
                    });
                    unit.named = false;
                }
                unit.block.content = match rest {
                    Content::Any(bytes) => {
                        let at =
                            crate::codec::prescan::any_values_len(bytes, 1).unwrap_or(bytes.len());
                        rest = Content::Any(&bytes[at..]);
                        Content::Any(&bytes[..at])
                    }
                    other => other,
                };
                // A skip or GC range has no origin to chain; its units stay independent. Every
                // item unit carries the key flag (encoders differ on items placed by origin).
                if s.skip || s.block.is_gc() {
                    unit.block.origin = None;
                } else {
                    unit.key_flag = true;
                }
                units.push(unit);
            }
        }
        out.sections.push((*client, units));
    }
    // A GC range is deleted by definition; whether an encoder also lists it in the delete set
    // (yrs does for a transaction's update, yjs does not) changes nothing.
    let mut deletes = refs.deletes.clone();
    for (client, structs) in &refs.sections {
        for s in structs.iter().filter(|s| !s.skip && s.block.is_gc()) {
            deletes.push((*client, s.block.id.clock, s.block.len));
        }
    }
    out.deletes = super::encode::sorted_delete_set(&deletes)
        .into_iter()
        .flat_map(|(client, ranges)| ranges.into_iter().map(move |(c, l)| (client, c, l)))
        .collect();
    out
}

/// The struct from `offset` units on (yjs `sliceStruct`): an item's origin becomes the unit
/// before the cut. `None` for binary content, which is one unit.
pub(crate) fn slice_incoming(mut s: Incoming<'_>, offset: u32) -> Option<Incoming<'_>> {
    let b = &mut s.block;
    b.id.clock += offset;
    b.len -= offset;
    if !s.skip && !b.is_gc() {
        b.origin = Some(super::block::Id {
            client: b.id.client,
            clock: b.id.clock - 1,
        });
        b.content = match b.content {
            Content::Any(bytes) => {
                let at = crate::codec::prescan::any_values_len(bytes, offset)?;
                Content::Any(&bytes[at..])
            }
            Content::Binary(_) => return None,
            other => other,
        };
        s.named = false;
    }
    Some(s)
}

/// [`decode`] without the framing check: for stored state, which `codec::diff` reads as
/// yrs does (bytes after the delete set ignored).
pub(crate) fn decode_unframed(
    bytes: &'_ [u8],
    format: UpdateFormat,
) -> Result<(UpdateRefs<'_>, ShapeSummary), EngineError> {
    let mut refs = UpdateRefs::default();
    let summary = scan_into(bytes, format, &mut refs)?;
    Ok((refs, summary))
}
