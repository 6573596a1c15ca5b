//! The outbox delivery state machine (Convex -> gateway), pure: the caller supplies the
//! clock, the lease tokens and the policy, and stores the returned item.
//!
//! | from | event | to |
//! |---|---|---|
//! | pending, due | `claim` | sending (attempts + 1, lease until now + `lease_ms`) |
//! | sending, lease expired | `claim` with a new token | sending (takeover, attempts + 1) |
//! | sending | `delivered` by the holder | sent |
//! | sending | `failed` by the holder | pending after backoff; dead if permanent or last attempt |
//! | sending, lease expired | `expire` | pending, due now; dead if last attempt |
//! | pending, attempts exhausted | `expire` | dead (only after a lowered `max_attempts`) |
//! | dead | `replay` | pending, attempts 0 |
//!
//! Everything else is refused with a [`TransitionError`] and the item stays as it was.
//!
//! Guarantees (property-tested in `tests/outbox_properties.rs`): an item never disappears and
//! always ends sent or dead once workers keep claiming it; at most one lease is valid at a
//! time (a stale token's outcome is refused); sent and dead are terminal except an explicit
//! replay of a dead item; attempts never exceed `max_attempts`; backoff stays within
//! `[0, min(max_delay_ms, base_delay_ms * 2^(attempt-1))]` and is deterministic per id and
//! attempt. Delivery is at-least-once: a worker can deliver and then crash before reporting,
//! so consumers dedupe by the item id.
//!
//! # JSON shapes (the wasm boundary, see [`transition_json`])
//!
//! Item (unknown fields such as the payload are ignored on input; the output always has
//! every field below, `null` when unset; times are epoch milliseconds):
//!
//! ```json
//! {"id": "evt_1", "status": "pending" | "sending" | "sent" | "dead", "attempts": 0,
//!  "nextAttemptAt": 1700000000000, "leaseToken": null | "w-42", "leaseUntil": null | 1700000030000,
//!  "lastError": null | "HTTP 503", "finishedAt": null | 1700000001000}
//! ```
//!
//! `attempts` may be omitted (0); `leaseToken` and `leaseUntil` are set together, exactly when
//! the status is `sending`.
//!
//! Events (unknown fields are refused):
//!
//! ```json
//! {"type": "claim", "now": 1700000000000, "leaseToken": "w-42"}
//! {"type": "delivered", "now": 1700000000500, "leaseToken": "w-42"}
//! {"type": "failed", "now": 1700000000500, "leaseToken": "w-42", "permanent": false, "error": "HTTP 503"}
//! {"type": "expire", "now": 1700000031000}
//! {"type": "replay", "now": 1700000100000}
//! ```
//!
//! (`permanent` defaults to `false`, `error` to "unspecified error".)
//!
//! Policy (every field optional; `""`, `null` or `{}` mean all defaults; unknown fields are
//! refused):
//!
//! ```json
//! {"maxAttempts": 8, "baseDelayMs": 1000, "maxDelayMs": 300000, "leaseMs": 30000}
//! ```
//!
//! Errors are [`crate::ErrorCode::InvalidArgument`]. Illegal transitions read
//! `illegal outbox transition (KIND): reason`, with KIND one of
//! [`TransitionError::kind`]'s names (e.g. `NOT_DUE`, `LEASE_HELD`, `STALE_LEASE`), so the
//! caller can skip items another worker got to first.

mod backoff;
mod error;
mod event;
mod item;
mod json;
mod policy;
mod transition;

pub use backoff::{backoff_ceiling_ms, backoff_delay_ms, jitter_fraction};
pub use error::TransitionError;
pub use event::OutboxEvent;
pub use item::{Lease, OutboxItem, OutboxStatus};
pub use json::{event_from_json, item_from_json, item_to_json, policy_from_json, transition_json};
pub use policy::OutboxPolicy;
pub use transition::{claimable, is_due, lease_expired, next_wake_at, transition};
