//! Writing structs and delete sets as Yjs update v1 or v2, byte for byte as yjs 13.6 writes
//! them (`UpdateEncoderV1`/`UpdateEncoderV2`, `writeClientsStructs`, `writeDeleteSet`, and
//! lib0's run-length column encoders).

use super::block::{Block, Content, Id};
use super::decode::{Incoming, UpdateRefs};
use super::merge::MergedRefs;
use super::store::Store;
use crate::codec::UpdateFormat;

/// lib0 `writeVarUint`.
pub(crate) fn var_uint(out: &mut Vec<u8>, mut n: u64) {
    while n > 0x7f {
        out.push(0x80 | (n & 0x7f) as u8);
        n >>= 7;
    }
    out.push(n as u8);
}

/// lib0 `writeVarInt`: sign in bit 6 of the first byte, six bits of magnitude, then 7-bit
/// groups.
pub(crate) fn var_int(out: &mut Vec<u8>, magnitude: u64, negative: bool) {
    let mut n = magnitude;
    out.push(if n > 0x3f { 0x80 } else { 0 } | if negative { 0x40 } else { 0 } | (n & 0x3f) as u8);
    n >>= 6;
    while n > 0 {
        out.push(if n > 0x7f { 0x80 } else { 0 } | (n & 0x7f) as u8);
        n >>= 7;
    }
}

pub(crate) fn var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    var_uint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// lib0 `RleEncoder` over bytes: a value, then (once it changes) its repeat count - 1; the last
/// run's count is left out.
#[derive(Default)]
struct Rle {
    out: Vec<u8>,
    last: Option<u8>,
    count: u64,
}

impl Rle {
    fn write(&mut self, v: u8) {
        if self.last == Some(v) {
            self.count += 1;
            return;
        }
        if self.count > 0 {
            var_uint(&mut self.out, self.count - 1);
        }
        self.count = 1;
        self.out.push(v);
        self.last = Some(v);
    }
}

/// lib0 `UintOptRleEncoder`: a single value as a positive var int, a run as the negated value
/// followed by its count - 2.
#[derive(Default)]
struct UintOptRle {
    out: Vec<u8>,
    last: u64,
    count: u64,
}

impl UintOptRle {
    fn write(&mut self, v: u64) {
        if self.last == v {
            self.count += 1;
        } else {
            self.flush();
            self.count = 1;
            self.last = v;
        }
    }

