//! A transaction on the store: what it deleted, and its cleanup (yjs
//! `cleanupTransactions`): overwritten values lose their content (garbage collection) and
//! neighbouring structs that can be one struct are merged, which is what keeps a row's state
//! from growing with every edit.

use std::collections::BTreeMap;

use super::block::{Content, Id};
use super::store::Store;

pub(crate) struct Txn<'s, 'a> {
    pub store: &'s mut Store<'a>,
    /// Every client's next clock when the transaction began.
    pub before: BTreeMap<u64, u32>,
    /// What the transaction deleted, as (client, clock, length), in the order it happened.
    deleted: Vec<(u64, u32, u32)>,
}

impl<'s, 'a> Txn<'s, 'a> {
    pub(crate) fn new(store: &'s mut Store<'a>) -> Self {
        let before = store.state_vector_map();
        Txn {
            store,
            before,
            deleted: Vec::new(),
        }
    }

    /// Marks the struct at `index` deleted (yjs `Item.delete`); a no-op when it already is.
    pub(crate) fn delete(&mut self, index: u32) {
        if self.store.mark_deleted(index) {
            let block = self.store.block(index);
            self.deleted
                .push((block.id.client, block.id.clock, block.len));
        }
    }

    /// Whether the transaction added structs or deleted anything.
    pub(crate) fn changed(&self) -> bool {
        !self.deleted.is_empty()
            || self
                .store
                .state_vector()
                .into_iter()
                .any(|(client, clock)| self.before.get(&client).copied().unwrap_or(0) != clock)
    }

    /// The transaction's delete set, sorted by client (ascending) and clock, with touching
    /// ranges merged (yjs `sortAndMergeDeleteSet`).
    pub(crate) fn delete_set(&self) -> Vec<(u64, Vec<(u32, u32)>)> {
        super::encode::sorted_delete_set(&self.deleted)
    }

    /// What the transaction inserted and deleted, as a v2 update (yjs
    /// `writeUpdateMessageFromTransaction`): what is stored in the delta log and forwarded. Taken
    /// before [`Txn::commit`], so values the transaction overwrote still carry their content.
    pub(crate) fn update_v2(&self) -> Vec<u8> {
        let since: Vec<(u64, u32)> = self.before.iter().map(|(&c, &k)| (c, k)).collect();
        let delete_set = self.delete_set();
        super::encode::encode(
            &super::encode::Selection {
                store: self.store,
                since: &since,
                delete_set: &delete_set,
            },
            crate::codec::UpdateFormat::V2,
        )
    }

    /// Ends the transaction (yjs `cleanupTransactions`): garbage-collects what it deleted, then
    /// merges structs around its deletes, its new structs, and the halves of its splits.
    pub(crate) fn commit(self) {
        let ds = self.delete_set();
        let store = self.store;
        // yjs `tryGcDeleteSet`: a deleted item keeps its place (its neighbours still refer to
        // it) but not its value.
        for (client, ranges) in &ds {
            for &(clock, len) in ranges.iter().rev() {
                let end = clock + len;
                let Some(mut pos) = store.position(Id {
                    client: *client,
                    clock,
                }) else {
                    continue;
                };
                while let Some(&index) = store.clients[client].get(pos) {
                    let block = store.block_mut(index);
                    if block.id.clock >= end {
                        break;
                    }
                    if block.deleted && !block.is_gc() {
                        block.content = Content::Deleted;
                    }
                    pos += 1;
                }
            }
        }
        // yjs `tryMergeDeleteSet`.
        for (client, ranges) in &ds {
            for &(clock, len) in ranges.iter().rev() {
                let Some(list_len) = store.clients.get(client).map(|l| l.len()) else {
                    continue;
                };
                let Some(last) = store.position(Id {
                    client: *client,
                    clock: clock + len - 1,
                }) else {
                    continue;
                };
                let mut si = (list_len - 1).min(last + 1);
                while si > 0 && store.block(store.clients[client][si]).id.clock >= clock {
                    let merged = merge_with_lefts(store, *client, si);
                    si = si.saturating_sub(1 + merged);
                }
            }
        }
        // New structs of every client that wrote.
        let after = store.state_vector();
        for (client, clock) in after {
            let before = self.before.get(&client).copied().unwrap_or(0);
            if before == clock {
                continue;
            }
            let first = store
                .position(Id {
                    client,
                    clock: before,
                })
                .unwrap_or(0)
                .max(1);
            let mut i = store.clients[&client].len() - 1;
            while i >= first {
                let merged = merge_with_lefts(store, client, i);
                match i.checked_sub(1 + merged) {
                    Some(next) => i = next,
                    None => break,
                }
            }
        }
        // Right halves of splits, newest first.
        let split_off: Vec<Id> = std::mem::take(&mut store.split_off);
        for id in split_off.into_iter().rev() {
            let Some(pos) = store.position(id) else {
                continue;
            };
            let len = store.clients[&{ id.client }].len();
            if pos + 1 < len && merge_with_lefts(store, id.client, pos + 1) > 1 {
                continue;
            }
            if pos > 0 {
                merge_with_lefts(store, id.client, pos);
            }
        }
    }
}

/// yjs `tryToMergeWithLefts`: merges the struct at `pos` of `client`'s list into the ones
/// before it while they merge; returns how many structs were absorbed.
pub(crate) fn merge_with_lefts(store: &mut Store<'_>, client: u64, pos: usize) -> usize {
    let mut i = pos;
    while i > 0 {
        let list = &store.clients[&client];
        let (left, right) = (list[i - 1], list[i]);
        if !try_merge(store, left, right) {
            break;
        }
        i -= 1;
    }
    let merged = pos - i;
    if merged > 0 {
        if let Some(list) = store.clients.get_mut(&client) {
            list.remove(pos + 1 - merged..pos + 1);
        }
    }
    merged
}

/// Whether `right` can be appended to `left` as one struct (yjs `mergeWith`'s conditions).
pub(crate) fn mergeable(store: &Store<'_>, left_index: u32, right_index: u32) -> bool {
    let (left, right) = (store.block(left_index), store.block(right_index));
    if left.deleted != right.deleted || left.is_gc() != right.is_gc() {
        return false;
    }
    if left.is_gc() {
        return true;
    }
    // Only deleted items merge here. yjs would also merge two live `ContentAny` items, but in
    // a map only a key's last item is live, and `left.right == right` below means `left` is
    // not last; binary content never merges.
    (left.content, right.content) == (Content::Deleted, Content::Deleted)
        && right.origin == Some(left.last_id())
        && left.right.get() == Some(right_index)
        && left.right_origin == right.right_origin
        && left.id.client == right.id.client
        && left.end() == right.id.clock
}

/// yjs `mergeWith` (Item and GC): extends `left` by `right` when they can be one struct.
fn try_merge(store: &mut Store<'_>, left_index: u32, right_index: u32) -> bool {
    if !mergeable(store, left_index, right_index) {
        return false;
    }
    let right = *store.block(right_index);
    let block = store.block_mut(left_index);
    block.len += right.len;
    if block.is_gc() {
        return true;
    }
    block.right = right.right;
    let key = (block.root, block.key);
    match right.right.get() {
        Some(next) => store.block_mut(next).left = Some(left_index).into(),
        None => {
            if store.keys.get(&key) == Some(&right_index) {
                store.keys.insert(key, left_index);
            }
        }
    }
    true
}
