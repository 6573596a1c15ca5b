//! What can happen to an outbox item. Every event carries the caller's clock (`now`, epoch
//! milliseconds) because the engine has none.

/// One input to [`super::transition`].
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxEvent {
    /// A worker takes the item: a due pending item, or a sending item whose lease expired
    /// (takeover). `lease_token` must be unique per claim.
    Claim { now: f64, lease_token: String },
    /// The lease holder delivered the item.
    Delivered { now: f64, lease_token: String },
    /// The lease holder failed to deliver. `permanent` failures (e.g. the gateway rejected
    /// the payload) go dead at once; others retry after backoff until attempts run out.
    Failed {
        now: f64,
        lease_token: String,
        permanent: bool,
        error: String,
    },
    /// Housekeeping sweep: a sending item whose lease ran out (crashed worker) returns to
    /// pending, or goes dead if that was its last attempt; a pending item with no attempts
    /// left (the policy was lowered) goes dead.
    Expire { now: f64 },
    /// Dead-letter replay: a dead item starts over as a fresh pending item.
    Replay { now: f64 },
}

impl OutboxEvent {
    /// The event's clock reading.
    pub fn now(&self) -> f64 {
        match self {
            OutboxEvent::Claim { now, .. }
            | OutboxEvent::Delivered { now, .. }
            | OutboxEvent::Failed { now, .. }
            | OutboxEvent::Expire { now }
            | OutboxEvent::Replay { now } => *now,
        }
    }

    /// The event's name in the JSON form.
    pub fn name(&self) -> &'static str {
        match self {
            OutboxEvent::Claim { .. } => "claim",
            OutboxEvent::Delivered { .. } => "delivered",
            OutboxEvent::Failed { .. } => "failed",
            OutboxEvent::Expire { .. } => "expire",
            OutboxEvent::Replay { .. } => "replay",
        }
    }
}
