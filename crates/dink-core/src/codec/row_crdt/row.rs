//! The row a store holds: its live map entries, read as Convex fields, and the row layout rules
//! that need the whole row (as `codec/layout.rs::check_row_layout` and
//! `codec/row_doc.rs::read_row` apply them to a yrs document).

use super::block::Content;
use super::store::Store;
use super::values::read_value;
use crate::codec::layout::{DELETED_AT_KEY, DELETED_KEY, ID_KEY};
use crate::codec::row_doc::{check_field_name, FIELDS_ROOT, META_ROOT};
use crate::codec::Materialized;
use crate::error::EngineError;
use crate::limits::Limits;
use crate::value::{check_fields, within, Fields, Value};

/// A live map entry's value, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry<'a> {
    /// The last of an item's `Any` values (`bytes` holds `count` of them).
    Any {
        bytes: &'a [u8],
        count: u32,
    },
    Binary(&'a [u8]),
}

impl Entry<'_> {
    /// The value; `None` is `undefined`.
    pub(crate) fn value(self) -> Result<Option<Value>, EngineError> {
        match self {
            Entry::Any { bytes, count } => read_value(bytes, count - 1),
            Entry::Binary(bytes) => Ok(Some(Value::Bytes(bytes.to_vec()))),
        }
    }
}

/// The live entries of a root map, by key (keys in byte order).
pub(crate) fn entries<'s>(
    store: &'s Store<'s>,
    root: &'s str,
) -> impl Iterator<Item = (&'s str, Entry<'s>)> + 's {
    store
        .keys
        .range((root, "")..)
        .take_while(move |((r, _), _)| *r == root)
        .filter_map(move |(&(_, key), &index)| {
            let block = store.block(index);
            if block.deleted {
                return None;
            }
            let entry = match block.content {
                Content::Any(bytes) => Entry::Any {
                    bytes,
                    count: block.len,
                },
                Content::Binary(bytes) => Entry::Binary(bytes),
                Content::Deleted | Content::Gc => return None,
            };
            Some((key, entry))
        })
}

/// The live entry under `root.key`.
pub(crate) fn entry<'s>(store: &'s Store<'s>, root: &'s str, key: &str) -> Option<Entry<'s>> {
    entries(store, root)
        .find(|(k, _)| *k == key)
        .map(|(_, e)| e)
}

/// Reads the row, enforcing the limits (`row_doc::read_row`).
pub(crate) fn read_row(store: &Store<'_>, limits: &Limits) -> Result<Materialized, EngineError> {
    let live: Vec<(&str, Entry<'_>)> = entries(store, FIELDS_ROOT).collect();
    if live.len() > limits.max_fields {
        return Err(EngineError::too_large(format!(
            "row has {} fields, the limit is {}",
            live.len(),
            limits.max_fields
        )));
    }
    let mut fields = Fields::new();
    for (key, entry) in live {
        check_field_name(key)?;
        if let Some(value) = entry.value().map_err(within(key.to_string()))? {
            fields.insert(key.to_string(), value);
        }
    }
    let deleted = matches!(
        entry(store, META_ROOT, DELETED_KEY).map(Entry::value),
        Some(Ok(Some(Value::Boolean(true))))
    );
    check_fields(&fields, limits)?;
    Ok(Materialized { fields, deleted })
}

/// What the row had before an update, for the `id` rule (`layout::Prior`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prior {
    Create,
    /// A stored row and its `fields.id` (`Some(None)`: present but `undefined`).
    Row {
        id: Option<Option<Value>>,
    },
}

impl Prior {
    pub(crate) fn of(store: &Store<'_>, has_state: bool) -> Prior {
        if !has_state {
            return Prior::Create;
        }
        let id = entry(store, FIELDS_ROOT, ID_KEY).map(|e| e.value().ok().flatten());
        Prior::Row { id }
    }
}

/// How a plain value is named in messages (`layout::any_kind`).
fn kind(value: &Option<Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Boolean(_)) => "a boolean",
        Some(Value::Float64(_)) => "a number",
        Some(Value::Int64(_)) => "a bigint",
        Some(Value::String(_)) => "a string",
        Some(Value::Bytes(_)) => "bytes",
        Some(Value::Array(_)) => "an array",
        Some(Value::Object(_)) => "an object",
    }
}

/// The row layout rules that need the whole row (`layout::check_row_layout`); the store holds
/// only the two root maps and plain values by construction.
pub(crate) fn check_row_layout(
    store: &Store<'_>,
    doc_id: Option<&str>,
    prior: &Prior,
) -> Result<(), EngineError> {
    for (key, _) in entries(store, FIELDS_ROOT) {
        check_field_name(key)?;
    }
    let read = |root: &str, key: &str| -> Result<Option<Option<Value>>, EngineError> {
        entry(store, root, key).map(Entry::value).transpose()
    };
    let id = read(FIELDS_ROOT, ID_KEY)?;
    let deleted = read(META_ROOT, DELETED_KEY)?;
    let deleted_at = read(META_ROOT, DELETED_AT_KEY)?;
    let live = match &deleted {
        None => true,
        Some(Some(Value::Boolean(flag))) => !flag,
        Some(other) => {
            return Err(EngineError::invalid_delta(format!(
                "_meta._deleted is {}; it must be a boolean",
                kind(other)
            )))
        }
    };
    if let Some(other) = deleted_at
        .as_ref()
        .filter(|v| !matches!(v, Some(Value::Float64(_))))
    {
        return Err(EngineError::invalid_delta(format!(
            "_meta._deletedAt is {}; it must be a number",
            kind(other)
        )));
    }
    check_id(id.as_ref(), live, doc_id, prior)
}

fn check_id(
    id: Option<&Option<Value>>,
    live: bool,
    doc_id: Option<&str>,
    prior: &Prior,
) -> Result<(), EngineError> {
    let prior_id = match prior {
        Prior::Row {
            id: Some(Some(Value::String(s))),
        } => Some(s.as_str()),
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
    let Some(Value::String(id)) = id else {
        return Err(EngineError::invalid_delta(format!(
            "fields.id is {}; it must be the document id (a string)",
            kind(id)
        ))
        .with_field(ID_KEY));
    };
    match doc_id.or(prior_id) {
        Some(expected) if expected != id => Err(EngineError::invalid_delta(format!(
            "fields.id is {id:?} but the document id is {expected:?}"
        ))
        .with_field(ID_KEY)),
        _ => Ok(()),
    }
}
