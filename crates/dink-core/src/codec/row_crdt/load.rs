//! Loading stored state without integrating it struct by struct.
//!
//! Stored state is a whole document, so where each item sits can be read off its origins
//! instead of being found by the YATA rules one insertion at a time (which walks a struct per
//! overwritten value and dominates a hot row's cost). Every item a Yjs map writes has no right
//! origin; for such items the rules of `integrate.rs` put an item right after its origin, among
//! items with the same origin in ascending client order, each followed by everything placed
//! after it: the key's list is a pre-order walk of the tree an item's origin is the parent of.
//!
//! [`load_fast`] builds that tree; it returns `None` (the caller integrates instead, which
//! also gives the precise error) for anything outside what the walk covers: a right origin, two
//! items of one client with the same origin, an origin that is missing, a GC range or a cycle,
//! a delete range cutting a struct, a live item that is not its key's last. A test checks it
//! against integration on random concurrent histories (`differential.rs`).

use std::collections::BTreeMap;

use super::block::{Content, Id};
use super::decode::{Parent, UpdateRefs};
use super::store::Store;
use super::txn::merge_with_lefts;

/// A parent in the tree: an item (arena index) or the start of a key's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node<'a> {
    Item(u32),
    Start(&'a str, &'a str),
}

pub(crate) fn load_fast<'a>(refs: &UpdateRefs<'a>) -> Option<Store<'a>> {
    let mut store = Store::default();
    // The structs, per client in clock order from 0, without links.
    let mut keyed: Vec<bool> = Vec::new();
    for (client, structs) in &refs.sections {
        store.reserve(*client, structs.len());
        let mut clock = 0;
        for s in structs {
            let b = s.block;
            if s.skip || b.id.client != *client || b.id.clock != clock || b.right_origin.is_some() {
                return None;
            }
            clock = b.end();
            let mut block = b;
            if let Parent::Root(root, key) = s.parent {
                block.root = root;
                block.key = key;
            }
            block.deleted = matches!(b.content, Content::Deleted | Content::Gc);
            store.push(block);
            keyed.push(matches!(s.parent, Parent::Root(..)) || b.is_gc());
        }
    }
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
    for b in &mut store.blocks {
        b.left = None;
        b.right = None;
    }
    store.keys.clear();
    // Parent, then client: the order siblings take.
    let mut edges: Vec<(Node<'a>, u64, u32)> = Vec::with_capacity(store.blocks.len());
    for (i, b) in store.blocks.iter().enumerate() {
        if b.is_gc() {
            continue;
        }
        let node = match parent[i] {
            Some(p) => Node::Item(p),
            None => Node::Start(b.root, b.key),
        };
        edges.push((node, b.id.client, i as u32));
    }
    edges.sort_unstable();
    if edges
        .windows(2)
        .any(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1)
    {
        return None;
    }
    // Children of each item, as ranges of `edges`.
    let mut children: Vec<(u32, u32)> = vec![(0, 0); store.blocks.len()];
    let mut starts: BTreeMap<(&'a str, &'a str), (u32, u32)> = BTreeMap::new();
    let mut i = 0;
    while i < edges.len() {
        let parent = edges[i].0;
        let mut j = i;
        while j < edges.len() && edges[j].0 == parent {
            j += 1;
        }
        match parent {
            Node::Item(p) => children[p as usize] = (i as u32, j as u32),
            Node::Start(root, key) => {
                starts.insert((root, key), (i as u32, j as u32));
            }
        }
        i = j;
    }
    // Walk each key's tree in pre-order, linking the list.
    let mut stack: Vec<(u32, u32)> = Vec::new();
    for (&(root, key), &range) in &starts {
        let mut last: Option<u32> = None;
        stack.push(range);
        while let Some((from, to)) = stack.pop() {
            if from == to {
                continue;
            }
            stack.push((from + 1, to));
            let item = edges[from as usize].2;
            if let Some(l) = last {
                store.blocks[l as usize].right = Some(item);
                store.blocks[item as usize].left = Some(l);
            }
            last = Some(item);
            stack.push(children[item as usize]);
        }
        if let Some(l) = last {
            store.keys.insert((root, key), l);
        }
    }
    // Every item is in some list: no cycles left unvisited.
    let linked = store.keys.len()
        + edges
            .iter()
            .filter(|e| store.block(e.2).left.is_some())
            .count();
    if linked != edges.len() {
        return None;
    }
    // The delete set, in whole structs; deleted values lose their content (as the load's
    // garbage collection would do).
    for &(client, clock, len) in &refs.deletes {
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
    // Merge what can be one struct, as the load's cleanup would.
    let clients: Vec<u64> = store.clients.keys().copied().collect();
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
