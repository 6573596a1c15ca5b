//! A Convex validator parsed from its JSON form (`validator.json` in the `convex` npm
//! package, the `documentType` of a table in `schema.export()`). Parsing up front means a
//! malformed validator is reported as such, even in branches a given row never reaches.

use std::collections::BTreeMap;

use crate::json::{parse as parse_json, Json, Object};

use crate::error::EngineError;
use crate::value::{value_from_convex_json, Value};

/// Deepest validator nesting accepted. Convex values nest at most 16 levels; the margin
/// covers unions and records while keeping the recursive checker's stack bounded.
pub const MAX_VALIDATOR_DEPTH: usize = 64;

/// One Convex validator.
#[derive(Debug, Clone, PartialEq)]
pub enum Validator {
    Null,
    /// `v.number()` / `v.float64()`: float64 only (an int64 is a `bigint`).
    Number,
    /// `v.int64()` / `v.bigint()`.
    BigInt,
    /// `v.commitTs()`: an int64 that Convex may fill with the commit timestamp.
    CommitTs,
    Boolean,
    String,
    Bytes,
    Any,
    /// `v.literal(x)`: a string, float64, int64 or boolean, compared exactly (float bits).
    Literal(Value),
    /// `v.id(table)`: any string here, since table membership needs the database.
    Id {
        table_name: String,
    },
    Array(Box<Validator>),
    Record {
        keys: Box<Validator>,
        values: Box<Validator>,
    },
    Object(BTreeMap<String, FieldValidator>),
    Union(Vec<Validator>),
}

/// One property of an object validator.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValidator {
    pub validator: Validator,
    pub optional: bool,
}

fn malformed(location: &str, message: impl std::fmt::Display) -> EngineError {
    EngineError::invalid_argument(format!("malformed validator at {location}: {message}"))
}

fn member<'a>(map: &'a Object, key: &str, location: &str) -> Result<&'a Json, EngineError> {
    map.get(key)
        .ok_or_else(|| malformed(location, format!("missing {key:?}")))
}

impl Validator {
    /// Parses the JSON form. Extra keys are ignored (newer `convex` versions may add some);
    /// anything missing, mistyped or of an unknown `type` is an
    /// [`crate::ErrorCode::InvalidArgument`] naming where in the validator it is.
    pub fn from_json(json: &Json) -> Result<Self, EngineError> {
        parse(json, "validator", 0)
    }

    /// Parses the JSON text form.
    pub fn from_json_str(text: &str) -> Result<Self, EngineError> {
        let json = parse_json(text).map_err(|e| {
            EngineError::invalid_argument(format!("validator is not valid JSON: {e}"))
        })?;
        Self::from_json(&json)
    }
}

fn parse(json: &Json, location: &str, depth: usize) -> Result<Validator, EngineError> {
    if depth >= MAX_VALIDATOR_DEPTH {
        return Err(malformed(
            location,
            format!("nests deeper than {MAX_VALIDATOR_DEPTH} levels"),
        ));
    }
    let map = json
        .as_object()
        .ok_or_else(|| malformed(location, "expected an object with a \"type\""))?;
    let kind = member(map, "type", location)?
        .as_str()
        .ok_or_else(|| malformed(location, "\"type\" must be a string"))?;
    let child = |key: &str| format!("{location}.{key}");
    Ok(match kind {
        "null" => Validator::Null,
        "number" => Validator::Number,
        "bigint" => Validator::BigInt,
        "commitTs" => Validator::CommitTs,
        "boolean" => Validator::Boolean,
        "string" => Validator::String,
        "bytes" => Validator::Bytes,
        "any" => Validator::Any,
        "literal" => {
            let raw = member(map, "value", location)?;
            let value = value_from_convex_json(raw.clone())
                .map_err(|e| malformed(&child("value"), e.message))?;
            match value {
                Value::String(_) | Value::Float64(_) | Value::Int64(_) | Value::Boolean(_) => {
                    Validator::Literal(value)
                }
                other => {
                    return Err(malformed(
                        &child("value"),
                        format!(
                            "a literal must be a string, number, bigint or boolean, got {}",
                            other.type_name()
                        ),
                    ))
                }
            }
        }
        "id" => Validator::Id {
            table_name: member(map, "tableName", location)?
                .as_str()
                .ok_or_else(|| malformed(&child("tableName"), "must be a string"))?
                .to_string(),
        },
        "array" => Validator::Array(Box::new(parse(
            member(map, "value", location)?,
            &child("value"),
            depth + 1,
        )?)),
        "record" => {
            let keys = parse(member(map, "keys", location)?, &child("keys"), depth + 1)?;
            let values = parse_field(member(map, "values", location)?, &child("values"), depth)?;
            if values.optional {
                return Err(malformed(
                    &child("values"),
                    "record values cannot be optional",
                ));
            }
            Validator::Record {
                keys: Box::new(keys),
                values: Box::new(values.validator),
            }
        }
        "object" => {
            let fields = member(map, "value", location)?
                .as_object()
                .ok_or_else(|| malformed(&child("value"), "must be an object of fields"))?;
            let mut out = BTreeMap::new();
            for (name, field) in fields {
                let field_location = format!("{location}.value.{name}");
                out.insert(name.clone(), parse_field(field, &field_location, depth)?);
            }
            Validator::Object(out)
        }
        "union" => {
            let members = member(map, "value", location)?
                .as_array()
                .ok_or_else(|| malformed(&child("value"), "must be an array of validators"))?;
            Validator::Union(
                members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| parse(m, &format!("{location}.value[{i}]"), depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        other => return Err(malformed(location, format!("unknown type {other:?}"))),
    })
}

/// `{fieldType, optional}`; a missing `optional` means required.
fn parse_field(json: &Json, location: &str, depth: usize) -> Result<FieldValidator, EngineError> {
    let map = json
        .as_object()
        .ok_or_else(|| malformed(location, "expected {\"fieldType\", \"optional\"}"))?;
    let optional = match map.get("optional") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err(malformed(location, "\"optional\" must be a boolean")),
    };
    let validator = parse(
        member(map, "fieldType", location)?,
        &format!("{location}.fieldType"),
        depth + 1,
    )?;
    Ok(FieldValidator {
        validator,
        optional,
    })
}
