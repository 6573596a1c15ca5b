//! Validation of a synced row's materialized fields against a Convex validator's JSON form,
//! so an edge's write is rejected with the offending field before Convex would refuse it
//! (and so the rejection names the field instead of failing the whole mutation).
//!
//! The validator is the JSON form the `convex` npm package produces (`validator.json`, e.g.
//! of `v.object({...})`, or a table's `documentType` in `schema.export()`):
//!
//! ```json
//! {"type": "null" | "number" | "bigint" | "boolean" | "string" | "bytes" | "any" | "commitTs"}
//! {"type": "literal", "value": "a" | 1.5 | true | {"$integer": "BwAAAAAAAAA="}}
//! {"type": "id", "tableName": "users"}
//! {"type": "array", "value": <validator>}
//! {"type": "record", "keys": <validator>, "values": {"fieldType": <validator>, "optional": false}}
//! {"type": "object", "value": {"name": {"fieldType": <validator>, "optional": false}, ...}}
//! {"type": "union", "value": [<validator>, ...]}
//! ```
//!
//! Semantics follow Convex: a required property must be present and an object may not carry
//! properties its validator does not declare; `number` accepts float64 only (int64 is
//! `bigint`); literals compare exactly (`0` and `-0` differ); `id` accepts any string (table
//! membership needs the database); a union passes if any member passes; a record checks
//! every key and value; `any` accepts everything.
//!
//! **System fields.** The fields of a synced row are its user fields (including `id` and
//! possibly `timestamp`); they never include Convex's system fields. A table's document
//! validator (e.g. `schema.doc("tasks")`) may declare `_id` and `_creationTime`, so at the top
//! level (the document, or each member of a top-level union) declared fields whose names
//! start with `_` are treated as optional: checked if present, never required. Nested
//! objects are checked as declared.
//!
//! Errors: a row that does not match is [`crate::ErrorCode::ValidationError`] with `field` set
//! to the path of the offending value (`title`, `meta.owner`, `tags[2]`, `counts.k`) and a
//! message such as `expected string, got number`, `missing required field "owner"` or
//! `extra field "foo" is not in the validator`. When no union member matches, the message
//! comes from the member most like the value (same kind, matching literal discriminant,
//! deepest failure), or lists the alternatives (`expected "todo" | "done", got string "x"`).
//! A malformed validator, or fields JSON that does not parse, is
//! [`crate::ErrorCode::InvalidArgument`].

mod check;
mod failure;
mod validator;

pub use validator::{FieldValidator, Validator, MAX_VALIDATOR_DEPTH};

use crate::json::Json;

use crate::error::EngineError;
use crate::value::{fields_from_convex_json, Fields, Value};

impl Validator {
    /// Checks a row's fields. Parse the validator once with [`Validator::from_json`] and call
    /// this per row when validating many rows against one table.
    pub fn check_fields(&self, fields: &Fields) -> Result<(), EngineError> {
        check::check_document(self, fields).map_err(failure::Failure::into_error)
    }

    /// Checks one value. `document` is true when `value` is a whole row (system fields in an
    /// object validator are then optional, see the module docs).
    pub fn check_value(&self, value: &Value, document: bool) -> Result<(), EngineError> {
        check::check(self, value, &failure::Path::default(), document)
            .map_err(failure::Failure::into_error)
    }
}

/// Validates a row's fields against a validator's JSON form.
pub fn validate(fields: &Fields, validator: &Json) -> Result<(), EngineError> {
    Validator::from_json(validator)?.check_fields(fields)
}

/// [`validate`] over text: `fields_json` is a Convex JSON object (as across the wasm
/// boundary), `validator_json` the validator's JSON.
pub fn validate_json(fields_json: &str, validator_json: &str) -> Result<(), EngineError> {
    let validator = Validator::from_json_str(validator_json)?;
    let fields = fields_from_convex_json(fields_json)?;
    validator.check_fields(&fields)
}
