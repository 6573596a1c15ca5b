//! Checks a value against a parsed [`Validator`], with Convex's semantics.

use std::collections::{BTreeMap, BTreeSet};

use super::failure::{union_failure, Failure, FailureKind, Path};
use super::{FieldValidator, Validator};
use crate::value::Value;

/// Checks `value` at `path`. `top` is true for the document itself (and the members of a
/// top-level union), where system fields (`_id`, `_creationTime`, ...) are treated as
/// optional: a synced row's fields never carry them, but a table's document validator may
/// declare them.
pub(crate) fn check(
    validator: &Validator,
    value: &Value,
    path: &Path,
    top: bool,
) -> Result<(), Failure> {
    let ok = match (validator, value) {
        (Validator::Any, _)
        | (Validator::Null, Value::Null)
        | (Validator::Number, Value::Float64(_))
        | (Validator::BigInt | Validator::CommitTs, Value::Int64(_))
        | (Validator::Boolean, Value::Boolean(_))
        | (Validator::String | Validator::Id { .. }, Value::String(_))
        | (Validator::Bytes, Value::Bytes(_)) => true,
        (Validator::Literal(literal), _) => literal == value,
        (Validator::Array(element), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check(element, item, &path.index(i), false)?;
            }
            true
        }
        (Validator::Record { keys, values }, Value::Object(map)) => {
            check_record(keys, values, map, path)?;
            true
        }
        (Validator::Object(fields), Value::Object(map)) => {
            check_object(fields, map, path, top)?;
            true
        }
        (Validator::Union(members), _) => {
            let mut failures = Vec::with_capacity(members.len());
            for member in members {
                match check(member, value, path, top) {
                    Ok(()) => return Ok(()),
                    Err(failure) => failures.push(failure),
                }
            }
            return Err(union_failure(path, members, value, failures));
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Failure::mismatch(path, validator, value))
    }
}

fn check_record(
    keys: &Validator,
    values: &Validator,
    map: &BTreeMap<String, Value>,
    path: &Path,
) -> Result<(), Failure> {
    for (key, item) in map {
        let item_path = path.key(key);
        check(keys, &Value::String(key.clone()), &item_path, false).map_err(|failure| Failure {
            path: item_path.clone(),
            kind: FailureKind::InvalidKey {
                key: key.clone(),
                inner: Box::new(failure.kind),
            },
        })?;
        check(values, item, &item_path, false)?;
    }
    Ok(())
}

/// Walks the union of declared and present names in order, so the first error reported is
/// the alphabetically first offending field whatever its kind.
fn check_object(
    fields: &BTreeMap<String, FieldValidator>,
    map: &BTreeMap<String, Value>,
    path: &Path,
    top: bool,
) -> Result<(), Failure> {
    // Inserted one by one: collecting into a set would add a stable sort to the module.
    let mut names: BTreeSet<&String> = BTreeSet::new();
    for name in fields.keys().chain(map.keys()) {
        names.insert(name);
    }
    for name in names {
        let field_path = path.key(name);
        match (fields.get(name), map.get(name)) {
            (Some(field), Some(item)) => check(&field.validator, item, &field_path, false)?,
            (Some(field), None) => {
                let system = top && name.starts_with('_');
                if !field.optional && !system {
                    return Err(Failure {
                        path: field_path,
                        kind: FailureKind::Missing { name: name.clone() },
                    });
                }
            }
            (None, Some(_)) => {
                return Err(Failure {
                    path: field_path,
                    kind: FailureKind::Extra { name: name.clone() },
                })
            }
            (None, None) => {}
        }
    }
    Ok(())
}

/// [`check`] for a whole row, borrowing its fields instead of wrapping them in a
/// [`Value::Object`] (which would clone the row); the wrapped value is built only to word
/// the error when every member of a top-level union fails.
pub(crate) fn check_document(
    validator: &Validator,
    fields: &BTreeMap<String, Value>,
) -> Result<(), Failure> {
    let root = Path::default();
    match validator {
        Validator::Any => Ok(()),
        Validator::Object(declared) => check_object(declared, fields, &root, true),
        Validator::Record { keys, values } => check_record(keys, values, fields, &root),
        Validator::Union(members) => {
            let mut failures = Vec::with_capacity(members.len());
            for member in members {
                match check_document(member, fields) {
                    Ok(()) => return Ok(()),
                    Err(failure) => failures.push(failure),
                }
            }
            let value = Value::Object(fields.clone());
            Err(union_failure(&root, members, &value, failures))
        }
        // Scalars, arrays and literals never match a row; only the value's type is worded.
        other => Err(Failure::mismatch(
            &root,
            other,
            &Value::Object(BTreeMap::new()),
        )),
    }
}
