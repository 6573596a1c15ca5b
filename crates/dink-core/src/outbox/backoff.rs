//! Capped exponential backoff with full jitter, drawn from a hash of the item id and the
//! attempt number instead of a random source: the engine has no randomness, and a
//! deterministic draw makes every retry schedule reproducible in tests and logs while still
//! spreading items that failed together (different ids) across the window.
//!
//! `delay = floor(u * min(max_delay_ms, base_delay_ms * 2^(attempt-1)))` with
//! `u = splitmix64(fnv1a64(id) ^ attempt * 0x9E3779B97F4A7C15) >> 11 / 2^53`, so `u` is in
//! `[0, 1)` and the delay in `[0, ceiling]`, whole milliseconds.

use super::OutboxPolicy;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// SplitMix64's finaliser: FNV alone mixes its last bytes poorly, this spreads every bit.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The deterministic uniform draw in `[0, 1)` for one item and attempt.
pub fn jitter_fraction(id: &str, attempt: u32) -> f64 {
    let seed = fnv1a64(id.as_bytes()) ^ u64::from(attempt).wrapping_mul(GOLDEN_GAMMA);
    // The top 53 bits fill an f64 mantissa exactly, so the result is < 1.
    (splitmix64(seed) >> 11) as f64 / (1u64 << 53) as f64
}

/// The upper bound of the delay after failed attempt `attempt` (1-based; 0 is treated as 1):
/// `min(max_delay_ms, base_delay_ms * 2^(attempt-1))`, without overflow.
pub fn backoff_ceiling_ms(attempt: u32, policy: &OutboxPolicy) -> f64 {
    // 2^62 already exceeds any sane cap; clamping keeps the product finite.
    let exponent = attempt.saturating_sub(1).min(62);
    let ceiling = policy.base_delay_ms * (1u64 << exponent) as f64;
    ceiling.min(policy.max_delay_ms).max(0.0)
}

/// The delay before the next attempt after failed attempt `attempt`, in whole milliseconds,
/// in `[0, backoff_ceiling_ms(attempt, policy)]`.
pub fn backoff_delay_ms(id: &str, attempt: u32, policy: &OutboxPolicy) -> f64 {
    (jitter_fraction(id, attempt) * backoff_ceiling_ms(attempt, policy)).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let policy = OutboxPolicy::default();
        assert_eq!(backoff_ceiling_ms(0, &policy), 1_000.0);
        assert_eq!(backoff_ceiling_ms(1, &policy), 1_000.0);
        assert_eq!(backoff_ceiling_ms(2, &policy), 2_000.0);
        assert_eq!(backoff_ceiling_ms(9, &policy), 256_000.0);
        assert_eq!(backoff_ceiling_ms(10, &policy), 300_000.0);
        assert_eq!(backoff_ceiling_ms(u32::MAX, &policy), 300_000.0);
    }

    #[test]
    fn draws_differ_between_ids_and_attempts() {
        let a = jitter_fraction("item-a", 1);
        assert_ne!(a, jitter_fraction("item-b", 1));
        assert_ne!(a, jitter_fraction("item-a", 2));
        assert_eq!(a, jitter_fraction("item-a", 1));
    }
}
