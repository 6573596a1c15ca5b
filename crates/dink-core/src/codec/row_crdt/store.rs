//! The struct store of one row document: every struct by client and clock, and the current
//! entry of every map key (yjs `StructStore` plus the root maps' `_map`).

use std::collections::BTreeMap;

use super::block::{Block, Content, Id};
use crate::codec::prescan::any_values_len;

/// One client's structs in clock order: arena indices, and their first clocks alongside so
/// that finding the struct holding a clock searches a compact array.
#[derive(Debug, Default, Clone)]
pub(crate) struct ClientList {
    blocks: Vec<u32>,
    clocks: Vec<u32>,
    /// The clock after the last struct: structs cover 0..end without gaps, so a clock below it
    /// is in the struct starting at or before it.
    end: u32,
}

impl ClientList {
    pub(crate) fn len(&self) -> usize {
        self.blocks.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub(crate) fn get(&self, pos: usize) -> Option<&u32> {
        self.blocks.get(pos)
    }

    pub(crate) fn as_slice(&self) -> &[u32] {
        &self.blocks
    }

    /// The first clock of the struct at `pos`, read from the list (not the arena).
    pub(crate) fn clock_at(&self, pos: usize) -> u32 {
        self.clocks[pos]
    }

    /// The clock after the struct at `pos` (structs are contiguous: the next one's start).
    pub(crate) fn end_at(&self, pos: usize) -> u32 {
        self.clocks.get(pos + 1).copied().unwrap_or(self.end)
    }

    fn push(&mut self, clock: u32, end: u32, index: u32) {
        self.clocks.push(clock);
        self.blocks.push(index);
        self.end = end;
    }

    fn reserve(&mut self, additional: usize) {
        self.clocks.reserve(additional);
        self.blocks.reserve(additional);
    }

    fn insert(&mut self, pos: usize, clock: u32, index: u32) {
        self.clocks.insert(pos, clock);
        self.blocks.insert(pos, index);
    }

    /// Removes the entries at `range` (structs merged into the one before them).
    pub(crate) fn remove(&mut self, range: std::ops::Range<usize>) {
        self.clocks.drain(range.clone());
        self.blocks.drain(range);
    }

    /// The position of the struct holding `clock`. Tries first where it would be if the
    /// structs were of equal length (yjs `findIndexSS` guesses the same way): in a hot row
    /// every overwritten value is its own one-unit struct, and the guess is exact.
    pub(crate) fn holding(&self, clock: u32) -> Option<usize> {
        if clock >= self.end {
            return None;
        }
        if self.clocks.len() == self.end as usize {
            // Every struct is one unit: the clock is the position.
            return Some(clock as usize);
        }
        let guess = (u64::from(clock) * self.clocks.len() as u64 / u64::from(self.end)) as usize;
        let next = self.clocks.get(guess + 1).copied().unwrap_or(self.end);
        if self.clocks.get(guess).is_some_and(|&c| c <= clock) && clock < next {
            return Some(guess);
        }
        self.clocks.partition_point(|&c| c <= clock).checked_sub(1)
    }
}

impl std::ops::Index<usize> for ClientList {
    type Output = u32;
    fn index(&self, pos: usize) -> &u32 {
        &self.blocks[pos]
    }
}

impl<'l> IntoIterator for &'l ClientList {
    type Item = &'l u32;
    type IntoIter = std::slice::Iter<'l, u32>;
    fn into_iter(self) -> Self::IntoIter {
        self.blocks.iter()
    }
}

/// Every client's list, ascending by client id. A row has few writers, so a sorted vector
/// searched by bisection is what a lookup per struct (the store makes several) should cost;
/// a tree map's node walk was a tenth of a hot row's load.
#[derive(Debug, Default, Clone)]
pub(crate) struct Clients {
    ids: Vec<u64>,
    lists: Vec<ClientList>,
    /// Where the last lookup found its client: structs are added a client at a time, and a
    /// client's items mostly follow one other client's (their origins).
    recent: std::cell::Cell<usize>,
}

impl Clients {
    /// The position of `client` in `ids`, the last one found tried first.
    fn find(&self, client: &u64) -> Option<usize> {
        let recent = self.recent.get();
        if self.ids.get(recent) == Some(client) {
            return Some(recent);
        }
        let at = self.ids.binary_search(client).ok()?;
        self.recent.set(at);
        Some(at)
    }

    pub(crate) fn get(&self, client: &u64) -> Option<&ClientList> {
        self.lists.get(self.find(client)?)
    }

