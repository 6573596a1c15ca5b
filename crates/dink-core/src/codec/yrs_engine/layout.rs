//! The row layout rules that need the whole document (`codec/layout.rs` has the per-item
//! half), on a yrs document.

use yrs::{Any, Map, Out, ReadTxn};

use crate::codec::layout::{
    foreign_root, holds_plain, sequence_under, DELETED_AT_KEY, DELETED_KEY, ID_KEY,
};
use crate::codec::row_doc::{check_field_name, FIELDS_ROOT, META_ROOT};
use crate::error::EngineError;

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
