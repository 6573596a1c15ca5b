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

use yrs::{Any, Map, Out, ReadTxn};

use super::prescan::{ItemFacts, Parent};
use super::row_doc::{check_field_name, FIELDS_ROOT, META_ROOT};
use crate::error::EngineError;

/// `fields.id`: the document id edges key rows by.
pub(crate) const ID_KEY: &str = "id";
const DELETED_KEY: &str = "_deleted";
const DELETED_AT_KEY: &str = "_deletedAt";

/// Length of the canonical empty update in each format: v1 `[0, 0]` (no clients, no deletes);
/// v2 as yjs writes it for `encodeStateAsUpdateV2(new Y.Doc())` and for an empty diff: the
/// feature flag, nine empty columns (the string column holds one byte, the empty text's length)
/// and `[0, 0]`. An update that decodes to nothing but is longer carries data its stated format
/// does not read (typically the other format), and is refused instead of answered "no-op".
pub(crate) const EMPTY_UPDATE_V1_BYTES: usize = 2;
pub(crate) const EMPTY_UPDATE_V2_BYTES: usize = 13;

/// What the row had before the update, for the `id` rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prior {
    /// No stored state: the update creates the row.
    Create,
    /// A stored row and its `fields.id` entry (if any).
    Row { id: Option<Any> },
}

impl Prior {
    /// Reads the prior row out of a loaded document (`has_state`: there was stored state).
    pub(crate) fn of<T: ReadTxn>(txn: &T, has_state: bool) -> Prior {
        if !has_state {
            return Prior::Create;
        }
        let id = txn
            .get_map(FIELDS_ROOT)
            .and_then(|fields| match fields.get(txn, ID_KEY) {
                Some(Out::Any(any)) => Some(any),
                _ => None,
            });
        Prior::Row { id }
    }
}

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

fn holds_plain(root: &str) -> &'static str {
    if root == FIELDS_ROOT {
        "synced fields hold plain values"
    } else {
        "the row's metadata holds plain values"
    }
}

pub(crate) fn foreign_root(name: &str) -> String {
    format!("root {name:?} is not part of the row layout (only \"fields\" and \"_meta\")")
}

fn sequence_under(root: &str) -> String {
    format!(
        "sequence (list) content directly under root {root:?}; a row's root maps hold only keyed values"
    )
}

/// Judges one item by its own bytes; `Some(message)` when a row document cannot hold it.
pub(crate) fn item_issue(facts: &ItemFacts<'_>) -> Option<String> {
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

/// How a plain value is named in messages.
fn any_kind(any: &Any) -> &'static str {
    match any {
        Any::Null => "null",
        Any::Undefined => "undefined",
        Any::Bool(_) => "a boolean",
        Any::Number(_) => "a number",
        Any::BigInt(_) => "a bigint",
        Any::String(_) => "a string",
        Any::Buffer(_) => "bytes",
        Any::Array(_) => "an array",
        Any::Map(_) => "an object",
    }
}

/// How a map entry that is not a plain value is named, or `None` for a plain one.
fn out_kind(out: &Out) -> Option<&'static str> {
    match out {
        Out::Any(_) => None,
        Out::YText(_) => Some("a Y.Text"),
        Out::YArray(_) => Some("a Y.Array"),
        Out::YMap(_) => Some("a Y.Map"),
        Out::YXmlElement(_) => Some("a Y.XmlElement"),
        Out::YXmlFragment(_) => Some("a Y.XmlFragment"),
        Out::YXmlText(_) => Some("a Y.XmlText"),
        Out::YDoc(_) => Some("a sub-document"),
        _ => Some("an undefined shared type"),
    }
}

/// Checks the document an update (or a Convex-side write) produced: the whole row layout of
/// this module. `doc_id` is the document id when the caller knows it; `prior` what the row
/// was before. Errors are INVALID_DELTA naming what was found and where.
pub(crate) fn check_row_layout<T: ReadTxn>(
    txn: &T,
    doc_id: Option<&str>,
    prior: &Prior,
) -> Result<(), EngineError> {
    for (name, _) in txn.root_refs() {
        if name != FIELDS_ROOT && name != META_ROOT {
            return Err(EngineError::invalid_delta(foreign_root(name)));
        }
    }
    let mut id = None;
    let mut deleted = None;
    let mut deleted_at = None;
    for root in [FIELDS_ROOT, META_ROOT] {
        let Some(map) = txn.get_map(root) else {
            continue;
        };
        // A map's own length counts its entries; the branch's block length counts live
        // sequence items, which a map never has.
        let branch: &yrs::branch::Branch = map.as_ref();
        if branch.len() > 0 {
            return Err(EngineError::invalid_delta(sequence_under(root)));
        }
        for (key, out) in map.iter(txn) {
            if root == FIELDS_ROOT {
                check_field_name(key)?;
            }
            if let Some(kind) = out_kind(&out) {
                let err = EngineError::invalid_delta(format!(
                    "{root}.{key} is {kind}; {}",
                    holds_plain(root)
                ));
                return Err(if root == FIELDS_ROOT {
                    err.with_field(key)
                } else {
                    err
                });
            }
            let Out::Any(any) = out else { continue };
            match (root, key) {
                (FIELDS_ROOT, ID_KEY) => id = Some(any),
                (META_ROOT, DELETED_KEY) => deleted = Some(any),
                (META_ROOT, DELETED_AT_KEY) => deleted_at = Some(any),
                _ => {}
            }
        }
    }
    let live = match &deleted {
        None => true,
        Some(Any::Bool(flag)) => !flag,
        Some(other) => {
            return Err(EngineError::invalid_delta(format!(
                "_meta._deleted is {}; it must be a boolean",
                any_kind(other)
            )))
        }
    };
    if let Some(other) = deleted_at.as_ref().filter(|a| !matches!(a, Any::Number(_))) {
        return Err(EngineError::invalid_delta(format!(
            "_meta._deletedAt is {}; it must be a number",
            any_kind(other)
        )));
    }
    check_id(id.as_ref(), live, doc_id, prior)
}

fn check_id(
    id: Option<&Any>,
    live: bool,
    doc_id: Option<&str>,
    prior: &Prior,
) -> Result<(), EngineError> {
    let prior_id = match prior {
        Prior::Row {
            id: Some(Any::String(s)),
        } => Some(s.as_ref()),
        _ => None,
    };
    let Some(id) = id else {
        let required = live || matches!(prior, Prior::Create | Prior::Row { id: Some(_) });
        if required {
            return Err(EngineError::invalid_delta(
                "fields.id is missing; a live row carries its document id",
            )
            .with_field(ID_KEY));
        }
        return Ok(());
    };
    let Any::String(id) = id else {
        return Err(EngineError::invalid_delta(format!(
            "fields.id is {}; it must be the document id (a string)",
            any_kind(id)
        ))
        .with_field(ID_KEY));
    };
    match doc_id.or(prior_id) {
        Some(expected) if expected != id.as_ref() => Err(EngineError::invalid_delta(format!(
            "fields.id is {:?} but the document id is {expected:?}",
            id.as_ref()
        ))
        .with_field(ID_KEY)),
        _ => Ok(()),
    }
}
