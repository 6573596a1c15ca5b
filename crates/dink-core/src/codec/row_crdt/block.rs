//! The structs of a row document: items of the two root maps, and GC ranges.
//!
//! A row document never holds anything else (`codec/layout.rs`), so a struct is small and its
//! content is borrowed: the lib0 bytes of its values stay in the input they were decoded from,
//! and are copied once, into the output, by the encoder.

pub(crate) use super::super::prescan::Id;

/// What a struct holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content<'a> {
    /// A GC struct: a range of clocks whose items are gone, parent and all (yjs `GC`).
    Gc,
    /// An item whose value was overwritten or removed (yjs `ContentDeleted`).
    Deleted,
    /// `ContentAny`: one lib0 `Any` value per clock unit, back to back.
    Any(&'a [u8]),
    /// `ContentBinary`: one `Uint8Array` (how yjs stores a top-level byte array).
    Binary(&'a [u8]),
}

impl Content<'_> {
    /// The content ref yjs writes in the low bits of a struct's info byte.
    pub(crate) fn info_ref(self) -> u8 {
        match self {
            Content::Gc => 0,
            Content::Deleted => 1,
            Content::Binary(_) => 3,
            Content::Any(_) => 8,
        }
    }
}

/// An arena index, or none, in four bytes (`Option<u32>` takes eight): a struct holds two.
/// The arena never reaches `u32::MAX` structs (the scan's limit is far below).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link(u32);

impl Link {
    pub(crate) const NONE: Link = Link(u32::MAX);

    pub(crate) fn get(self) -> Option<u32> {
        (self.0 != u32::MAX).then_some(self.0)
    }
}

impl From<Option<u32>> for Link {
    fn from(index: Option<u32>) -> Self {
        Link(index.unwrap_or(u32::MAX))
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// One struct. Items are linked to their neighbours under the same map key (`left`/`right`,
/// indices into the store's arena), as yjs links `Item`s; GC structs have no neighbours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Block<'a> {
    pub id: Id,
    pub len: u32,
    pub content: Content<'a>,
    /// The id of the unit this item was inserted after (yjs `origin`).
    pub origin: Option<Id>,
    /// The id of the unit this item was inserted before (yjs `rightOrigin`).
    pub right_origin: Option<Id>,
    /// The root map (`fields` or `_meta`) and the key the item is a value of.
    pub root: &'a str,
    pub key: &'a str,
    pub left: Link,
    pub right: Link,
    pub deleted: bool,
}

impl<'a> Block<'a> {
    pub(crate) fn gc(id: Id, len: u32) -> Self {
        Block {
            id,
            len,
            content: Content::Gc,
            origin: None,
            right_origin: None,
            root: "",
            key: "",
            left: Link::NONE,
            right: Link::NONE,
            deleted: true,
        }
    }

    pub(crate) fn is_gc(&self) -> bool {
        self.content == Content::Gc
    }

    /// The id of the struct's last clock unit (yjs `lastId`).
    pub(crate) fn last_id(&self) -> Id {
        Id {
            client: self.id.client,
            clock: self.id.clock + self.len - 1,
        }
    }

    /// The clock after the struct.
    pub(crate) fn end(&self) -> u32 {
        self.id.clock + self.len
    }
}
