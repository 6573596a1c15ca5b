//! Applying an update to the store: the order structs are integrated in (yjs
//! `integrateStructs`), where each item goes among concurrent writes to its key (yjs
//! `Item.integrate`, the YATA rules), and the update's delete set.
//!
//! Every rule here follows yjs 13.6 line by line, because the bytes the engine stores and
//! forwards must be the bytes yjs (and yrs) would produce; `differential.rs` checks that
//! against yrs on random concurrent histories.

use std::collections::BTreeMap;

use super::block::{Block, Content, Id};
use super::decode::{Incoming, UpdateRefs};
use super::store::Store;
use super::txn::Txn;

/// Why an update could not be applied in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unapplied {
    /// Structs or deletes depend on clocks the store lacks; `units` counts the struct clock
    /// units left unintegrated (yrs `pending`: per client, first unintegrated clock to the
    /// end of its run); deletes of unknown clocks alone leave it 0.
    Missing { units: u64 },
    /// A reference no Yjs encoder writes (an item whose origin is its own future).
    Invalid(&'static str),
}

/// One client's structs in the update and how far integration got.
struct Refs<'a> {
    structs: Vec<Incoming<'a>>,
    next: usize,
}

/// Integrates `update` into the transaction's store, then applies its delete set.
pub(crate) fn apply<'a>(txn: &mut Txn<'_, 'a>, update: UpdateRefs<'a>) -> Result<(), Unapplied> {
    // Inserted one by one: collecting into a map would add a stable sort to the module.
    let mut refs: BTreeMap<u64, Refs<'a>> = BTreeMap::new();
    for (client, structs) in update.sections {
        refs.insert(client, Refs { structs, next: 0 });
    }
    let units = integrate_structs(txn, &mut refs)?;
    let unknown_deletes = apply_delete_set(txn, &update.deletes)?;
    if units > 0 || unknown_deletes > 0 {
        return Err(Unapplied::Missing { units });
    }
    Ok(())
}

/// yjs `integrateStructs`: clients from the highest id down; a struct whose dependencies
/// are in the update goes on a stack while they are integrated first. Returns the clock
/// units left unintegrated (0 when everything went in).
fn integrate_structs<'a>(
    txn: &mut Txn<'_, 'a>,
    refs: &mut BTreeMap<u64, Refs<'a>>,
) -> Result<u64, Unapplied> {
    let mut targets: Vec<u64> = refs.keys().copied().collect();
    let mut stack: Vec<Incoming<'a>> = Vec::new();
    // Per client: the clock from which its structs stay unintegrated, and the end of its run.
    let mut rest: BTreeMap<u64, (u32, u32)> = BTreeMap::new();

    let next_target = |targets: &mut Vec<u64>, refs: &BTreeMap<u64, Refs<'a>>| loop {
        let &client = targets.last()?;
        match refs.get(&client) {
            Some(r) if r.next < r.structs.len() => return Some(client),
            _ => {
                targets.pop();
            }
        }
    };
    let take = |refs: &mut BTreeMap<u64, Refs<'a>>, client: u64| {
        let r = refs.get_mut(&client)?;
        let s = r.structs.get(r.next).copied()?;
        r.next += 1;
        Some(s)
    };

    let Some(mut current) = next_target(&mut targets, refs) else {
        return Ok(0);
    };
    let Some(mut head) = take(refs, current) else {
        return Ok(0);
    };
    loop {
        if !head.skip {
            let local = txn.store.state(head.block.id.client);
            let client = head.block.id.client;
            if head.block.id.clock > local {
                // A struct of the same client is missing: a dead wall.
                stack.push(head);
                park(&mut stack, refs, &mut targets, &mut rest);
            } else if head.block.end() <= local {
                // Already integrated: nothing to add. (yjs asks for its dependencies first and
                // can park a known struct whose origin it lacks; yrs, like this, skips it.)
            } else {
                match missing(txn.store, &head) {
                    Some(dependency) => {
                        stack.push(head);
                        match take(refs, dependency) {
                            Some(next) => {
                                head = next;
                                continue;
                            }
                            None => park(&mut stack, refs, &mut targets, &mut rest),
                        }
                    }
                    None => {
                        integrate(txn, head, local - head.block.id.clock)?;
                        debug_assert!(txn.store.state(client) >= local);
                    }
                }
            }
        }
        head = if let Some(popped) = stack.pop() {
            popped
        } else if let Some(next) = take(refs, current) {
            next
        } else {
            match next_target(&mut targets, refs) {
                Some(client) => {
                    current = client;
                    match take(refs, client) {
                        Some(next) => next,
                        None => break,
                    }
                }
                None => break,
            }
        };
    }
    Ok(rest
        .values()
        .map(|&(from, to)| u64::from(to.saturating_sub(from)))
        .sum())
}