    pub(crate) fn get_mut(&mut self, client: &u64) -> Option<&mut ClientList> {
        let at = self.find(client)?;
        self.lists.get_mut(at)
    }

    fn get_or_insert(&mut self, client: u64) -> &mut ClientList {
        if let Some(at) = self.find(&client) {
            return &mut self.lists[at];
        }
        let at = match self.ids.binary_search(&client) {
            Ok(at) => at,
            Err(at) => {
                self.ids.insert(at, client);
                self.lists.insert(at, ClientList::default());
                at
            }
        };
        self.recent.set(at);
        &mut self.lists[at]
    }

    pub(crate) fn keys(&self) -> std::slice::Iter<'_, u64> {
        self.ids.iter()
    }

    pub(crate) fn iter(
        &self,
    ) -> std::iter::Zip<std::slice::Iter<'_, u64>, std::slice::Iter<'_, ClientList>> {
        self.ids.iter().zip(self.lists.iter())
    }
}

impl std::ops::Index<&u64> for Clients {
    type Output = ClientList;
    fn index(&self, client: &u64) -> &ClientList {
        match self.get(client) {
            Some(list) => list,
            None => panic!("no structs of client {client}"),
        }
    }
}

impl<'c> IntoIterator for &'c Clients {
    type Item = (&'c u64, &'c ClientList);
    type IntoIter = std::iter::Zip<std::slice::Iter<'c, u64>, std::slice::Iter<'c, ClientList>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Structs live in one arena and are addressed by index; a split appends the right half.
#[derive(Debug, Default, Clone)]
pub(crate) struct Store<'a> {
    pub blocks: Vec<Block<'a>>,
    /// Per client, its structs' arena indices in clock order (contiguous clocks from 0).
    pub clients: Clients,
    /// The last item of every (root, key) list: the key's current entry, live or not.
    pub keys: BTreeMap<(&'a str, &'a str), u32>,
    /// Right halves of splits made since the last cleanup (yjs `_mergeStructs`).
    pub split_off: Vec<Id>,
    /// Per arena index, whether the struct is deleted: `Block::deleted` again, kept compact
    /// for the passes that need nothing else (delete sets read the client lists' clocks and
    /// this, not the arena, which in a hot row is megabytes). Set through [`Store::push`] and
    /// [`Store::mark_deleted`] only.
    dead: Vec<bool>,
}

