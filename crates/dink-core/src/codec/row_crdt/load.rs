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

use super::block::{Block, Content, Id};
use super::decode::{content_of, row_key};
use super::store::Store;
use super::txn::{merge_with_lefts, mergeable};
use crate::codec::prescan::{Decoded, Sink};

/// Builds the store while stored state is decoded, with no list of decoded structs in between
/// (a hot row's state is thousands of structs): the structs, per client in clock order from 0,
/// without links. Anything the walk does not cover turns it off ([`StateSink::finish`] is then
/// `None`, and the caller integrates instead).
#[derive(Default)]
pub(crate) struct StateSink<'a> {
    store: Store<'a>,
    /// Per struct: whether it names its key itself (or is a GC range, which has none).
    keyed: Vec<bool>,
    deletes: Vec<(u64, u32, u32)>,
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
        link(self.store, self.keyed, &self.deletes)
    }
}

impl<'a> Sink<'a> for StateSink<'a> {
    fn section(&mut self, client: u64, structs: u32) {
        self.client = client;
        self.clock = 0;
        if !self.off {
            self.store.reserve(client, structs as usize);
        }
    }

    fn block(&mut self, decoded: Decoded<'a>) {
        if self.off {
            return;
        }
        let (block, keyed) = match decoded {
            Decoded::Gc { id, len } => (Block::gc(id, len), true),
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
                    left: None,
                    right: None,
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
        self.keyed.push(keyed);
        self.store.push(block);
    }

    fn delete(&mut self, client: u64, clock: u32, len: u32) {
        self.deletes.push((client, clock, len));
    }
}

/// The rest of the load: parents, keys, the lists in walk order, the delete set, merges.
fn link<'a>(
    mut store: Store<'a>,
    mut keyed: Vec<bool>,
    deletes: &[(u64, u32, u32)],
) -> Option<Store<'a>> {
    // Each item's parent in the tree: the struct ending at its origin, cut there if the origin
    // is inside it. A cut can shorten a parent found before, so after any cut they are found
    // again (stored state rarely needs one).
    let mut parent: Vec<Option<u32>> = vec![None; store.blocks.len()];
    let mut cut = false;
    for (i, slot) in parent.iter_mut().enumerate() {
        let Some(origin) = store.blocks[i].origin else {
            continue;
        };
        let at = store.find(origin)?;
        let found = store.block(at);
        if found.is_gc() {
            return None;
        }
        if found.last_id() != origin {
            store.clean_end(origin)?;
            cut = true;
        }
        *slot = Some(at);
    }
    keyed.resize(store.blocks.len(), false);
    parent.resize(store.blocks.len(), None);
    if cut {
        for (b, slot) in store.blocks.iter().zip(parent.iter_mut()) {
            if let Some(origin) = b.origin.filter(|_| !b.is_gc()) {
                *slot = Some(store.find(origin)?);
            }
        }
    }
    // Halves of a cut keep their struct's key; everything else takes its origin's, found by
    // walking up parents (a path longer than the store is a cycle).
    let mut path = Vec::new();
    for i in 0..store.blocks.len() {
        let mut at = i;
        while !keyed[at] {
            if path.len() > store.blocks.len() {
                return None;
            }
            path.push(at);
            at = parent[at]? as usize;
        }
        let (root, key) = (store.blocks[at].root, store.blocks[at].key);
        for j in path.drain(..) {
            store.blocks[j].root = root;
            store.blocks[j].key = key;
            keyed[j] = true;
        }
    }
    // Cuts linked halves and noted them for merging; the lists are built from scratch here.
    // (Decoded structs come unlinked: without a cut there is nothing to clear.)
    if cut {
        for b in &mut store.blocks {
            b.left = None;
            b.right = None;
        }
    }
    store.keys.clear();
    // Children of each parent (an item, or the start of a key's list: a parent index past the
    // items), grouped by counting, each group then put in client order: the order siblings
    // take. Most items have one child, so this stays linear where a sort of all of them would
    // not.
    let items = store.blocks.len();
    let mut starts: BTreeMap<(&'a str, &'a str), u32> = BTreeMap::new();
    let mut node = vec![u32::MAX; items];
    for (i, b) in store.blocks.iter().enumerate() {
        if b.is_gc() {
            continue;
        }
        node[i] = match parent[i] {
            Some(p) => p,
            None => {
                let next = (items + starts.len()) as u32;
                *starts.entry((b.root, b.key)).or_insert(next)
            }
        };
    }
    let parents = items + starts.len();
    let mut offsets = vec![0u32; parents + 1];
    for &p in node.iter().filter(|&&p| p != u32::MAX) {
        offsets[p as usize + 1] += 1;
    }
    for k in 0..parents {
        offsets[k + 1] += offsets[k];
    }
    let mut kids: Vec<(u64, u32)> = vec![(0, 0); offsets[parents] as usize];
    let mut fill = offsets.clone();
    for (i, &p) in node.iter().enumerate() {
        if p != u32::MAX {
            kids[fill[p as usize] as usize] = (store.blocks[i].id.client, i as u32);
            fill[p as usize] += 1;
        }
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
    // Walk each key's tree in pre-order, linking the list.
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
                store.blocks[l as usize].right = Some(item);
                store.blocks[item as usize].left = Some(l);
            }
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
    // The delete set, in whole structs; deleted values lose their content (as the load's
    // garbage collection would do).
    for &(client, clock, len) in deletes {
        let end = clock.checked_add(len)?;
        let mut pos = store.position(Id { client, clock })?;
        let list = store.clients.get(&client)?;
        if store.block(list[pos]).id.clock != clock {
            return None;
        }
        while let Some(&index) = list.get(pos) {
            let b = store.block(index);
            if b.id.clock >= end {
                break;
            }
            if b.end() > end {
                return None;
            }
            pos += 1;
        }
        let indices: Vec<u32> =
            list.as_slice()[store.position(Id { client, clock })?..pos].to_vec();
        for index in indices {
            let b = store.block_mut(index);
            b.deleted = true;
            if !b.is_gc() {
                b.content = Content::Deleted;
            }
        }
    }
    // Only a key's last item may be live (integration deletes the others).
    if store.blocks.iter().any(|b| !b.deleted && b.right.is_some()) {
        return None;
    }
    store.split_off.clear();
    // Merge what can be one struct, as the load's cleanup would (state the engine stored is
    // merged already, so the neighbours are checked first and most clients need nothing).
    let clients: Vec<u64> = store
        .clients
        .iter()
        .filter(|(_, list)| {
            list.as_slice()
                .windows(2)
                .any(|pair| mergeable(&store, pair[0], pair[1]))
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