/// yjs `addStackToRestSS`: every client on the stack keeps its remaining structs (from the one
/// that could not go in) unintegrated, and is not visited again.
fn park<'a>(
    stack: &mut Vec<Incoming<'a>>,
    refs: &mut BTreeMap<u64, Refs<'a>>,
    targets: &mut Vec<u64>,
    rest: &mut BTreeMap<u64, (u32, u32)>,
) {
    for item in stack.drain(..) {
        let client = item.block.id.client;
        let (from, to) = match refs.remove(&client) {
            Some(r) => {
                let remaining = &r.structs[r.next.saturating_sub(1)..];
                let from = remaining
                    .first()
                    .map_or(item.block.id.clock, |s| s.block.id.clock);
                let to = remaining.last().map_or(item.block.end(), |s| s.block.end());
                (from, to)
            }
            None => (item.block.id.clock, item.block.end()),
        };
        let entry = rest.entry(client).or_insert((from, to));
        entry.0 = entry.0.min(from);
        entry.1 = entry.1.max(to);
        targets.retain(|&c| c != client);
    }
}

/// yjs `Item.getMissing`, first half: the client of a dependency (origin, right origin) the
/// store does not have yet. As in yrs, an origin of the item's own client counts too (yjs
/// skips those and throws when one names a clock its client has not written).
fn missing(store: &Store<'_>, incoming: &Incoming<'_>) -> Option<u64> {
    let lacks = |id: Option<Id>| {
        id.filter(|id| id.clock >= store.state(id.client))
            .map(|id| id.client)
    };
    lacks(incoming.block.origin).or_else(|| lacks(incoming.block.right_origin))
}

/// Integrates one struct from `offset` on (the part the store does not have yet).
fn integrate<'a>(
    txn: &mut Txn<'_, 'a>,
    incoming: Incoming<'a>,
    offset: u32,
) -> Result<(), Unapplied> {
    let mut block = incoming.block;
    if block.is_gc() {
        block.id.clock += offset;
        block.len -= offset;
        txn.store.push(block);
        return Ok(());
    }
    let invalid = Unapplied::Invalid("an item refers to a struct its client has not written");
    // Resolve the neighbours the item names (the second half of yjs `getMissing`).
    let mut left = match block.origin {
        Some(origin) => {
            let index = txn.store.clean_end(origin).ok_or(invalid.clone())?;
            block.origin = Some(txn.store.block(index).last_id());
            Some(index)
        }
        None => None,
    };
    let right = match block.right_origin {
        Some(right_origin) => {
            let index = txn.store.clean_start(right_origin).ok_or(invalid.clone())?;
            block.right_origin = Some(txn.store.block(index).id);
            Some(index)
        }
        None => None,
    };
    let neighbour_gc = [left, right]
        .into_iter()
        .flatten()
        .any(|i| txn.store.block(i).is_gc());
    let placed = if neighbour_gc {
        None
    } else {
        if incoming.named {
            Some((block.root, block.key))
        } else {
            left.or(right).map(|i| {
                let n = txn.store.block(i);
                (n.root, n.key)
            })
        }
    };
    if offset > 0 {
        block.id.clock += offset;
        let before = Id {
            client: block.id.client,
            clock: block.id.clock - 1,
        };
        let index = txn.store.clean_end(before).ok_or(invalid.clone())?;
        left = Some(index);
        block.origin = Some(txn.store.block(index).last_id());
        block.content = slice_content(block.content, offset).ok_or(invalid.clone())?;
        block.len -= offset;
    }
    let Some((root, key)) = placed else {
        // No parent to go into (a neighbour was garbage collected): the item is kept as a GC
        // range, as yjs does.
        txn.store.push(Block::gc(block.id, block.len));
        return Ok(());
    };
    block.root = root;
    block.key = key;
    let store = &mut *txn.store;

    // Find the left neighbour among concurrent inserts at the same place (YATA).
    let needs_resolution = match left {
        None => right.map_or(true, |r| store.block(r).left.get().is_some()),
        Some(l) => store.block(l).right.get() != right,
    };
    if needs_resolution {
        let mut o = match left {
            Some(l) => store.block(l).right.get(),
            None => store.first_of_key(root, key),
        };
        let mut conflicting: Vec<u32> = Vec::new();
        let mut before_origin: Vec<u32> = Vec::new();
        while let Some(oi) = o {
            if Some(oi) == right {
                break;
            }
            let other = *store.block(oi);
            before_origin.push(oi);
            conflicting.push(oi);
            if block.origin == other.origin {
                if other.id.client < block.id.client {
                    left = Some(oi);
                    conflicting.clear();
                } else if block.right_origin == other.right_origin {
                    break;
                }
            } else if let Some(origin_of_other) = other.origin.and_then(|id| store.find(id)) {
                if before_origin.contains(&origin_of_other) {
                    if !conflicting.contains(&origin_of_other) {
                        left = Some(oi);
                        conflicting.clear();
                    }
                } else {
                    break;
                }
            } else {
                break;
            }
            o = other.right.get();
        }
    }

    // Link it in.
    let right = match left {
        Some(l) => store.block(l).right.get(),
        None => store.first_of_key(root, key),
    };
    block.left = left.into();
    block.right = right.into();
    let index = store.blocks.len() as u32;
    if let Some(l) = left {
        store.block_mut(l).right = Some(index).into();
    }
    match right {
        Some(r) => store.block_mut(r).left = Some(index).into(),
        None => {
            store.keys.insert((root, key), index);
        }
    }
    let deleted_content = block.content == Content::Deleted;
    store.push(block);
    if right.is_none() {
        if let Some(l) = left {
            // The new item is the key's value now: the one before it is overwritten.
            txn.delete(l);
        }
    }
    if deleted_content {
        // yjs `ContentDeleted.integrate`: the item arrives deleted.
        txn.delete(index);
    }
    if right.is_some() {
        // Not the key's last item: a concurrent write won.
        txn.delete(index);
    }
    Ok(())
}

