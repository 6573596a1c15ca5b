//! The outbox item as the state machine sees it: only the delivery bookkeeping, never the
//! payload, so the state machine stays independent of what is being delivered.

/// Where an item is in its delivery life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Waiting to be claimed once `next_attempt_at` has passed.
    Pending,
    /// Claimed by one worker, whose lease runs until `lease.until`.
    Sending,
    /// Delivered (terminal).
    Sent,
    /// Gave up: permanent failure or attempts exhausted (terminal, except an explicit replay).
    Dead,
}

impl OutboxStatus {
    /// The status string used in the JSON form and in the Convex table.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Dead => "dead",
        }
    }

    /// Parses a status string; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(OutboxStatus::Pending),
            "sending" => Some(OutboxStatus::Sending),
            "sent" => Some(OutboxStatus::Sent),
            "dead" => Some(OutboxStatus::Dead),
            _ => None,
        }
    }

    /// Sent and dead items take no further delivery events.
    pub fn is_terminal(self) -> bool {
        matches!(self, OutboxStatus::Sent | OutboxStatus::Dead)
    }
}

/// The claim one worker holds on a sending item. The token is chosen by the worker (any
/// unique string); only the holder of the current token may report the outcome, so a worker
/// whose lease expired and was taken over cannot complete or fail the new holder's attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub token: String,
    /// Epoch milliseconds after which the lease may be expired or taken over.
    pub until: f64,
}

/// One outbox item's delivery state.
///
/// Invariant (checked by every transition): `lease` is `Some` exactly when `status` is
/// [`OutboxStatus::Sending`], and every time is finite.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// Stable event id; also seeds the backoff jitter, so retries of one item are spread
    /// deterministically without a random source.
    pub id: String,
    pub status: OutboxStatus,
    /// Delivery attempts started (incremented by each claim); never above the policy's
    /// `max_attempts`.
    pub attempts: u32,
    /// Epoch milliseconds before which a pending item must not be claimed.
    pub next_attempt_at: f64,
    pub lease: Option<Lease>,
    /// The most recent failure reason (worker error, or a lease expiry).
    pub last_error: Option<String>,
    /// When the item became sent or dead; drives retention purges. `None` while live.
    pub finished_at: Option<f64>,
}

impl OutboxItem {
    /// A fresh pending item, due at `now`.
    pub fn new(id: impl Into<String>, now: f64) -> Self {
        OutboxItem {
            id: id.into(),
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease: None,
            last_error: None,
            finished_at: None,
        }
    }

    /// Checks the structural invariant; the message says what is inconsistent.
    pub fn check(&self) -> Result<(), String> {
        if !self.next_attempt_at.is_finite() {
            return Err("nextAttemptAt must be a finite number".into());
        }
        if let Some(at) = self.finished_at {
            if !at.is_finite() {
                return Err("finishedAt must be a finite number".into());
            }
        }
        match (&self.status, &self.lease) {
            (OutboxStatus::Sending, None) => {
                Err("a sending item must carry a lease (leaseToken and leaseUntil)".into())
            }
            (OutboxStatus::Sending, Some(lease)) => {
                if lease.token.is_empty() {
                    Err("leaseToken must not be empty".into())
                } else if !lease.until.is_finite() {
                    Err("leaseUntil must be a finite number".into())
                } else {
                    Ok(())
                }
            }
            (status, Some(_)) => Err(format!("a {} item must not carry a lease", status.as_str())),
            (_, None) => Ok(()),
        }
    }
}