    fn flush(&mut self) {
        if self.count > 0 {
            var_int(&mut self.out, self.last, self.count > 1);
            if self.count > 1 {
                var_uint(&mut self.out, self.count - 2);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.out
    }
}

/// lib0 `IntDiffOptRleEncoder`: runs of equal differences; the low bit of the encoded
/// difference says whether a count follows.
#[derive(Default)]
struct IntDiffOptRle {
    out: Vec<u8>,
    last: i64,
    count: u64,
    diff: i64,
}

impl IntDiffOptRle {
    fn write(&mut self, v: u32) {
        let v = i64::from(v);
        if self.diff == v - self.last {
            self.last = v;
            self.count += 1;
        } else {
            self.flush();
            self.count = 1;
            self.diff = v - self.last;
            self.last = v;
        }
    }

    fn flush(&mut self) {
        if self.count > 0 {
            let encoded = self.diff * 2 + i64::from(self.count > 1);
            var_int(&mut self.out, encoded.unsigned_abs(), encoded < 0);
            if self.count > 1 {
                var_uint(&mut self.out, self.count - 2);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.out
    }
}

/// lib0 `StringEncoder`: every string's UTF-8 back to back, then their UTF-16 lengths.
#[derive(Default)]
struct Strings {
    text: String,
    lens: UintOptRle,
}

impl Strings {
    fn write(&mut self, s: &str) {
        self.text.push_str(s);
        self.lens.write(s.encode_utf16().count() as u64);
    }

    fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.text.len() + 8);
        var_bytes(&mut out, self.text.as_bytes());
        out.extend_from_slice(&self.lens.finish());
        out
    }
}

/// The writes of yjs's `UpdateEncoderV1`/`V2` that a row document needs.
trait Writer {
    /// The plain stream: counts, clocks, values, buffers, the delete set.
    fn rest(&mut self) -> &mut Vec<u8>;
    fn client(&mut self, client: u64);
    fn info(&mut self, info: u8);
    fn left_id(&mut self, id: Id);
    fn right_id(&mut self, id: Id);
    fn parent_info(&mut self, is_root: bool);
    fn string(&mut self, s: &str);
    fn len(&mut self, len: u32);
    fn reset_ds(&mut self) {}
    fn ds_clock(&mut self, clock: u32);
    fn ds_len(&mut self, len: u32);
    fn finish(self) -> Vec<u8>;
}

#[derive(Default)]
struct V1 {
    out: Vec<u8>,
}

impl Writer for V1 {
    fn rest(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }
    fn client(&mut self, client: u64) {
        var_uint(&mut self.out, client);
    }
    fn info(&mut self, info: u8) {
        self.out.push(info);
    }
    fn left_id(&mut self, id: Id) {
        var_uint(&mut self.out, id.client);
        var_uint(&mut self.out, u64::from(id.clock));
    }
    fn right_id(&mut self, id: Id) {
        self.left_id(id);
    }
    fn parent_info(&mut self, is_root: bool) {
        var_uint(&mut self.out, u64::from(is_root));
    }
    fn string(&mut self, s: &str) {
        var_bytes(&mut self.out, s.as_bytes());
    }
    fn len(&mut self, len: u32) {
        var_uint(&mut self.out, u64::from(len));
    }
    fn ds_clock(&mut self, clock: u32) {
        var_uint(&mut self.out, u64::from(clock));
    }
    fn ds_len(&mut self, len: u32) {
        var_uint(&mut self.out, u64::from(len));
    }
    fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[derive(Default)]
struct V2 {
    rest: Vec<u8>,
    key_clock: IntDiffOptRle,
    client: UintOptRle,
    left_clock: IntDiffOptRle,
    right_clock: IntDiffOptRle,
    info: Rle,
    strings: Strings,
    parent_info: Rle,
    type_ref: UintOptRle,
    len: UintOptRle,
    ds_current: u32,
}

impl Writer for V2 {
    fn rest(&mut self) -> &mut Vec<u8> {
        &mut self.rest
    }
    fn client(&mut self, client: u64) {
        self.client.write(client);
    }
    fn info(&mut self, info: u8) {
        self.info.write(info);
    }
    fn left_id(&mut self, id: Id) {
        self.client.write(id.client);
        self.left_clock.write(id.clock);
    }
    fn right_id(&mut self, id: Id) {
        self.client.write(id.client);
        self.right_clock.write(id.clock);
    }
    fn parent_info(&mut self, is_root: bool) {
        self.parent_info.write(u8::from(is_root));
    }
    fn string(&mut self, s: &str) {
        self.strings.write(s);
    }
    fn len(&mut self, len: u32) {
        self.len.write(u64::from(len));
    }
    fn reset_ds(&mut self) {
        self.ds_current = 0;
    }
    fn ds_clock(&mut self, clock: u32) {
        var_uint(&mut self.rest, u64::from(clock - self.ds_current));
        self.ds_current = clock;
    }
    fn ds_len(&mut self, len: u32) {
        var_uint(&mut self.rest, u64::from(len - 1));
        self.ds_current += len;
    }
    fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rest.len() + 64);
        // A feature flag yjs reserves, always 0.
        out.push(0);
        var_bytes(&mut out, &self.key_clock.finish());
        var_bytes(&mut out, &self.client.finish());
        var_bytes(&mut out, &self.left_clock.finish());
        var_bytes(&mut out, &self.right_clock.finish());
        var_bytes(&mut out, &self.info.out);
        var_bytes(&mut out, &self.strings.finish());
        var_bytes(&mut out, &self.parent_info.out);
        var_bytes(&mut out, &self.type_ref.finish());
        var_bytes(&mut out, &self.len.finish());
        out.extend_from_slice(&self.rest);
        out
    }
}

/// yjs `Item.write` / `GC.write`, from `offset` clock units into the struct. `keyed`: whether
/// the item knows its key (integrated items do; yjs' lazy reader, used to merge updates, leaves
/// it unset for an item placed by an origin, and the flag goes unwritten).
fn write_block<W: Writer>(w: &mut W, block: &Block<'_>, offset: u32, keyed: bool) {
    if block.is_gc() {
        w.info(0);
        w.len(block.len - offset);
        return;
    }
    let origin = if offset > 0 {
        Some(Id {
            client: block.id.client,
            clock: block.id.clock + offset - 1,
        })
    } else {
        block.origin
    };
    let info = block.content.info_ref()
        | if origin.is_some() { 0x80 } else { 0 }
        | if block.right_origin.is_some() {
            0x40
        } else {
            0
        }
        | if keyed { 0x20 } else { 0 };
    w.info(info);
    if let Some(origin) = origin {
        w.left_id(origin);
    }
    if let Some(right_origin) = block.right_origin {
        w.right_id(right_origin);
    }
    if origin.is_none() && block.right_origin.is_none() {
        w.parent_info(true);
        w.string(block.root);
        w.string(block.key);
    }
    match block.content {
        Content::Deleted => w.len(block.len - offset),
        Content::Any(bytes) => {
            w.len(block.len - offset);
            let skip = if offset > 0 {
                crate::codec::prescan::any_values_len(bytes, offset).unwrap_or(bytes.len())
            } else {
                0
            };
            w.rest().extend_from_slice(&bytes[skip..]);
        }
        Content::Binary(bytes) => var_bytes(w.rest(), bytes),
        Content::Gc => {}
    }
}

/// The structs of a store a peer at `since` lacks, and a delete set (yjs
/// `writeClientsStructs` + `writeDeleteSet`).
pub(crate) struct Selection<'x, 'a> {
    pub store: &'x Store<'a>,
    /// Per client, the clock from which to write (clients absent: from 0).
    pub since: &'x [(u64, u32)],
    pub delete_set: &'x [(u64, Vec<(u32, u32)>)],
}

fn write_update<W: Writer>(mut w: W, sel: &Selection<'_, '_>) -> W {
    let store = sel.store;
    let mut clients: Vec<(u64, u32)> = Vec::new();
    for (&client, list) in &store.clients {
        if list.is_empty() {
            continue;
        }
        let from = sel
            .since
            .iter()
            .find(|(c, _)| *c == client)
            .map_or(0, |&(_, clock)| clock);
        if store.state(client) > from {
            clients.push((client, from));
        }
    }
    clients.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
    var_uint(w.rest(), clients.len() as u64);
    for (client, from) in clients {
        let list = &store.clients[&client];
        let first_clock = store.block(list[0]).id.clock;
        let clock = from.max(first_clock);
        let start = store.position(Id { client, clock }).unwrap_or(0);
        var_uint(w.rest(), (list.len() - start) as u64);
        w.client(client);
        var_uint(w.rest(), u64::from(clock));
        for (n, &index) in list.as_slice()[start..].iter().enumerate() {
            let block = store.block(index);
            let offset = if n == 0 { clock - block.id.clock } else { 0 };
            write_block(&mut w, block, offset, true);
        }
    }
    write_delete_set(&mut w, sel.delete_set);
    w
}

/// yjs `writeDeleteSet`: clients from the highest id down.
fn write_delete_set<W: Writer>(w: &mut W, delete_set: &[(u64, Vec<(u32, u32)>)]) {
    let mut ds: Vec<&(u64, Vec<(u32, u32)>)> = delete_set.iter().collect();
    ds.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
    var_uint(w.rest(), ds.len() as u64);
    for (client, ranges) in ds {
        w.reset_ds();
        var_uint(w.rest(), *client);
        var_uint(w.rest(), ranges.len() as u64);
        for &(clock, len) in ranges {
            w.ds_clock(clock);
            w.ds_len(len);
        }
    }
}

/// Encodes a selection of a store in `format`.
pub(crate) fn encode(sel: &Selection<'_, '_>, format: UpdateFormat) -> Vec<u8> {
    match format {
        UpdateFormat::V1 => write_update(V1::default(), sel).finish(),
        UpdateFormat::V2 => write_update(V2::default(), sel).finish(),
    }
}

/// The store's delete set: every run of deleted structs per client (yjs
/// `createDeleteSetFromStructStore`).
pub(crate) fn store_delete_set(store: &Store<'_>) -> Vec<(u64, Vec<(u32, u32)>)> {
    let mut out = Vec::new();
    for (&client, list) in &store.clients {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let mut open = false;
        // Read off the client list and the store's deleted flags, not the arena.
        for (pos, &index) in list.into_iter().enumerate() {
            if !store.is_deleted(index) {
                open = false;
                continue;
            }
            let (clock, len) = (list.clock_at(pos), list.end_at(pos) - list.clock_at(pos));
            match ranges.last_mut() {
                Some(last) if open => last.1 += len,
                _ => ranges.push((clock, len)),
            }
            open = true;
        }
        if !ranges.is_empty() {
            out.push((client, ranges));
        }
    }
    out
}

/// A state vector in the standard encoding (yjs `encodeStateVector`). Readers accept any entry
/// order (yjs writes its map's insertion order, yrs its hash map's); the callers pass entries
/// ascending by client, so equal vectors are equal bytes.
pub(crate) fn state_vector_bytes(entries: &[(u64, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 6 + 1);
    var_uint(&mut out, entries.len() as u64);
    for &(client, clock) in entries {
        var_uint(&mut out, client);
        var_uint(&mut out, u64::from(clock));
    }
    out
}

/// Writes decoded structs back as they were read (see `row_crdt::reencode`).
pub(crate) fn encode_refs(refs: &UpdateRefs<'_>, format: UpdateFormat) -> Vec<u8> {
    fn write<W: Writer>(mut w: W, refs: &UpdateRefs<'_>) -> Vec<u8> {
        let mut sections: Vec<&(u64, Vec<Incoming<'_>>)> = refs
            .sections
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .collect();
        sections.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
        var_uint(w.rest(), sections.len() as u64);
        for (client, structs) in sections {
            var_uint(w.rest(), structs.len() as u64);
            w.client(*client);
            var_uint(
                w.rest(),
                u64::from(structs.first().map_or(0, |s| s.block.id.clock)),
            );
            for s in structs {
                if s.skip {
                    w.info(10);
                    var_uint(w.rest(), u64::from(s.block.len));
                    continue;
                }
                write_block(&mut w, &s.block, 0, s.key_flag);
            }
        }
        let mut by_client: Vec<(u64, Vec<(u32, u32)>)> = Vec::new();
        for &(client, clock, len) in &refs.deletes {
            match by_client.iter_mut().find(|(c, _)| *c == client) {
                Some((_, ranges)) => ranges.push((clock, len)),
                None => by_client.push((client, vec![(clock, len)])),
            }
        }
        write_delete_set(&mut w, &by_client);
        w.finish()
    }
    match format {
        UpdateFormat::V1 => write(V1::default(), refs),
        UpdateFormat::V2 => write(V2::default(), refs),
    }
}

/// Writes merged updates (see `merge.rs`): sections in merge order, skips as yjs writes them,
/// the delete set sorted and merged.
pub(crate) fn encode_merged(merged: &MergedRefs<'_>, format: UpdateFormat) -> Vec<u8> {
    fn write<W: Writer>(mut w: W, merged: &MergedRefs<'_>) -> Vec<u8> {
        var_uint(w.rest(), merged.sections.len() as u64);
        for (client, structs) in &merged.sections {
            var_uint(w.rest(), structs.len() as u64);
            w.client(*client);
            var_uint(
                w.rest(),
                u64::from(structs.first().map_or(0, |s| s.incoming.block.id.clock)),
            );
            for s in structs {
                if s.incoming.skip {
                    w.info(10);
                    var_uint(w.rest(), u64::from(s.incoming.block.len));
                    continue;
                }
                write_block(&mut w, &s.incoming.block, 0, s.incoming.key_flag);
            }
        }
        write_delete_set(&mut w, &sorted_delete_set(&merged.deletes));
        w.finish()
    }
    match format {
        UpdateFormat::V1 => write(V1::default(), merged),
        UpdateFormat::V2 => write(V2::default(), merged),
    }
}

/// (client, clock, len) ranges grouped by client, sorted, touching ranges merged (yjs
/// `sortAndMergeDeleteSet`).
pub(crate) fn sorted_delete_set(ranges: &[(u64, u32, u32)]) -> Vec<(u64, Vec<(u32, u32)>)> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u64, Vec<(u32, u32)>)> = Vec::new();
    for (client, clock, len) in sorted {
        if out.last().map_or(true, |(c, _)| *c != client) {
            out.push((client, Vec::new()));
        }
        let Some((_, list)) = out.last_mut() else {
            continue;
        };
        match list.last_mut() {
            Some(last) if last.0 + last.1 >= clock => last.1 = last.1.max(clock + len - last.0),
            _ => list.push((clock, len)),
        }
    }
    out
}
