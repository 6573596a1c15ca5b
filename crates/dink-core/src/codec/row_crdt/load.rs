//! Loading stored state without integrating it struct by struct.
//!
//! Stored state is a whole document, so where each item sits can be read off its origins
//! instead of being found by the YATA rules one insertion at a time (which walks a struct per
//! overwritten value and dominates a hot row's cost). Every item a Yjs map writes has no right
//! origin; for such items the rules of `integrate.rs` put an item right after its origin, among
//! items with the same origin in ascending client order, each followed by everything placed
//! after it: the key's list is a pre-order walk of the tree an item's origin is the parent of.
//!
//! [`StateSink`] builds that tree as the state is decoded; it returns `None` (the caller integrates instead, which
//! also gives the precise error) for anything outside what the walk covers: a right origin, two
//! items of one client with the same origin, an origin that is missing, a GC range or a cycle,
//! a delete range cutting a struct, a live item that is not its key's last. A test checks it
//! against integration on random concurrent histories (`differential.rs`).

use std::collections::BTreeMap;

use super::block::{Block, Content, Id, Link};
use super::decode::{content_of, row_key};
use super::store::{ClientList, Store};
use super::txn::{merge_with_lefts, mergeable};
use crate::codec::prescan::{Decoded, Sink};
use crate::codec::row_doc::SCAN_MAX_STRUCTS;

/// What the load keeps about each struct besides the struct itself, in compact arrays: a hot
/// row's arena is megabytes, and each pass over it costs a cache miss per struct, so the
/// passes that only need origins and flags read these instead (the arena is written by the
/// decode, by the walk, and read by the encoder: once each).
#[derive(Default)]
struct Facts {
    /// Per struct, its origin (meaningful when `ORIGIN` is set).
    origins: Vec<Id>,
    flags: Vec<u8>,
    /// Where each client's decoded structs begin in the arena: `(first index, client)`.
    sections: Vec<(u32, u64)>,
}

/// The struct names its root map and key itself.
const KEYED: u8 = 1;
const GC: u8 = 2;
const DELETED: u8 = 4;
/// The struct has an origin (`Facts::origins` holds it).
const ORIGIN: u8 = 8;

impl Facts {
    fn push(&mut self, block: &Block<'_>, keyed: bool) {
        let mut flags = 0;
        if keyed {
            flags |= KEYED;
        }
        if block.is_gc() {
            flags |= GC;
        }
        if block.deleted {
            flags |= DELETED;
        }
        if block.origin.is_some() {
            flags |= ORIGIN;
        }
        self.origins.push(block.origin.unwrap_or(Id {
            client: 0,
            clock: 0,
        }));
        self.flags.push(flags);
    }

    fn has(&self, index: u32, flag: u8) -> bool {
        self.flags[index as usize] & flag != 0
    }

    /// The origin of the struct at `index`, if it has one.
    fn origin(&self, index: usize) -> Option<Id> {
        (self.flags[index] & ORIGIN != 0).then(|| self.origins[index])
    }
}

/// Builds the store while stored state is decoded, with no list of decoded structs in between
/// (a hot row's state is thousands of structs): the structs, per client in clock order from 0,
/// without links. Anything the walk does not cover turns it off ([`StateSink::finish`] is then
/// `None`, and the caller integrates instead).
#[derive(Default)]
pub(crate) struct StateSink<'a> {
    store: Store<'a>,
    facts: Facts,
    deletes: Vec<(u64, u32, u32)>,
    /// Client sections not begun yet.
    sections_left: u32,
    client: u64,
    /// Where the current client's next struct must start.
    clock: u32,
    off: bool,
}

impl<'a> StateSink<'a> {
    /// The loaded store, or `None` when the state needs integrating.
    pub(crate) fn finish(self) -> Option<Store<'a>> {
        if self.off {
            return None;
        }
        link(self.store, self.facts, &self.deletes)
    }
}

