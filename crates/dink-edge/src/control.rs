//! The binary's line-based JSON control protocol (stdin commands, stdout replies), used by
//! tests and the demo; documented in docs/edge.md.
//!
//! Why in the library: parsing and the engine-only commands are pure, so a table of bad lines
//! (and a property test) proves that no input makes the edge panic; `main.rs` only adds the
//! commands that touch the connection (`offline`, `online`, `sync`, `quit`).

use dink_core::value::{fields_from_convex_json, fields_to_convex_json};
use dink_core::Fields;
use serde_json::{json, Map, Value};

use crate::sync::{Engine, Row, SyncError};

/// Longest command line accepted (a put carries at most a 1 MiB row, in JSON).
pub const MAX_LINE: usize = 4 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Put {
        collection: String,
        doc_id: String,
        fields: Fields,
        unset: Vec<String>,
    },
    Delete {
        collection: String,
        doc_id: String,
    },
    Get {
        collection: String,
        doc_id: String,
    },
    Rows {
        collection: String,
    },
    Status,
    Offline,
    Online,
    Sync {
        timeout_ms: u64,
    },
    /// A call to Convex through the bridge relay (`Bridge::call_center`); `count` calls at
    /// once share one token request (a test of the token cache).
    CallCenter {
        service: String,
        method: String,
        payload: Value,
        count: u32,
    },
    Quit,
}

/// A parsed line: the optional `id` to echo, and the command.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: Option<Value>,
    pub cmd: Command,
}

fn bad(message: impl Into<String>) -> SyncError {
    SyncError::new("BAD_REQUEST", message)
}

fn string(obj: &Map<String, Value>, key: &str) -> Result<String, SyncError> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(bad(format!("{key} must be a non-empty string")).with_field(key)),
        None => Err(bad(format!("{key} is required")).with_field(key)),
    }
}

/// Parse one line. On failure returns the `id` (when it could be read) and the error.
pub fn parse(line: &str) -> Result<Request, (Option<Value>, SyncError)> {
    if line.len() > MAX_LINE {
        return Err((None, bad(format!("line is over {MAX_LINE} bytes"))));
    }
    let v: Value = serde_json::from_str(line).map_err(|e| (None, bad(format!("not JSON: {e}"))))?;
    let Value::Object(obj) = v else {
        return Err((None, bad("a command is a JSON object")));
    };
    let id = obj.get("id").cloned();
    let fail = |e: SyncError| (id.clone(), e);
    let cmd = string(&obj, "cmd").map_err(fail)?;
    let cmd = match cmd.as_str() {
        "put" => {
            let fields = match obj.get("fields") {
                None => Fields::new(),
                Some(f @ Value::Object(_)) => {
                    fields_from_convex_json(&f.to_string()).map_err(|e| {
                        fail(bad(format!("fields: {}", e.message)).with_field("fields"))
                    })?
                }
                Some(_) => return Err(fail(bad("fields must be an object").with_field("fields"))),
            };
            let unset = match obj.get("unset") {
                None => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|k| k.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        fail(bad("unset must be an array of strings").with_field("unset"))
                    })?,
                Some(_) => {
                    return Err(fail(
                        bad("unset must be an array of strings").with_field("unset"),
                    ))
                }
            };
            Command::Put {
                collection: string(&obj, "collection").map_err(fail)?,
                doc_id: string(&obj, "doc_id").map_err(fail)?,
                fields,
                unset,
            }
        }
        "delete" => Command::Delete {
            collection: string(&obj, "collection").map_err(fail)?,
            doc_id: string(&obj, "doc_id").map_err(fail)?,
        },
        "get" => Command::Get {
            collection: string(&obj, "collection").map_err(fail)?,
            doc_id: string(&obj, "doc_id").map_err(fail)?,
        },
        "rows" => Command::Rows {
            collection: string(&obj, "collection").map_err(fail)?,
        },
        "status" => Command::Status,
        "offline" => Command::Offline,
        "online" => Command::Online,
        "sync" => Command::Sync {
            timeout_ms: match obj.get("timeout_ms") {
                None => 10_000,
                Some(t) => t.as_u64().filter(|t| *t <= 3_600_000).ok_or_else(|| {
                    fail(bad("timeout_ms must be an integer 0..3600000").with_field("timeout_ms"))
                })?,
            },
        },
        "call_center" => Command::CallCenter {
            service: string(&obj, "service").map_err(fail)?,
            method: string(&obj, "method").map_err(fail)?,
            payload: obj.get("payload").cloned().unwrap_or(Value::Null),
            count: match obj.get("count") {
                None => 1,
                Some(c) => c
                    .as_u64()
                    .filter(|c| (1..=100).contains(c))
                    .map(|c| c as u32)
                    .ok_or_else(|| {
                        fail(bad("count must be an integer 1..100").with_field("count"))
                    })?,
            },
        },
        "quit" => Command::Quit,
        other => {
            return Err(fail(
                bad(format!("unknown cmd {other:?}")).with_field("cmd"),
            ))
        }
    };
    Ok(Request { id, cmd })
}

/// `{doc_id, fields, deleted, status}`.
pub fn row_json(row: &Row) -> Value {
    let fields: Value =
        serde_json::from_str(&fields_to_convex_json(&row.fields)).unwrap_or(Value::Null);
    json!({
        "doc_id": row.doc_id,
        "fields": fields,
        "deleted": row.deleted,
        "status": serde_json::to_value(&row.status).unwrap_or(Value::Null),
    })
}

pub fn error_json(e: &SyncError) -> Value {
    let mut err = json!({ "code": e.code, "message": e.message });
    if let Some(f) = &e.field {
        err["field"] = json!(f);
    }
    err
}

/// A reply line: `{id?, ok:true, ...data}` or `{id?, ok:false, error}`.
pub fn reply(id: &Option<Value>, result: Result<Value, SyncError>) -> String {
    let mut out = Map::new();
    if let Some(id) = id {
        out.insert("id".into(), id.clone());
    }
    match result {
        Ok(Value::Object(data)) => {
            out.insert("ok".into(), Value::Bool(true));
            out.extend(data);
        }
        Ok(_) => {
            out.insert("ok".into(), Value::Bool(true));
        }
        Err(e) => {
            out.insert("ok".into(), Value::Bool(false));
            out.insert("error".into(), error_json(&e));
        }
    }
    Value::Object(out).to_string()
}

/// Run a command that needs only the engine; `None` for the connection commands.
pub fn execute_local(engine: &Engine, cmd: &Command) -> Option<Result<Value, SyncError>> {
    Some(match cmd {
        Command::Put {
            collection,
            doc_id,
            fields,
            unset,
        } => engine
            .put(collection, doc_id, fields, unset)
            .map(|op| json!({ "op_id": op })),
        Command::Delete { collection, doc_id } => engine
            .delete(collection, doc_id)
            .map(|op| json!({ "op_id": op })),
        Command::Get { collection, doc_id } => engine
            .get(collection, doc_id)
            .map(|r| json!({ "row": r.as_ref().map(row_json) })),
        Command::Rows { collection } => engine
            .list(collection)
            .map(|rows| json!({ "rows": rows.iter().map(row_json).collect::<Vec<_>>() })),
        _ => return None,
    })
}

/// The `status` reply's data.
pub fn status_json(engine: &Engine, connected: bool) -> Result<Value, SyncError> {
    Ok(json!({
        "connected": connected,
        "pending": engine.pending_count()?,
        "last_seq": engine.last_seq()?,
        "stats": serde_json::to_value(engine.stats()).unwrap_or(Value::Null),
    }))
}
