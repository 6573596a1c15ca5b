//! Retry and lease parameters. They travel with every transition (rather than being stored on
//! the item) so an operator can change them without migrating rows.

/// How long leases last and how retries back off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutboxPolicy {
    /// Most delivery attempts (claims) per item before it goes dead. At least 1.
    pub max_attempts: u32,
    /// Backoff ceiling after the first failure, in milliseconds; doubles per attempt.
    pub base_delay_ms: f64,
    /// Cap on the backoff ceiling, in milliseconds.
    pub max_delay_ms: f64,
    /// How long a claim lasts before the item may be expired or taken over, in milliseconds.
    /// Should comfortably exceed one delivery call (Convex actions run up to 10 minutes,
    /// but a push batch takes seconds).
    pub lease_ms: f64,
}

impl Default for OutboxPolicy {
    /// 8 attempts, 1 s base, 5 min cap, 30 s lease: about 8 minutes of worst-case retrying
    /// before an item is dead-lettered, which rides out a gateway restart.
    fn default() -> Self {
        OutboxPolicy {
            max_attempts: 8,
            base_delay_ms: 1_000.0,
            max_delay_ms: 300_000.0,
            lease_ms: 30_000.0,
        }
    }
}

impl OutboxPolicy {
    /// Checks the parameters; the message names the bad one.
    pub fn check(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("maxAttempts must be at least 1".into());
        }
        if !(self.base_delay_ms.is_finite() && self.base_delay_ms >= 0.0) {
            return Err("baseDelayMs must be a finite number >= 0".into());
        }
        if !(self.max_delay_ms.is_finite() && self.max_delay_ms >= 0.0) {
            return Err("maxDelayMs must be a finite number >= 0".into());
        }
        if !(self.lease_ms.is_finite() && self.lease_ms > 0.0) {
            return Err("leaseMs must be a finite number > 0".into());
        }
        Ok(())
    }
}