impl<'a> Sink<'a> for StateSink<'a> {
    fn clients(&mut self, count: u32) {
        self.sections_left = count;
    }

    fn section(&mut self, client: u64, structs: u32) {
        self.client = client;
        self.clock = 0;
        self.sections_left = self.sections_left.saturating_sub(1);
        if self.off {
            return;
        }
        // Room for this section, and for as many again per section still to come (a hot
        // row's writers have about as many structs each): growing the arena section by
        // section would copy it several times. The guess stays within the scan's limit.
        let structs = structs as usize;
        let len = self.store.blocks.len();
        if self.store.blocks.capacity() - len < structs {
            let guess = structs.saturating_mul(1 + self.sections_left as usize);
            let room = guess.min((SCAN_MAX_STRUCTS as usize).saturating_sub(len));
            let room = room.max(structs);
            self.store.reserve_arena(room);
            self.facts.origins.reserve(room);
            self.facts.flags.reserve(room);
        }
        self.store.reserve_client(client, structs);
        self.facts.sections.push((len as u32, client));
    }

    fn block(&mut self, decoded: Decoded<'a>) {
        if self.off {
            return;
        }
        let (block, keyed) = match decoded {
            Decoded::Gc { id, len } => (Block::gc(id, len), false),
            Decoded::Skip { .. } => {
                self.off = true;
                return;
            }
            Decoded::Item(item) => {
                let (Some(content), Ok(named), None) =
                    (content_of(item.payload), row_key(&item), item.right_origin)
                else {
                    self.off = true;
                    return;
                };
                let (root, key) = named.unwrap_or(("", ""));
                let block = Block {
                    id: item.id,
                    len: item.len,
                    content,
                    origin: item.origin,
                    right_origin: None,
                    root,
                    key,
                    left: Link::NONE,
                    right: Link::NONE,
                    deleted: content == Content::Deleted,
                };
                (block, named.is_some())
            }
        };
        if block.id.client != self.client || block.id.clock != self.clock {
            self.off = true;
            return;
        }
        self.clock = block.end();
        self.facts.push(&block, keyed);
        self.store.push(block);
    }

    fn delete(&mut self, client: u64, clock: u32, len: u32) {
        self.deletes.push((client, clock, len));
    }
}

/// No parent (a key's first item, or a GC range).
const NONE: u32 = u32::MAX;

/// Each struct's parent in the tree: the struct ending at its origin. `Err(())` when an origin
/// is inside a struct (it must be cut first); `None` when an origin is missing or a GC range.
fn parents(store: &Store<'_>, facts: &Facts) -> Option<Result<Vec<u32>, ()>> {
    let mut parent = vec![NONE; facts.flags.len()];
    for (i, slot) in parent.iter_mut().enumerate() {
        let Some(origin) = facts.origin(i) else {
            continue;
        };
        let list = store.clients.get(&{ origin.client })?;
        let pos = list.holding(origin.clock)?;
        let at = list[pos];
        if facts.has(at, GC) {
            return None;
        }
        if list.end_at(pos) != origin.clock + 1 {
            return Some(Err(()));
        }
        *slot = at;
    }
    Some(Ok(parent))
}

