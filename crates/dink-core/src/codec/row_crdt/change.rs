//! Change on the row CRDT: `codec/change.rs`'s contract, with map writes made as yjs makes
//! them (`typeMapSet`, `typeMapDelete`).

use super::block::{Block, Content, Id};
use super::row::{check_row_layout, read_row, Prior};
use super::state::{load_stored, state_vector, stored_state};
use super::txn::Txn;
use super::values::write_value;
use crate::codec::layout::{DELETED_AT_KEY, DELETED_KEY};
use crate::codec::outcome::check_change_args;
use crate::codec::row_doc::{FIELDS_ROOT, META_ROOT};
use crate::codec::ChangeOutcome;
use crate::error::{EngineError, ErrorCode};
use crate::limits::Limits;
use crate::value::{stored_form, Fields, Value};

/// lib0 bytes of `true`, `false`.
const TRUE: &[u8] = &[120];
const FALSE: &[u8] = &[121];

/// A local write of one map key by `client` (yjs `typeMapSet`): the new item goes after the
/// key's last item, which it overwrites.
fn set<'a>(txn: &mut Txn<'_, 'a>, client: u64, root: &'a str, key: &'a str, value: &'a [u8]) {
    let left = txn.store.keys.get(&(root, key)).copied();
    let mut block = Block::gc(
        Id {
            client,
            clock: txn.store.state(client),
        },
        1,
    );
    block.content = Content::Any(value);
    block.origin = left.map(|l| txn.store.block(l).last_id());
    block.root = root;
    block.key = key;
    block.left = left.into();
    block.deleted = false;
    let index = txn.store.push(block);
    txn.store.keys.insert((root, key), index);
    if let Some(l) = left {
        txn.store.block_mut(l).right = Some(index).into();
        txn.delete(l);
    }
}

/// A local removal of one map key (yjs `typeMapDelete`).
fn remove(txn: &mut Txn<'_, '_>, root: &str, key: &str) {
    if let Some(&index) = txn.store.keys.get(&(root, key)) {
        txn.delete(index);
    }
}

/// Applies a Convex-side write to a row's CRDT state.
///
/// * `state`: the stored state (v2), or `None` for a row never synced before.
/// * `old`: the row before the write as the caller saw it (used only to report drift).
/// * `new`: the row after the write, or `None` for a delete (sets the `_meta` tombstone;
///   the fields stay so late edge updates merge into a deleted row instead of resurrecting it).
///   Writing a row whose state is tombstoned re-inserts it and clears the tombstone.
/// * `doc_id`: the document id; `fields.id` of the row must equal it (`None`: unknown to the
///   caller, then the id must be a string and may not change once stored). The row the write
///   produces must have the row layout (`codec/layout.rs`); a violation is INVALID_ARGUMENT
///   naming it. A stored state holding anything else (possible only for a row stored before the
///   layout rules) is refused as INVALID_ARGUMENT, and nothing changes.
/// * `client_id`: normally [`crate::codec::SERVER_CLIENT_ID`]; `now_ms` stamps `_deletedAt`.
pub fn change(
    state: Option<&[u8]>,
    old: Option<&Fields>,
    new: Option<&Fields>,
    doc_id: Option<&str>,
    client_id: u64,
    now_ms: f64,
    limits: &Limits,
) -> Result<ChangeOutcome, EngineError> {
    check_change_args(new, client_id, limits)?;
    let mut scratch = Vec::new();
    let mut store = load_stored(state, &mut scratch, limits)?;
    let current = read_row(&store, limits)?;
    let prior = Prior::of(&store, state.is_some());
    let drifted = state.is_some() && old.is_some_and(|old| *old != current.fields);

    // Every value to write, encoded up front: the store borrows them.
    let mut writes: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
    let mut removals: Vec<&str> = Vec::new();
    let mut values = Vec::new();
    if let Some(new) = new {
        for (key, value) in new {
            let stored = stored_form(value);
            if current.fields.get(key) != Some(&stored) {
                let start = values.len();
                write_value(&stored, &mut values);
                writes.push((key.as_str(), start..values.len()));
            }
        }
        removals.extend(
            current
                .fields
                .keys()
                .filter(|key| !new.contains_key(*key))
                .map(String::as_str),
        );
    }
    let deleted_at = {
        let mut bytes = Vec::new();
        write_value(&Value::Float64(now_ms), &mut bytes);
        bytes
    };

    let mut txn = Txn::new(&mut store);
    let mut changed_keys = Vec::new();
    for (key, range) in &writes {
        set(
            &mut txn,
            client_id,
            FIELDS_ROOT,
            key,
            &values[range.clone()],
        );
        changed_keys.push(key.to_string());
    }
    for key in &removals {
        remove(&mut txn, FIELDS_ROOT, key);
        changed_keys.push(key.to_string());
    }
    let deleted = match new {
        Some(_) => {
            if current.deleted {
                // An explicit `false` (not a key removal) so replicas that only look at the
                // flag, as Replicate clients do, see the row come back.
                set(&mut txn, client_id, META_ROOT, DELETED_KEY, FALSE);
                remove(&mut txn, META_ROOT, DELETED_AT_KEY);
            }
            false
        }
        None => {
            if !current.deleted {
                set(&mut txn, client_id, META_ROOT, DELETED_KEY, TRUE);
                set(&mut txn, client_id, META_ROOT, DELETED_AT_KEY, &deleted_at);
            }
            true
        }
    };
    check_row_layout(txn.store, doc_id, &prior).map_err(|e| EngineError {
        code: ErrorCode::InvalidArgument,
        ..e
    })?;
    let delta = txn.changed().then(|| txn.update_v2());
    txn.commit();
    let new_state = stored_state(&store, limits)?;
    Ok(ChangeOutcome {
        delta,
        state: new_state,
        state_vector: state_vector(&store),
        changed_keys,
        deleted,
        drifted,
    })
}
