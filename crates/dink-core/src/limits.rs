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
