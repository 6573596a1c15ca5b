//! Why a value failed a validator, and how the failures of a union's members are reduced to
//! the one message a developer needs.

use super::Validator;
use crate::error::{EngineError, ErrorCode};
use crate::value::Value;

/// Where in the row a failure is: the display path (`meta.tags[2]`) and its depth, which
/// ranks union members by how far into the value they got.
#[derive(Debug, Clone, Default)]
pub(crate) struct Path {
    pub text: String,
    pub depth: usize,
}

impl Path {
    pub fn key(&self, key: &str) -> Path {
        let text = if self.text.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.text)
        };
        Path {
            text,
            depth: self.depth + 1,
        }
    }

    pub fn index(&self, index: usize) -> Path {
        Path {
            text: format!("{}[{index}]", self.text),
            depth: self.depth + 1,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum FailureKind {
    /// The value is of the wrong type or literal. `expected` lists alternatives (unions).
    Mismatch {
        expected: Vec<String>,
        got: String,
    },
    Missing {
        name: String,
    },
    Extra {
        name: String,
    },
    /// A record key failed the record's key validator.
    InvalidKey {
        key: String,
        inner: Box<FailureKind>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub path: Path,
    pub kind: FailureKind,
}

impl Failure {
    pub fn mismatch(path: &Path, validator: &Validator, value: &Value) -> Failure {
        Failure {
            path: path.clone(),
            kind: FailureKind::Mismatch {
                expected: vec![describe(validator)],
                got: describe_value(value, matches!(validator, Validator::Literal(_))),
            },
        }
    }

    pub fn message(&self) -> String {
        message(&self.kind)
    }

    pub fn into_error(self) -> EngineError {
        let err = EngineError::new(ErrorCode::ValidationError, self.message());
        if self.path.text.is_empty() {
            err
        } else {
            err.with_field(self.path.text)
        }
    }
}

fn message(kind: &FailureKind) -> String {
    match kind {
        FailureKind::Mismatch { expected, got } => {
            format!("expected {}, got {got}", expected.join(" | "))
        }
        FailureKind::Missing { name } => format!("missing required field {name:?}"),
        FailureKind::Extra { name } => format!("extra field {name:?} is not in the validator"),
        FailureKind::InvalidKey { key, inner } => {
            format!("invalid record key {key:?}: {}", message(inner))
        }
    }
}

/// How a validator reads in a message: `string`, `id("users")`, `"todo"`, `7n`.
pub(crate) fn describe(validator: &Validator) -> String {
    match validator {
        Validator::Null => "null".into(),
        Validator::Number => "number".into(),
        Validator::BigInt => "bigint".into(),
        Validator::CommitTs => "commitTs (bigint)".into(),
        Validator::Boolean => "boolean".into(),
        Validator::String => "string".into(),
        Validator::Bytes => "bytes".into(),
        Validator::Any => "any".into(),
        Validator::Literal(value) => literal_text(value),
        Validator::Id { table_name } => format!("id({table_name:?})"),
        Validator::Array(_) => "array".into(),
        Validator::Record { .. } => "record".into(),
        Validator::Object(_) => "object".into(),
        Validator::Union(members) if members.is_empty() => "nothing (empty union)".into(),
        Validator::Union(members) => members.iter().map(describe).collect::<Vec<_>>().join(" | "),
    }
}

fn literal_text(value: &Value) -> String {
    const MAX_CHARS: usize = 40;
    match value {
        Value::String(s) if s.chars().count() > MAX_CHARS => {
            let head: String = s.chars().take(MAX_CHARS).collect();
            format!("{:?}...", head)
        }
        Value::String(s) => format!("{s:?}"),
        Value::Float64(f) => crate::json::number_text(*f),
        Value::Int64(i) => format!("{i}n"),
        Value::Boolean(b) => format!("{b}"),
        other => other.type_name().to_string(),
    }
}

/// The actual value's type, plus the value itself for scalars when a literal was expected
/// (`string "todo"`), where the type alone would not explain the mismatch.
fn describe_value(value: &Value, with_value: bool) -> String {
    match value {
        Value::String(_) | Value::Float64(_) | Value::Int64(_) | Value::Boolean(_)
            if with_value =>
        {
            format!("{} {}", value.type_name(), literal_text(value))
        }
        other => other.type_name().to_string(),
    }
}

/// Whether the value is of the kind the validator checks (ignoring contents).
fn kind_matches(validator: &Validator, value: &Value) -> bool {
    match (validator, value) {
        (Validator::Any, _) => true,
        (Validator::Union(members), _) => members.iter().any(|m| kind_matches(m, value)),
        (Validator::Literal(literal), _) => literal.type_name() == value.type_name(),
        (Validator::Null, Value::Null)
        | (Validator::Number, Value::Float64(_))
        | (Validator::BigInt | Validator::CommitTs, Value::Int64(_))
        | (Validator::Boolean, Value::Boolean(_))
        | (Validator::String | Validator::Id { .. }, Value::String(_))
        | (Validator::Bytes, Value::Bytes(_))
        | (Validator::Array(_), Value::Array(_))
        | (Validator::Record { .. } | Validator::Object(_), Value::Object(_)) => true,
        _ => false,
    }
}

/// For an object member of a union: whether every literal-typed property present in the
/// value matches, i.e. the value's discriminant (`kind: "failed"`) selects this member.
fn discriminant_matches(validator: &Validator, value: &Value) -> bool {
    match (validator, value) {
        (Validator::Object(fields), Value::Object(map)) => {
            fields
                .iter()
                .all(|(name, field)| match (&field.validator, map.get(name)) {
                    (Validator::Literal(literal), Some(actual)) => literal == actual,
                    _ => true,
                })
        }
        _ => true,
    }
}

/// Reduces the failures of every member of a union (in member order) to one: the failure of
/// the member most like the value (right kind, matching discriminant, deepest failure). When
/// the best members all failed on the value itself, their expectations are merged into one
/// `expected a | b, got c`.
pub(crate) fn union_failure(
    path: &Path,
    members: &[Validator],
    value: &Value,
    failures: Vec<Failure>,
) -> Failure {
    let ranked: Vec<((bool, bool, usize), Failure)> = members
        .iter()
        .zip(failures)
        .map(|(member, failure)| {
            let rank = (
                kind_matches(member, value),
                discriminant_matches(member, value),
                failure.path.depth,
            );
            (rank, failure)
        })
        .collect();
    let best = match ranked.iter().map(|(rank, _)| *rank).max() {
        Some(best) => best,
        None => {
            return Failure::mismatch(path, &Validator::Union(Vec::new()), value);
        }
    };
    let top: Vec<Failure> = ranked
        .into_iter()
        .filter(|(rank, _)| *rank == best)
        .map(|(_, failure)| failure)
        .collect();
    let all_here = top
        .iter()
        .all(|f| f.path.depth == path.depth && matches!(f.kind, FailureKind::Mismatch { .. }));
    let mut top = top.into_iter();
    if !all_here {
        // `top` is never empty here: `best` is the rank of at least one failure.
        if let Some(first) = top.next() {
            return first;
        }
    }
    let mut expected: Vec<String> = Vec::new();
    let mut got = String::new();
    for failure in top {
        if let FailureKind::Mismatch {
            expected: alternatives,
            got: actual,
        } = failure.kind
        {
            for alternative in alternatives {
                if !expected.contains(&alternative) {
                    expected.push(alternative);
                }
            }
            if actual.len() > got.len() {
                got = actual;
            }
        }
    }
    Failure {
        path: path.clone(),
        kind: FailureKind::Mismatch { expected, got },
    }
}