/// The rest of the load: parents, the delete set, the lists in walk order, merges.
fn link<'a>(
    mut store: Store<'a>,
    mut facts: Facts,
    deletes: &[(u64, u32, u32)],
) -> Option<Store<'a>> {
    let decoded = store.blocks.len();
    let parent = match parents(&store, &facts)? {
        Ok(parent) => parent,
        Err(()) => {
            // An origin inside a struct (stored state rarely has one): cut every such struct
            // at the origin, note the right halves, and find the parents again.
            for i in 0..decoded {
                if let Some(origin) = facts.origin(i) {
                    store.clean_end(origin)?;
                }
            }
            for b in &store.blocks[decoded..] {
                facts.push(b, false);
            }
            for b in &mut store.blocks {
                b.left = Link::NONE;
                b.right = Link::NONE;
            }
            store.keys.clear();
            parents(&store, &facts)?.ok()?
        }
    };
    let items = store.blocks.len();
    // The delete set, in whole structs (read off the client lists, not the arena); deleted
    // values lose their content (as the load's garbage collection would do).
    for &(client, clock, len) in deletes {
        let end = clock.checked_add(len)?;
        let list = store.clients.get(&client)?;
        let first = list.holding(clock)?;
        if list.clock_at(first) != clock {
            return None;
        }
        let mut pos = first;
        while pos < list.len() && list.clock_at(pos) < end {
            if list.end_at(pos) > end {
                return None;
            }
            pos += 1;
        }
        let live: Vec<u32> = list.as_slice()[first..pos]
            .iter()
            .copied()
            .filter(|&index| !facts.has(index, DELETED))
            .collect();
        for index in live {
            facts.flags[index as usize] |= DELETED;
            store.mark_deleted(index);
            store.blocks[index as usize].content = Content::Deleted;
        }
    }
    // Children of each parent (an item, or the start of a key's list: a parent index past the
    // items), grouped by counting, each group then put in client order: the order siblings
    // take. Most items have one child, so this stays linear where a sort of all of them would
    // not.
    // `node` is each struct's parent, a key's first item taking its key's start instead.
    let mut starts: BTreeMap<(&'a str, &'a str), u32> = BTreeMap::new();
    let mut node = parent;
    for (i, slot) in node.iter_mut().enumerate() {
        if *slot != NONE || facts.flags[i] & GC != 0 {
            continue;
        }
        // A key's first item names its key (an item without an origin always does).
        if facts.flags[i] & KEYED == 0 {
            return None;
        }
        let b = &store.blocks[i];
        let next = (items + starts.len()) as u32;
        *slot = *starts.entry((b.root, b.key)).or_insert(next);
    }
    let parents = items + starts.len();
    let mut offsets = vec![0u32; parents + 1];
    for &p in node.iter().filter(|&&p| p != NONE) {
        offsets[p as usize + 1] += 1;
    }
    for k in 0..parents {
        offsets[k + 1] += offsets[k];
    }
    // Siblings are ordered by client: a decoded struct's client is its section's (no read of
    // the arena); a half of a cut reads its own.
    let mut kids: Vec<(u64, u32)> = vec![(0, 0); offsets[parents] as usize];
    let mut fill = offsets.clone();
    let mut place = |i: usize, client: u64| {
        let p = node[i];
        if p != NONE {
            kids[fill[p as usize] as usize] = (client, i as u32);
            fill[p as usize] += 1;
        }
    };
    for (s, &(first, client)) in facts.sections.iter().enumerate() {
        let end = facts
            .sections
            .get(s + 1)
            .map_or(decoded, |&(next, _)| next as usize);
        for i in first as usize..end {
            place(i, client);
        }
    }
    for i in decoded..items {
        place(i, store.blocks[i].id.client);
    }
    for k in 0..parents {
        let group = &mut kids[offsets[k] as usize..offsets[k + 1] as usize];
        if group.len() > 1 {
            group.sort_unstable();
            // Two items of one client with the same origin: the walk cannot order them.
            if group.windows(2).any(|w| w[0].0 == w[1].0) {
                return None;
            }
        }
    }
    let children = |p: u32| (offsets[p as usize], offsets[p as usize + 1]);
    // Walk each key's tree in pre-order, linking the list and giving every item its key (an
    // item placed by its origin names none). Only a key's last item may be live: integration
    // deletes the others.
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut visited = 0usize;
    for (&(root, key), &start) in &starts {
        let mut last: Option<u32> = None;
        stack.push(children(start));
        while let Some((from, to)) = stack.pop() {
            if from == to {
                continue;
            }
            stack.push((from + 1, to));
            let item = kids[from as usize].1;
            visited += 1;
            if let Some(l) = last {
                if !facts.has(l, DELETED) {
                    return None;
                }
                store.blocks[l as usize].right = Some(item).into();
            }
            let b = &mut store.blocks[item as usize];
            b.root = root;
            b.key = key;
            b.left = last.into();
            b.right = Link::NONE;
            last = Some(item);
            stack.push(children(item));
        }
        if let Some(l) = last {
            store.keys.insert((root, key), l);
        }
    }
    // Every item is in some list: no cycles left unvisited.
    if visited != kids.len() {
        return None;
    }
    store.split_off.clear();
    // Merge what can be one struct, as the load's cleanup would. State the engine stored is
    // merged already, so neighbours are checked first, on the compact facts: two GC ranges,
    // or two deleted items the right one of which has the left one's last unit as its origin.
    let candidate = |list: &ClientList, client: u64, pos: usize| {
        let (l, r) = (list[pos - 1] as usize, list[pos] as usize);
        let (left, right) = (facts.flags[l], facts.flags[r]);
        if (left | right) & GC != 0 {
            return left & right & GC != 0;
        }
        left & right & DELETED != 0
            && right & ORIGIN != 0
            && facts.origins[r]
                == Id {
                    client,
                    clock: list.clock_at(pos) - 1,
                }
    };
    let clients: Vec<u64> = store
        .clients
        .iter()
        .filter(|&(&client, list)| {
            (1..list.len()).any(|pos| {
                candidate(list, client, pos) && mergeable(&store, list[pos - 1], list[pos])
            })
        })
        .map(|(&client, _)| client)
        .collect();
    for client in clients {
        let mut i = store.clients[&client].len().saturating_sub(1);
        while i >= 1 {
            let merged = merge_with_lefts(&mut store, client, i);
            match i.checked_sub(1 + merged) {
                Some(next) => i = next,
                None => break,
            }
        }
    }
    Some(store)
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, Map, Options, ReadTxn, StateVector, Transact, Update};

    use super::StateSink;
    use crate::codec::row_crdt::decode::decode_into;
    use crate::codec::row_crdt::row::read_row;
    use crate::codec::row_crdt::state::{encode_state, load};
    use crate::codec::UpdateFormat;
    use crate::limits::Limits;
    use crate::value::Value;

    fn doc(client: u64) -> Doc {
        Doc::with_options(Options::with_client_id(yrs::ClientID::new(client)))
    }

    fn sync(from: &Doc, to: &Doc) {
        let update = from
            .transact()
            .encode_state_as_update_v1(&to.transact().state_vector());
        let update = Update::decode_v1(&update).expect("yrs decodes its own update");
        to.transact_mut()
            .apply_update(update)
            .expect("yrs applies it");
    }

    /// Stored state where an origin points inside a struct: A's two overwritten values of
    /// `title` merged into one struct, and B's value placed after the first of them. The walk
    /// cuts the struct (as integration's `getItemCleanEnd` would) instead of integrating.
    #[test]
    fn an_origin_inside_a_struct_is_cut_and_walked() {
        let (a, b) = (doc(1), doc(2));
        {
            let fields = a.get_or_insert_map("fields");
            let mut txn = a.transact_mut();
            fields.insert(&mut txn, "id", "r");
            fields.insert(&mut txn, "title", "a1");
        }
        sync(&a, &b);
        {
            let fields = a.get_or_insert_map("fields");
            fields.insert(&mut a.transact_mut(), "title", "a2");
        }
        {
            let fields = b.get_or_insert_map("fields");
            fields.insert(&mut b.transact_mut(), "title", "b");
        }
        sync(&b, &a);
        let state = a
            .transact()
            .encode_state_as_update_v2(&StateVector::default());
        // The premise: A's overwritten values are one struct of two units, and B's item has
        // the first of them as its origin.
        let decoded = Update::decode_v2(&state).expect("yrs decodes its state");
        let text = format!("{decoded:?}");
        assert!(text.contains("<1#1>, len: 2"), "{text}");
        assert!(text.contains("<2#0>, len: 1, origin-l: <1#1>"), "{text}");

        let mut sink = StateSink::default();
        decode_into(&state, UpdateFormat::V2, &mut sink).expect("the state decodes");
        let store = sink.finish().expect("the walk covers a cut");
        // Cut and merged again: the same structs as the state (the cfg(test) check inside
        // `load` also compares the walk with integration, struct by struct and key by key).
        assert_eq!(encode_state(&store), state);
        let mut scratch = Vec::new();
        let loaded = load(&state, &mut scratch).expect("the state loads");
        let row = read_row(&loaded, &Limits::default()).expect("a row");
        assert_eq!(row.fields.get("title"), Some(&Value::String("b".into())));
    }
}
