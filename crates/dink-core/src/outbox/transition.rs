//! The transition function: one pure step of the outbox state machine.
//!
//! ```text
//!            claim                delivered
//! pending ----------> sending -------------> sent
//!    ^   ^               |  \
//!    |   |  failed       |   \ failed (permanent, or last attempt)
//!    |   +---(backoff)---+    \ expire (last attempt)
//!    |   +---expire----- +     v
//!    +------ replay ---------- dead
//! ```
//!
//! A claim starts an attempt (`attempts += 1`) and grants a lease; a sending item whose lease
//! ran out may be claimed again by a new token (takeover) or returned to pending by `expire`.
//! An expired lease returns the item due at once: the lease itself already delayed the retry
//! by `lease_ms`, longer than the early backoff steps.

use super::backoff::backoff_delay_ms;
use super::{Lease, OutboxEvent, OutboxItem, OutboxPolicy, OutboxStatus, TransitionError};

/// Whether a pending item's retry time has come.
pub fn is_due(item: &OutboxItem, now: f64) -> bool {
    item.status == OutboxStatus::Pending && now >= item.next_attempt_at
}

/// Whether a sending item's lease has run out (`lease.until <= now`).
pub fn lease_expired(item: &OutboxItem, now: f64) -> bool {
    item.status == OutboxStatus::Sending
        && item.lease.as_ref().is_some_and(|lease| now >= lease.until)
}

/// Whether a claim at `now` (with a fresh token) would succeed.
pub fn claimable(item: &OutboxItem, now: f64, policy: &OutboxPolicy) -> bool {
    item.attempts < policy.max_attempts && (is_due(item, now) || lease_expired(item, now))
}

/// When the item next needs a worker: a pending item's retry time, a sending item's lease
/// expiry; `None` for terminal items. Lets the processor schedule its next drain.
pub fn next_wake_at(item: &OutboxItem) -> Option<f64> {
    match item.status {
        OutboxStatus::Pending => Some(item.next_attempt_at),
        OutboxStatus::Sending => item.lease.as_ref().map(|lease| lease.until),
        OutboxStatus::Sent | OutboxStatus::Dead => None,
    }
}

/// Applies `event` to `item` under `policy`, returning the next state. An illegal event is
/// refused with the reason, and the caller's item is untouched (it is only borrowed).
pub fn transition(
    item: &OutboxItem,
    event: &OutboxEvent,
    policy: &OutboxPolicy,
) -> Result<OutboxItem, TransitionError> {
    policy
        .check()
        .map_err(|reason| TransitionError::InvalidPolicy { reason })?;
    item.check()
        .map_err(|reason| TransitionError::InconsistentItem { reason })?;
    let now = event.now();
    if !now.is_finite() {
        return Err(TransitionError::InvalidTime { now });
    }
    match event {
        OutboxEvent::Claim { lease_token, .. } => claim(item, now, lease_token, policy),
        OutboxEvent::Delivered { lease_token, .. } => {
            check_holder(item, lease_token)?;
            Ok(finish(
                item,
                OutboxStatus::Sent,
                now,
                item.last_error.clone(),
            ))
        }
        OutboxEvent::Failed {
            lease_token,
            permanent,
            error,
            ..
        } => {
            check_holder(item, lease_token)?;
            Ok(fail(item, now, *permanent, error, policy))
        }
        OutboxEvent::Expire { .. } => expire(item, now, policy),
        OutboxEvent::Replay { .. } => match item.status {
            OutboxStatus::Dead => Ok(OutboxItem::new(item.id.clone(), now)),
            status => Err(TransitionError::NotDead { status }),
        },
    }
}

