//! The result frame every exported function returns (see docs/wasm-boundary.md): a status
//! byte, then `[tag u8][len u32 LE][payload]` sections. One flat buffer keeps the boundary to
//! a single copy out of wasm memory and needs no JS-owned Rust objects.

use dink_core::EngineError;

pub const STATE: u8 = 1;
pub const STATE_VECTOR: u8 = 2;
pub const DELTA: u8 = 3;
pub const FIELDS: u8 = 4;
pub const FLAGS: u8 = 5;
pub const KEYS: u8 = 6;
pub const BYTES: u8 = 7;
pub const JSON: u8 = 8;
pub const ERROR_CODE: u8 = 16;
pub const ERROR_MESSAGE: u8 = 17;
pub const ERROR_FIELD: u8 = 18;

pub const FLAG_DELETED: u8 = 1;
pub const FLAG_CHANGED: u8 = 2;
pub const FLAG_DRIFTED: u8 = 4;

const STATUS_OK: u8 = 0;
const STATUS_ERROR: u8 = 1;

pub struct Frame(Vec<u8>);

impl Frame {
    pub fn ok(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity + 1);
        buf.push(STATUS_OK);
        Frame(buf)
    }

    pub fn section(mut self, tag: u8, payload: &[u8]) -> Self {
        self.0.push(tag);
        // Payloads are capped far below 4 GiB by the engine's limits and wasm32's memory.
        self.0
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        self.0.extend_from_slice(payload);
        self
    }

    pub fn flags(self, deleted: bool, changed: bool, drifted: bool) -> Self {
        let mut bits = 0u8;
        if deleted {
            bits |= FLAG_DELETED;
        }
        if changed {
            bits |= FLAG_CHANGED;
        }
        if drifted {
            bits |= FLAG_DRIFTED;
        }
        self.section(FLAGS, &[bits])
    }

    pub fn error(err: &EngineError) -> Vec<u8> {
        let mut frame = Frame(vec![STATUS_ERROR])
            .section(ERROR_CODE, err.code.as_str().as_bytes())
            .section(ERROR_MESSAGE, err.message.as_bytes());
        if let Some(field) = &err.field {
            frame = frame.section(ERROR_FIELD, field.as_bytes());
        }
        if let Some(sv) = &err.state_vector {
            frame = frame.section(STATE_VECTOR, sv);
        }
        frame.0
    }

    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Turns an engine result into a frame.
pub fn respond<T>(result: Result<T, EngineError>, ok: impl FnOnce(T) -> Frame) -> Vec<u8> {
    match result {
        Ok(value) => ok(value).finish(),
        Err(err) => Frame::error(&err),
    }
}