impl<'a> Store<'a> {
    pub(crate) fn block(&self, index: u32) -> &Block<'a> {
        &self.blocks[index as usize]
    }

    pub(crate) fn block_mut(&mut self, index: u32) -> &mut Block<'a> {
        &mut self.blocks[index as usize]
    }

    /// Panics unless the compact copies (deleted flags, the client lists' clocks and ends)
    /// agree with the arena.
    #[cfg(test)]
    pub(crate) fn assert_mirrors(&self) {
        assert_eq!(
            self.dead.len(),
            self.blocks.len(),
            "one deleted flag per struct"
        );
        for (i, b) in self.blocks.iter().enumerate() {
            assert_eq!(self.dead[i], b.deleted, "deleted flag of struct {i}");
        }
        for (_, list) in self.clients.iter() {
            for (pos, &index) in list.into_iter().enumerate() {
                let b = self.block(index);
                assert_eq!(
                    (list.clock_at(pos), list.end_at(pos)),
                    (b.id.clock, b.end())
                );
            }
        }
    }

    /// Whether the struct at `index` is deleted, without reading the arena.
    pub(crate) fn is_deleted(&self, index: u32) -> bool {
        self.dead[index as usize]
    }

    /// Marks the struct at `index` deleted; false when it already was.
    pub(crate) fn mark_deleted(&mut self, index: u32) -> bool {
        let dead = &mut self.dead[index as usize];
        if *dead {
            return false;
        }
        *dead = true;
        self.blocks[index as usize].deleted = true;
        true
    }

    /// Room for `structs` more structs in the arena.
    pub(crate) fn reserve_arena(&mut self, structs: usize) {
        self.blocks.reserve(structs);
        self.dead.reserve(structs);
    }

    /// The next clock of `client` (yjs `getState`).
    pub(crate) fn state(&self, client: u64) -> u32 {
        self.clients.get(&client).map_or(0, |list| list.end)
    }

    /// Every client's next clock, ascending by client.
    pub(crate) fn state_vector(&self) -> Vec<(u64, u32)> {
        self.clients
            .keys()
            .map(|&client| (client, self.state(client)))
            .filter(|&(_, clock)| clock > 0)
            .collect()
    }

    /// [`Store::state_vector`] as a map (inserted one by one: collecting into a map would add
    /// a stable sort to the module).
    pub(crate) fn state_vector_map(&self) -> BTreeMap<u64, u32> {
        let mut map = BTreeMap::new();
        for (client, clock) in self.state_vector() {
            map.insert(client, clock);
        }
        map
    }

    /// The position, in its client's list, of the struct holding `id` (yjs `findIndexSS`).
    pub(crate) fn position(&self, id: Id) -> Option<usize> {
        self.clients.get(&{ id.client })?.holding(id.clock)
    }

    /// The arena index of the struct holding `id` (yjs `getItem`).
    pub(crate) fn find(&self, id: Id) -> Option<u32> {
        let list = self.clients.get(&{ id.client })?;
        list.blocks.get(list.holding(id.clock)?).copied()
    }

    /// Appends a struct at its client's next clock (yjs `addStruct`; callers integrate in
    /// clock order, so a client's structs stay contiguous).
    #[inline]
    pub(crate) fn push(&mut self, block: Block<'a>) -> u32 {
        let index = self.blocks.len() as u32;
        self.clients
            .get_or_insert(block.id.client)
            .push(block.id.clock, block.end(), index);
        self.dead.push(block.deleted);
        self.blocks.push(block);
        index
    }

    /// Room for `structs` more structs in `client`'s list (the arena: [`Store::reserve_arena`]).
    pub(crate) fn reserve_client(&mut self, client: u64, structs: usize) {
        self.clients.get_or_insert(client).reserve(structs);
    }

    /// Splits the item at `index` after `diff` clock units and returns the right half (yjs
    /// `splitItem`). `None` when its values cannot be split (never for bytes a scan accepted).
    pub(crate) fn split(&mut self, index: u32, diff: u32) -> Option<u32> {
        let left = *self.block(index);
        let (left_content, right_content) = match left.content {
            Content::Deleted => (Content::Deleted, Content::Deleted),
            Content::Any(bytes) => {
                let at = any_values_len(bytes, diff)?;
                (Content::Any(&bytes[..at]), Content::Any(&bytes[at..]))
            }
            // Binary content is one unit and GC ranges are never split.
            Content::Binary(_) | Content::Gc => return None,
        };
        let right = Block {
            id: Id {
                client: left.id.client,
                clock: left.id.clock + diff,
            },
            len: left.len - diff,
            content: right_content,
            origin: Some(Id {
                client: left.id.client,
                clock: left.id.clock + diff - 1,
            }),
            right_origin: left.right_origin,
            root: left.root,
            key: left.key,
            left: Some(index).into(),
            right: left.right,
            deleted: left.deleted,
        };
        let right_index = self.blocks.len() as u32;
        self.dead.push(right.deleted);
        self.blocks.push(right);
        let pos = self.position(left.id)?;
        if let Some(list) = self.clients.get_mut(&{ left.id.client }) {
            list.insert(pos + 1, right.id.clock, right_index);
        }
        let block = self.block_mut(index);
        block.len = diff;
        block.content = left_content;
        block.right = Some(right_index).into();
        match right.right.get() {
            Some(next) => self.block_mut(next).left = Some(right_index).into(),
            None => {
                self.keys.insert((right.root, right.key), right_index);
            }
        }
        self.split_off.push(right.id);
        Some(right_index)
    }

    /// The struct ending exactly at `id`, splitting an item to make it so (yjs
    /// `getItemCleanEnd`); a GC range is returned whole.
    pub(crate) fn clean_end(&mut self, id: Id) -> Option<u32> {
        let index = self.find(id)?;
        let block = *self.block(index);
        if id.clock != block.last_id().clock && !block.is_gc() {
            self.split(index, id.clock - block.id.clock + 1)?;
        }
        Some(index)
    }

    /// The struct starting exactly at `id`, splitting an item to make it so (yjs
    /// `getItemCleanStart`); a GC range is returned whole.
    pub(crate) fn clean_start(&mut self, id: Id) -> Option<u32> {
        let index = self.find(id)?;
        let block = *self.block(index);
        if block.id.clock < id.clock && !block.is_gc() {
            return self.split(index, id.clock - block.id.clock);
        }
        Some(index)
    }

    /// The first item of the list under `(root, key)`.
    pub(crate) fn first_of_key(&self, root: &str, key: &str) -> Option<u32> {
        let mut index = *self.keys.get(&(root, key))?;
        while let Some(left) = self.block(index).left.get() {
            index = left;
        }
        Some(index)
    }
}