/// The content after the first `offset` units.
fn slice_content(content: Content<'_>, offset: u32) -> Option<Content<'_>> {
    match content {
        Content::Any(bytes) => {
            let at = crate::codec::prescan::any_values_len(bytes, offset)?;
            Some(Content::Any(&bytes[at..]))
        }
        Content::Deleted | Content::Gc => Some(content),
        Content::Binary(_) => None,
    }
}

/// yjs `readAndApplyDeleteSet`: deletes what the store has; returns the clock units it lacks.
fn apply_delete_set(txn: &mut Txn<'_, '_>, deletes: &[(u64, u32, u32)]) -> Result<u64, Unapplied> {
    let mut unapplied = 0u64;
    for &(client, clock, len) in deletes {
        let end = clock + len;
        let state = txn.store.state(client);
        if clock >= state {
            unapplied += u64::from(len);
            continue;
        }
        if state < end {
            unapplied += u64::from(end - state);
        }
        let Some(mut pos) = txn.store.position(Id { client, clock }) else {
            continue;
        };
        let first = txn.store.clients[&client][pos];
        let block = *txn.store.block(first);
        if !block.deleted && block.id.clock < clock {
            txn.store
                .split(first, clock - block.id.clock)
                .ok_or(Unapplied::Invalid(
                    "a delete splits a value that cannot be split",
                ))?;
            pos += 1;
        }
        loop {
            // The next live struct in the range. What is deleted already is passed over on the
            // client list and the store's deleted flags, without reading the arena: an edge's
            // update carries its whole delete set, which in a hot row covers thousands of
            // structs.
            let live = {
                let Some(list) = txn.store.clients.get(&client) else {
                    break;
                };
                let mut live = None;
                while let Some(&index) = list.get(pos) {
                    let block_clock = list.clock_at(pos);
                    if block_clock >= end {
                        break;
                    }
                    pos += 1;
                    if !txn.store.is_deleted(index) {
                        live = Some((index, block_clock, list.end_at(pos - 1)));
                        break;
                    }
                }
                live
            };
            let Some((index, block_clock, block_end)) = live else {
                break;
            };
            if end < block_end {
                txn.store
                    .split(index, end - block_clock)
                    .ok_or(Unapplied::Invalid(
                        "a delete splits a value that cannot be split",
                    ))?;
            }
            txn.delete(index);
        }
    }
    Ok(unapplied)
}
