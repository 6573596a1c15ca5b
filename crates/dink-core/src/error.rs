//! Typed engine errors. Every failure the engine reports carries one of these codes so the
//! Convex side can answer an edge with a structured rejection instead of a stack trace.

use std::fmt;

/// Error codes shared with the wire protocol (see docs/protocol.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The bytes are not a decodable Yjs update of the declared format, or the document
    /// they produce does not have the row layout.
    InvalidDelta,
    /// A size, depth, field-count or pending-struct limit was exceeded.
    TooLarge,
    /// The update depends on structs the server does not have; the error carries the
    /// server's state vector so the sender can resend a full diff.
    MissingDependencies,
    /// Materialized fields do not match the table's validator.
    ValidationError,
    /// A caller-side argument (JSON, state vector, format) is malformed.
    InvalidArgument,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidDelta => "INVALID_DELTA",
            ErrorCode::TooLarge => "TOO_LARGE",
            ErrorCode::MissingDependencies => "MISSING_DEPENDENCIES",
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
        }
    }
}

/// A structured engine failure. `field` names the offending field path for validation and
/// limit errors; `state_vector` is set for [`ErrorCode::MissingDependencies`].
#[derive(Debug, Clone, PartialEq)]
pub struct EngineError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub state_vector: Option<Vec<u8>>,
}

impl EngineError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        EngineError {
            code,
            message: message.into(),
            field: None,
            state_vector: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn invalid_delta(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidDelta, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TooLarge, message)
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

impl std::error::Error for EngineError {}
