//! Why a transition was refused. A refusal never changes the item, so callers can treat
//! every error as "someone else got there first" or "nothing to do" and move on.

use std::fmt;

use super::OutboxStatus;
use crate::error::EngineError;
use crate::json::number_text;

/// A refused outbox transition.
#[derive(Debug, Clone, PartialEq)]
pub enum TransitionError {
    /// The event's `now` is not a finite number.
    InvalidTime { now: f64 },
    /// The lease token is empty.
    EmptyToken,
    /// The policy's parameters are out of range.
    InvalidPolicy { reason: String },
    /// The item violates the status/lease invariant (e.g. sending without a lease).
    InconsistentItem { reason: String },
    /// Claim of a pending item before its `next_attempt_at`.
    NotDue { next_attempt_at: f64 },
    /// Claim or expire of a sending item whose lease is still running.
    LeaseHeld { lease_until: f64 },
    /// Takeover of an expired lease with the same token: tokens must be unique per claim.
    TokenReused,
    /// Claim of an item that has used all its attempts (apply `expire` to dead-letter it).
    AttemptsExhausted { attempts: u32, max_attempts: u32 },
    /// Delivered/failed for an item that is not being sent (its lease expired and it went
    /// back to pending).
    NotLeased { status: OutboxStatus },
    /// Delivered/failed with a token that is not the current lease's: a stale worker.
    StaleLease,
    /// Expire of a pending item that is not exhausted.
    NothingToExpire,
    /// Any delivery event on a sent or dead item.
    Terminal { status: OutboxStatus },
    /// Replay of an item that is not dead.
    NotDead { status: OutboxStatus },
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionError::InvalidTime { now } => {
                write!(
                    f,
                    "now must be a finite number of milliseconds, got {}",
                    number_text(*now)
                )
            }
            TransitionError::EmptyToken => write!(f, "leaseToken must not be empty"),
            TransitionError::InvalidPolicy { reason } => write!(f, "invalid policy: {reason}"),
            TransitionError::InconsistentItem { reason } => {
                write!(f, "inconsistent item: {reason}")
            }
            TransitionError::NotDue { next_attempt_at } => {
                write!(f, "item is not due until {}", number_text(*next_attempt_at))
            }
            TransitionError::LeaseHeld { lease_until } => {
                write!(f, "item is leased until {}", number_text(*lease_until))
            }
            TransitionError::TokenReused => write!(
                f,
                "a takeover must use a new leaseToken, not the expired lease's"
            ),
            TransitionError::AttemptsExhausted {
                attempts,
                max_attempts,
            } => write!(
                f,
                "item has used {attempts} of {max_attempts} attempts; expire it to dead-letter it"
            ),
            TransitionError::NotLeased { status } => write!(
                f,
                "item is {}, not sending: the lease expired and was released",
                status.as_str()
            ),
            TransitionError::StaleLease => write!(
                f,
                "leaseToken does not hold the current lease (the lease expired and was taken over)"
            ),
            TransitionError::NothingToExpire => {
                write!(f, "pending item has attempts left; nothing to expire")
            }
            TransitionError::Terminal { status } => {
                write!(f, "item is {} (terminal)", status.as_str())
            }
            TransitionError::NotDead { status } => {
                write!(
                    f,
                    "only dead items can be replayed; item is {}",
                    status.as_str()
                )
            }
        }
    }
}

impl TransitionError {
    /// A stable machine-readable name (also embedded in the [`EngineError`] message), so a
    /// caller can tell "someone else holds it" from a programming error without parsing prose.
    pub fn kind(&self) -> &'static str {
        match self {
            TransitionError::InvalidTime { .. } => "INVALID_TIME",
            TransitionError::EmptyToken => "EMPTY_TOKEN",
            TransitionError::InvalidPolicy { .. } => "INVALID_POLICY",
            TransitionError::InconsistentItem { .. } => "INCONSISTENT_ITEM",
            TransitionError::NotDue { .. } => "NOT_DUE",
            TransitionError::LeaseHeld { .. } => "LEASE_HELD",
            TransitionError::TokenReused => "TOKEN_REUSED",
            TransitionError::AttemptsExhausted { .. } => "ATTEMPTS_EXHAUSTED",
            TransitionError::NotLeased { .. } => "NOT_LEASED",
            TransitionError::StaleLease => "STALE_LEASE",
            TransitionError::NothingToExpire => "NOTHING_TO_EXPIRE",
            TransitionError::Terminal { .. } => "TERMINAL",
            TransitionError::NotDead { .. } => "NOT_DEAD",
        }
    }
}

impl std::error::Error for TransitionError {}

impl From<TransitionError> for EngineError {
    fn from(err: TransitionError) -> Self {
        EngineError::invalid_argument(format!("illegal outbox transition ({}): {err}", err.kind()))
    }
}
