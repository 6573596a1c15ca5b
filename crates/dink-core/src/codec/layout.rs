//! The row layout: what a row document may hold, checked on every path that stores or forwards
//! a row (ingest, change, merge, diff).
//!
//! A row document has exactly two root types, `fields` and `_meta`, both `Y.Map`s whose entries
//! are plain values: `ContentAny` (what yjs writes for a JSON-like value), `ContentBinary` (a
//! top-level `Uint8Array`) or, once overwritten or removed, `ContentDeleted`. Nothing else:
//!
//! * no other root (`root "notes" is not part of the row layout ...`);
//! * no sequence (list) content directly under a root map, i.e. an item of `fields` or `_meta`
//!   without a key: it is invisible to a map reader, yet stored and forwarded forever;
//! * no shared type as a value (`Y.Text`, `Y.XmlText`, `Y.XmlElement`, `Y.XmlFragment`,
//!   `Y.XmlHook`, `Y.Array`, `Y.Map`, sub-documents): Convex materializes a plain value while a
//!   yjs edge reads an object; and no text characters (`ContentString`), embeds or text formats,
//!   which only live inside text types;
//! * field names Convex accepts (not empty, no `$` or `_` prefix);
//! * `_meta._deleted` absent or a boolean, `_meta._deletedAt` absent or a number;
//! * `fields.id`, when present, is a string equal to the document id; a live row must carry it,
//!   a create must carry it, and an update may not remove it. The only row without an id is an
//!   existing tombstone that never had one (written before this rule). When the caller does not
//!   pass the document id, the id must be a string and may not change once stored.
//!
//! Two halves: [`item_issue`] judges one item by its own bytes (the pre-scan calls it for every
//! item; it sees text characters, embeds and formats that a map reader cannot tell from a plain
//! value), and [`check_row_layout`] judges the document an update produces (it sees what items
//! placed through an origin resolve to, and rows stored before these rules).

use super::prescan::{ItemFacts, Parent};
use super::row_doc::{FIELDS_ROOT, META_ROOT};

/// `fields.id`: the document id edges key rows by.
pub(crate) const ID_KEY: &str = "id";
pub(crate) const DELETED_KEY: &str = "_deleted";
pub(crate) const DELETED_AT_KEY: &str = "_deletedAt";

/// Length of the canonical empty update in each format: v1 `[0, 0]` (no clients, no deletes);
/// v2 as yjs writes it for `encodeStateAsUpdateV2(new Y.Doc())` and for an empty diff: the
/// feature flag, nine empty columns (the string column holds one byte, the empty text's length)
/// and `[0, 0]`. An update that decodes to nothing but is longer carries data its stated format
/// does not read (typically the other format), and is refused instead of answered "no-op".
pub(crate) const EMPTY_UPDATE_V1_BYTES: usize = 2;
pub(crate) const EMPTY_UPDATE_V2_BYTES: usize = 13;

/// How a shared type is named in messages, by yrs/yjs type ref.
fn type_name(type_ref: u8) -> &'static str {
    match type_ref {
        0 => "a Y.Array",
        1 => "a Y.Map",
        2 => "a Y.Text",
        3 => "a Y.XmlElement",
        4 => "a Y.XmlFragment",
        5 => "a Y.XmlHook",
        6 => "a Y.XmlText",
        9 => "a sub-document",
        _ => "an undefined shared type",
    }
}

/// How item content that is not a plain value is named, or `None` for plain content.
fn content_name(facts: &ItemFacts<'_>) -> Option<&'static str> {
    match facts.content {
        // Deleted, binary, any: plain (or nothing).
        1 | 3 | 8 => None,
        4 => Some("text characters (a Y.Text's content)"),
        5 => Some("an embed (rich-text content)"),
        6 => Some("a text format (rich-text content)"),
        7 => Some(type_name(facts.type_ref.unwrap_or(15))),
        9 => Some("a sub-document"),
        _ => Some("legacy JSON content"),
    }
}

pub(crate) fn holds_plain(root: &str) -> &'static str {
    if root == FIELDS_ROOT {
        "synced fields hold plain values"
    } else {
        "the row's metadata holds plain values"
    }
}

pub(crate) fn foreign_root(name: &str) -> String {
    format!("root {name:?} is not part of the row layout (only \"fields\" and \"_meta\")")
}

pub(crate) fn sequence_under(root: &str) -> String {
    format!(
        "sequence (list) content directly under root {root:?}; a row's root maps hold only keyed values"
    )
}

/// Judges one item by its own bytes; `Some(message)` when a row document cannot hold it.
#[inline]
pub(crate) fn item_issue(facts: &ItemFacts<'_>) -> Option<String> {
    // The common case first, inline: an item placed by its origin, holding a plain value (a
    // hot row's stored state is thousands of them).
    if facts.parent == Parent::Origin && matches!(facts.content, 1 | 3 | 8) {
        return None;
    }
    placed_item_issue(facts)
}

/// [`item_issue`] past its common case.
fn placed_item_issue(facts: &ItemFacts<'_>) -> Option<String> {
    let at = || format!("client {} clock {}", facts.client, facts.clock);
    match facts.parent {
        Parent::Root(root) => {
            if root != FIELDS_ROOT && root != META_ROOT {
                return Some(foreign_root(root));
            }
            let Some(key) = facts.key else {
                return Some(sequence_under(root));
            };
            content_name(facts).map(|kind| format!("{root}.{key} is {kind}; {}", holds_plain(root)))
        }
        Parent::Nested => Some(format!(
            "the item at {} sits inside a nested shared type; a row holds plain values only",
            at()
        )),
        Parent::Origin => content_name(facts).map(|kind| {
            format!(
                "the item at {} is {kind}; a row holds plain values only",
                at()
            )
        }),
    }
}
