//! Limits applied to untrusted input before (or while) it is decoded.

/// Caps for one engine call. The defaults follow Convex's own document limits, so a row the
/// engine accepts can always be written by Convex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest incoming update, in bytes, checked before decoding.
    pub max_update_bytes: usize,
    /// Largest stored state, in bytes, checked before decoding.
    pub max_state_bytes: usize,
    /// Largest materialized row (Convex's estimate of document size), in bytes.
    pub max_row_bytes: usize,
    /// Deepest nesting of arrays and objects inside one field value (Convex: 16).
    pub max_depth: usize,
    /// Most fields in one row (Convex: 1024).
    pub max_fields: usize,
    /// Most clock units an update may leave unintegrated before it is refused as abusive
    /// (TOO_LARGE) rather than answered with MISSING_DEPENDENCIES. Pending structs are never
    /// stored either way.
    pub max_pending_structs: usize,
}

/// Most clock units one update may advance a single client's clock past what the row already
/// holds (a GC or skip range, or a run of structs). Larger jumps are INVALID_DELTA.
///
/// Why: yjs clocks are 32-bit. Without a bound, any edge could send a GC range of 2^32-2 units
/// for *another* client id; the row would store it, and that client's next real write would be
/// refused forever ("struct clock overflows"): row poisoning. 2^20 (1,048,576) is far above
/// what one honest update carries: a row is at most 1 MiB (`CONVEX_MAX_DOCUMENT_BYTES`) and
/// every plain map value costs at least one clock unit and two bytes, so one update of a row
/// that fits Convex advances a client by well under 2^20 — except a full-state resend of a
/// client's whole history to a server that never saw it, which would need more than a million
/// overwrites of one row by one client made offline. Poisoning now needs 4,096 accepted updates
/// per client per row instead of one.
pub const MAX_CLOCK_ADVANCE: u32 = 1 << 20;

/// Convex's maximum document size.
pub const CONVEX_MAX_DOCUMENT_BYTES: usize = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_update_bytes: CONVEX_MAX_DOCUMENT_BYTES,
            // Tombstoned history of a row may exceed the row itself; Convex's per-document cap
            // still bounds what can be stored in one `bytes` field.
            max_state_bytes: CONVEX_MAX_DOCUMENT_BYTES,
            max_row_bytes: CONVEX_MAX_DOCUMENT_BYTES,
            max_depth: 16,
            max_fields: 1024,
            max_pending_structs: 10_000,
        }
    }
}