fn claim(
    item: &OutboxItem,
    now: f64,
    token: &str,
    policy: &OutboxPolicy,
) -> Result<OutboxItem, TransitionError> {
    if token.is_empty() {
        return Err(TransitionError::EmptyToken);
    }
    let mut last_error = item.last_error.clone();
    match (&item.status, &item.lease) {
        (OutboxStatus::Pending, _) => {
            if now < item.next_attempt_at {
                return Err(TransitionError::NotDue {
                    next_attempt_at: item.next_attempt_at,
                });
            }
        }
        (OutboxStatus::Sending, Some(lease)) => {
            if now < lease.until {
                return Err(TransitionError::LeaseHeld {
                    lease_until: lease.until,
                });
            }
            if lease.token == token {
                return Err(TransitionError::TokenReused);
            }
            last_error = Some(expired_message(item.attempts));
        }
        (status, _) => return Err(TransitionError::Terminal { status: *status }),
    }
    if item.attempts >= policy.max_attempts {
        return Err(TransitionError::AttemptsExhausted {
            attempts: item.attempts,
            max_attempts: policy.max_attempts,
        });
    }
    Ok(OutboxItem {
        id: item.id.clone(),
        status: OutboxStatus::Sending,
        attempts: item.attempts + 1,
        next_attempt_at: item.next_attempt_at,
        lease: Some(Lease {
            token: token.to_string(),
            until: now + policy.lease_ms,
        }),
        last_error,
        finished_at: None,
    })
}

/// Only the current lease holder may report an outcome.
fn check_holder(item: &OutboxItem, token: &str) -> Result<(), TransitionError> {
    match (&item.status, &item.lease) {
        (OutboxStatus::Sending, Some(lease)) if lease.token == token => Ok(()),
        (OutboxStatus::Sending, _) => Err(TransitionError::StaleLease),
        (OutboxStatus::Pending, _) => Err(TransitionError::NotLeased {
            status: OutboxStatus::Pending,
        }),
        (status, _) => Err(TransitionError::Terminal { status: *status }),
    }
}

fn fail(
    item: &OutboxItem,
    now: f64,
    permanent: bool,
    error: &str,
    policy: &OutboxPolicy,
) -> OutboxItem {
    if permanent || item.attempts >= policy.max_attempts {
        return finish(item, OutboxStatus::Dead, now, Some(error.to_string()));
    }
    retry_at(
        item,
        now + backoff_delay_ms(&item.id, item.attempts, policy),
        error.to_string(),
    )
}

fn expire(
    item: &OutboxItem,
    now: f64,
    policy: &OutboxPolicy,
) -> Result<OutboxItem, TransitionError> {
    let exhausted = item.attempts >= policy.max_attempts;
    match (&item.status, &item.lease) {
        (OutboxStatus::Sending, Some(lease)) => {
            if now < lease.until {
                return Err(TransitionError::LeaseHeld {
                    lease_until: lease.until,
                });
            }
            let reason = expired_message(item.attempts);
            Ok(if exhausted {
                finish(item, OutboxStatus::Dead, now, Some(reason))
            } else {
                retry_at(item, now, reason)
            })
        }
        (OutboxStatus::Pending, _) if exhausted => {
            let reason = format!(
                "attempts exhausted ({} of {})",
                item.attempts, policy.max_attempts
            );
            Ok(finish(item, OutboxStatus::Dead, now, Some(reason)))
        }
        (OutboxStatus::Pending, _) => Err(TransitionError::NothingToExpire),
        (status, _) => Err(TransitionError::Terminal { status: *status }),
    }
}

fn expired_message(attempt: u32) -> String {
    format!("lease of attempt {attempt} expired before the worker reported back")
}

fn retry_at(item: &OutboxItem, next_attempt_at: f64, error: String) -> OutboxItem {
    OutboxItem {
        id: item.id.clone(),
        status: OutboxStatus::Pending,
        attempts: item.attempts,
        next_attempt_at,
        lease: None,
        last_error: Some(error),
        finished_at: None,
    }
}

fn finish(
    item: &OutboxItem,
    status: OutboxStatus,
    now: f64,
    last_error: Option<String>,
) -> OutboxItem {
    OutboxItem {
        id: item.id.clone(),
        status,
        attempts: item.attempts,
        next_attempt_at: item.next_attempt_at,
        lease: None,
        last_error,
        finished_at: Some(now),
    }
}
