//! Outbox state machine: scenario tests for each rule, then property tests that simulate
//! several workers racing over several items with random claims, outcomes, crashes, sweeps
//! and clock jumps.

use std::collections::HashMap;

use dink_core::outbox::{
    backoff_ceiling_ms, backoff_delay_ms, claimable, is_due, item_to_json, lease_expired,
    next_wake_at, transition, transition_json, OutboxEvent, OutboxItem, OutboxPolicy, OutboxStatus,
    TransitionError,
};
use proptest::prelude::*;

fn claim(now: f64, token: &str) -> OutboxEvent {
    OutboxEvent::Claim {
        now,
        lease_token: token.into(),
    }
}

fn delivered(now: f64, token: &str) -> OutboxEvent {
    OutboxEvent::Delivered {
        now,
        lease_token: token.into(),
    }
}

fn failed(now: f64, token: &str, permanent: bool) -> OutboxEvent {
    OutboxEvent::Failed {
        now,
        lease_token: token.into(),
        permanent,
        error: "HTTP 503".into(),
    }
}

fn policy() -> OutboxPolicy {
    OutboxPolicy {
        max_attempts: 3,
        base_delay_ms: 1_000.0,
        max_delay_ms: 10_000.0,
        lease_ms: 30_000.0,
    }
}

fn step(item: &OutboxItem, event: OutboxEvent) -> OutboxItem {
    transition(item, &event, &policy()).unwrap()
}

fn refused(item: &OutboxItem, event: OutboxEvent) -> TransitionError {
    transition(item, &event, &policy()).unwrap_err()
}

#[test]
fn happy_path_pending_sending_sent() {
    let item = OutboxItem::new("evt", 100.0);
    assert!(is_due(&item, 100.0) && claimable(&item, 100.0, &policy()));
    let sending = step(&item, claim(100.0, "w1"));
    assert_eq!(sending.status, OutboxStatus::Sending);
    assert_eq!(sending.attempts, 1);
    assert_eq!(sending.lease.as_ref().unwrap().until, 30_100.0);
    assert_eq!(next_wake_at(&sending), Some(30_100.0));
    let sent = step(&sending, delivered(200.0, "w1"));
    assert_eq!(sent.status, OutboxStatus::Sent);
    assert_eq!(sent.lease, None);
    assert_eq!(sent.finished_at, Some(200.0));
    assert_eq!(next_wake_at(&sent), None);
}

#[test]
fn claim_refused_before_due_and_while_leased() {
    let mut item = OutboxItem::new("evt", 500.0);
    assert_eq!(
        refused(&item, claim(499.0, "w1")),
        TransitionError::NotDue {
            next_attempt_at: 500.0
        }
    );
    item = step(&item, claim(500.0, "w1"));
    assert_eq!(
        refused(&item, claim(1_000.0, "w2")),
        TransitionError::LeaseHeld {
            lease_until: 30_500.0
        }
    );
    assert_eq!(
        refused(&item, claim(1_000.0, "")),
        TransitionError::EmptyToken
    );
}

#[test]
fn transient_failure_backs_off_then_retries() {
    let item = step(&OutboxItem::new("evt", 0.0), claim(0.0, "w1"));
    let retry = step(&item, failed(10.0, "w1", false));
    assert_eq!(retry.status, OutboxStatus::Pending);
    assert_eq!(retry.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(
        retry.next_attempt_at,
        10.0 + backoff_delay_ms("evt", 1, &policy())
    );
    assert!(retry.next_attempt_at <= 10.0 + 1_000.0);
    let again = step(&retry, claim(retry.next_attempt_at, "w2"));
    assert_eq!(again.attempts, 2);
}

#[test]
fn permanent_failure_and_exhaustion_go_dead() {
    let item = step(&OutboxItem::new("evt", 0.0), claim(0.0, "w1"));
    let dead = step(&item, failed(10.0, "w1", true));
    assert_eq!(dead.status, OutboxStatus::Dead);
    assert_eq!(dead.attempts, 1);
    assert_eq!(dead.finished_at, Some(10.0));

    let mut item = OutboxItem::new("evt", 0.0);
    let mut now = 0.0;
    for attempt in 1..=3 {
        now = item.next_attempt_at.max(now);
        item = step(&item, claim(now, &format!("w{attempt}")));
        item = step(&item, failed(now, &format!("w{attempt}"), false));
    }
    assert_eq!(item.status, OutboxStatus::Dead);
    assert_eq!(item.attempts, 3);
}

#[test]
fn stale_worker_cannot_report_after_takeover_or_release() {
    let item = step(&OutboxItem::new("evt", 0.0), claim(0.0, "old"));
    // The old lease expires; a new worker takes over.
    let taken = step(&item, claim(30_000.0, "new"));
    assert_eq!(taken.attempts, 2);
    assert_eq!(
        refused(&taken, delivered(30_001.0, "old")),
        TransitionError::StaleLease
    );
    assert_eq!(
        refused(&taken, failed(30_001.0, "old", true)),
        TransitionError::StaleLease
    );
    // Reusing the expired token for a takeover is refused.
    assert_eq!(
        refused(&item, claim(30_000.0, "old")),
        TransitionError::TokenReused
    );
    // After a sweep releases the lease, the old worker is told the item is pending.
    let released = step(&item, OutboxEvent::Expire { now: 30_000.0 });
    assert_eq!(released.status, OutboxStatus::Pending);
    assert_eq!(released.next_attempt_at, 30_000.0);
    assert_eq!(
        refused(&released, delivered(30_001.0, "old")),
        TransitionError::NotLeased {
            status: OutboxStatus::Pending
        }
    );
}

#[test]
fn late_report_from_the_current_holder_is_accepted() {
    // The lease ran out but nobody took over: the holder's result is still the truth.
    let item = step(&OutboxItem::new("evt", 0.0), claim(0.0, "w1"));
    assert!(lease_expired(&item, 40_000.0));
    assert_eq!(
        step(&item, delivered(40_000.0, "w1")).status,
        OutboxStatus::Sent
    );
}

#[test]
fn expire_rules() {
    let item = step(&OutboxItem::new("evt", 0.0), claim(0.0, "w1"));
    assert_eq!(
        refused(&item, OutboxEvent::Expire { now: 29_999.0 }),
        TransitionError::LeaseHeld {
            lease_until: 30_000.0
        }
    );
    let pending = OutboxItem::new("evt", 0.0);
    assert_eq!(
        refused(&pending, OutboxEvent::Expire { now: 1.0 }),
        TransitionError::NothingToExpire
    );
    // A crash on the final attempt dead-letters the item.
    let mut last = item.clone();
    last.attempts = 3;
    let dead = step(&last, OutboxEvent::Expire { now: 30_000.0 });
    assert_eq!(dead.status, OutboxStatus::Dead);
    assert!(dead.last_error.unwrap().contains("expired"));
    // A pending item left without attempts by a lowered policy is dead-lettered too.
    let mut stuck = OutboxItem::new("evt", 0.0);
    stuck.attempts = 5;
    assert!(!claimable(&stuck, 0.0, &policy()));
    assert!(matches!(
        refused(&stuck, claim(0.0, "w")),
        TransitionError::AttemptsExhausted { .. }
    ));
    assert_eq!(
        step(&stuck, OutboxEvent::Expire { now: 1.0 }).status,
        OutboxStatus::Dead
    );
}

#[test]
fn terminal_states_refuse_everything_but_replay_of_dead() {
    let sending = step(&OutboxItem::new("evt", 0.0), claim(0.0, "w1"));
    let sent = step(&sending, delivered(1.0, "w1"));
    let dead = step(&sending, failed(1.0, "w1", true));
    for item in [&sent, &dead] {
        for event in [
            claim(1e9, "w9"),
            delivered(1e9, "w1"),
            failed(1e9, "w1", false),
            OutboxEvent::Expire { now: 1e9 },
        ] {
            assert!(matches!(
                refused(item, event),
                TransitionError::Terminal { .. }
            ));
        }
    }
    assert_eq!(
        refused(&sent, OutboxEvent::Replay { now: 5.0 }),
        TransitionError::NotDead {
            status: OutboxStatus::Sent
        }
    );
    let replayed = step(&dead, OutboxEvent::Replay { now: 5.0 });
    assert_eq!(replayed, OutboxItem::new("evt", 5.0));
}

#[test]
fn invalid_inputs_are_refused() {
    let item = OutboxItem::new("evt", 0.0);
    assert!(matches!(
        refused(&item, claim(f64::NAN, "w")),
        TransitionError::InvalidTime { .. }
    ));
    let bad_policy = OutboxPolicy {
        max_attempts: 0,
        ..OutboxPolicy::default()
    };
    assert!(matches!(
        transition(&item, &claim(0.0, "w"), &bad_policy),
        Err(TransitionError::InvalidPolicy { .. })
    ));
    let mut broken = item.clone();
    broken.status = OutboxStatus::Sending;
    assert!(matches!(
        refused(&broken, claim(0.0, "w")),
        TransitionError::InconsistentItem { .. }
    ));
}

#[test]
fn default_policy_matches_documented_values() {
    let policy = OutboxPolicy::default();
    assert_eq!(policy.max_attempts, 8);
    assert_eq!(policy.base_delay_ms, 1_000.0);
    assert_eq!(policy.max_delay_ms, 300_000.0);
    assert_eq!(policy.lease_ms, 30_000.0);
}

// ---- property tests ----------------------------------------------------------------------

const ITEMS: usize = 3;
const WORKERS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Claim {
        worker: usize,
        item: usize,
    },
    Deliver {
        worker: usize,
        item: usize,
    },
    Fail {
        worker: usize,
        item: usize,
        permanent: bool,
    },
    /// The worker dies and forgets every lease it held.
    Crash {
        worker: usize,
    },
    /// A sweep expires the item if it can.
    Expire {
        item: usize,
    },
    Replay {
        item: usize,
    },
    Advance {
        ms: f64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let worker = 0..WORKERS;
    let item = 0..ITEMS;
    prop_oneof![
        4 => (worker.clone(), item.clone()).prop_map(|(worker, item)| Op::Claim { worker, item }),
        2 => (worker.clone(), item.clone()).prop_map(|(worker, item)| Op::Deliver { worker, item }),
        3 => (worker.clone(), item.clone(), prop::bool::weighted(0.15))
            .prop_map(|(worker, item, permanent)| Op::Fail { worker, item, permanent }),
        1 => worker.prop_map(|worker| Op::Crash { worker }),
        2 => item.clone().prop_map(|item| Op::Expire { item }),
        1 => item.prop_map(|item| Op::Replay { item }),
        3 => (0u32..20_000).prop_map(|ms| Op::Advance { ms: f64::from(ms) }),
    ]
}

fn any_policy() -> impl Strategy<Value = OutboxPolicy> {
    (1u32..6, 0u32..3_000, 0u32..12_000, 1u32..8_000).prop_map(|(max, base, cap, lease)| {
        OutboxPolicy {
            max_attempts: max,
            base_delay_ms: f64::from(base),
            max_delay_ms: f64::from(cap),
            lease_ms: f64::from(lease),
        }
    })
}

/// The test's independent record of the world: which token, if any, is the one valid lease
/// of each item, and which token each worker believes it holds.
struct World {
    items: Vec<OutboxItem>,
    valid: Vec<Option<String>>,
    held: Vec<HashMap<usize, String>>,
    now: f64,
    next_token: u64,
    policy: OutboxPolicy,
}

impl World {
    fn new(policy: OutboxPolicy, start: f64) -> Self {
        World {
            items: (0..ITEMS)
                .map(|i| OutboxItem::new(format!("evt-{i}"), start))
                .collect(),
            valid: vec![None; ITEMS],
            held: vec![HashMap::new(); WORKERS],
            now: start,
            next_token: 0,
            policy,
        }
    }

    fn fresh_token(&mut self, worker: usize) -> String {
        self.next_token += 1;
        format!("w{worker}-t{}", self.next_token)
    }

    /// The token a worker reports with: its own belief, or one that never held a lease.
    fn token_of(&self, worker: usize, item: usize) -> String {
        self.held[worker]
            .get(&item)
            .cloned()
            .unwrap_or_else(|| format!("w{worker}-never"))
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let (item_index, event) = match op {
            Op::Advance { ms } => {
                self.now += ms;
                return Ok(());
            }
            Op::Crash { worker } => {
                self.held[*worker].clear();
                return Ok(());
            }
            Op::Claim { worker, item } => {
                let token = self.fresh_token(*worker);
                (*item, claim(self.now, &token))
            }
            Op::Deliver { worker, item } => {
                (*item, delivered(self.now, &self.token_of(*worker, *item)))
            }
            Op::Fail {
                worker,
                item,
                permanent,
            } => (
                *item,
                failed(self.now, &self.token_of(*worker, *item), *permanent),
            ),
            Op::Expire { item } => (*item, OutboxEvent::Expire { now: self.now }),
            Op::Replay { item } => (*item, OutboxEvent::Replay { now: self.now }),
        };
        let prev = self.items[item_index].clone();
        let result = transition(&prev, &event, &self.policy);
        self.check_step(item_index, &prev, &event, &result)?;
        if let Ok(next) = result {
            match (op, &event) {
                (Op::Claim { worker, .. }, OutboxEvent::Claim { lease_token, .. }) => {
                    self.valid[item_index] = Some(lease_token.clone());
                    self.held[*worker].insert(item_index, lease_token.clone());
                }
                (Op::Deliver { worker, .. } | Op::Fail { worker, .. }, _) => {
                    self.valid[item_index] = None;
                    self.held[*worker].remove(&item_index);
                }
                _ => self.valid[item_index] = None,
            }
            self.items[item_index] = next;
        }
        Ok(())
    }

    fn check_step(
        &self,
        index: usize,
        prev: &OutboxItem,
        event: &OutboxEvent,
        result: &Result<OutboxItem, TransitionError>,
    ) -> Result<(), TestCaseError> {
        let max = self.policy.max_attempts;
        let next = match result {
            Err(_) => {
                // Refusals of a pending, due, claimable item by a fresh claim would be a bug.
                if let OutboxEvent::Claim { .. } = event {
                    prop_assert!(!claimable(prev, self.now, &self.policy));
                }
                return Ok(());
            }
            Ok(next) => next,
        };
        prop_assert_eq!(&next.id, &prev.id, "an item never changes identity");
        prop_assert!(
            next.attempts <= max,
            "attempts {} > max {}",
            next.attempts,
            max
        );
        prop_assert!(next.check().is_ok(), "invariant broken: {:?}", next);
        // Terminal states stay terminal, except the explicit replay of a dead item.
        prop_assert!(
            prev.status != OutboxStatus::Sent,
            "sent item changed by {:?}",
            event
        );
        if prev.status == OutboxStatus::Dead {
            prop_assert!(
                matches!(event, OutboxEvent::Replay { .. }),
                "dead item changed by {:?}",
                event
            );
            prop_assert_eq!(next.status, OutboxStatus::Pending);
            prop_assert_eq!(next.attempts, 0);
        }
        match event {
            OutboxEvent::Claim { lease_token, now } => {
                prop_assert!(claimable(prev, *now, &self.policy));
                prop_assert_eq!(next.status, OutboxStatus::Sending);
                prop_assert_eq!(next.attempts, prev.attempts + 1);
                let lease = next.lease.as_ref().unwrap();
                prop_assert_eq!(&lease.token, lease_token);
                prop_assert_eq!(lease.until, now + self.policy.lease_ms);
            }
            OutboxEvent::Delivered { lease_token, .. }
            | OutboxEvent::Failed { lease_token, .. } => {
                // Never two valid leases: only the one token the world granted last may
                // report, and only while no sweep or report has released it.
                prop_assert_eq!(
                    self.valid[index].as_ref(),
                    Some(lease_token),
                    "a stale or foreign token reported an outcome"
                );
                prop_assert!(next.status != OutboxStatus::Sending);
            }
            _ => {}
        }
        if let OutboxEvent::Failed { now, permanent, .. } = event {
            if !*permanent && prev.attempts < max {
                let delay = next.next_attempt_at - now;
                prop_assert_eq!(next.status, OutboxStatus::Pending);
                prop_assert!(next.next_attempt_at >= *now);
                prop_assert!(delay >= 0.0 && delay <= self.policy.max_delay_ms);
                prop_assert!(delay <= backoff_ceiling_ms(prev.attempts, &self.policy));
                prop_assert_eq!(
                    delay,
                    backoff_delay_ms(&prev.id, prev.attempts, &self.policy)
                );
            } else {
                prop_assert_eq!(next.status, OutboxStatus::Dead);
            }
        }
        // The world's record and the item agree on who holds the lease.
        if next.status == OutboxStatus::Sending {
            prop_assert!(
                matches!(event, OutboxEvent::Claim { .. }),
                "only a claim leads to sending, not {:?}",
                event
            );
        }
        Ok(())
    }

    /// Honest workers keep draining until every item is sent or dead; each claim spends an
    /// attempt, so this terminates within a bounded number of steps per item.
    fn drain(&mut self, outcomes: &[u8]) -> Result<(), TestCaseError> {
        let bound = 3 * self.policy.max_attempts as usize + 4;
        for index in 0..ITEMS {
            for round in 0..bound {
                let item = self.items[index].clone();
                let outcome = outcomes[round % outcomes.len()];
                let event = match item.status {
                    OutboxStatus::Sent | OutboxStatus::Dead => break,
                    OutboxStatus::Pending if item.attempts >= self.policy.max_attempts => {
                        OutboxEvent::Expire { now: self.now }
                    }
                    OutboxStatus::Pending => {
                        self.now = self.now.max(item.next_attempt_at);
                        claim(self.now, &self.fresh_token(0))
                    }
                    OutboxStatus::Sending => {
                        let token = item.lease.as_ref().unwrap().token.clone();
                        match outcome % 4 {
                            0 => delivered(self.now, &token),
                            1 => failed(self.now, &token, false),
                            2 => failed(self.now, &token, outcome > 200),
                            _ => {
                                // The worker crashed: wait out the lease and sweep.
                                self.now = self.now.max(item.lease.as_ref().unwrap().until);
                                OutboxEvent::Expire { now: self.now }
                            }
                        }
                    }
                };
                let next = transition(&item, &event, &self.policy);
                prop_assert!(next.is_ok(), "honest step {:?} refused: {:?}", event, next);
                self.items[index] = next.unwrap();
            }
            let status = self.items[index].status;
            prop_assert!(
                status.is_terminal(),
                "item {} still {:?} after {} honest steps",
                index,
                status,
                bound
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn racing_workers_never_lose_or_double_lease(
        policy in any_policy(),
        start in 0u32..1_000_000,
        ops in prop::collection::vec(op(), 1..80),
        outcomes in prop::collection::vec(any::<u8>(), 1..8),
    ) {
        let mut world = World::new(policy, f64::from(start));
        for op in &ops {
            world.apply(op)?;
            prop_assert_eq!(world.items.len(), ITEMS);
            for (index, item) in world.items.iter().enumerate() {
                prop_assert_eq!(&item.id, &format!("evt-{index}"));
                prop_assert!(item.attempts <= policy.max_attempts);
                // At most one valid lease: the item's lease is exactly the world's record.
                prop_assert_eq!(
                    item.lease.as_ref().map(|lease| &lease.token),
                    world.valid[index].as_ref()
                );
            }
        }
        world.drain(&outcomes)?;
    }

    #[test]
    fn backoff_is_bounded_and_deterministic(
        id in ".{0,24}",
        attempt in 0u32..80,
        policy in any_policy(),
    ) {
        let delay = backoff_delay_ms(&id, attempt, &policy);
        let ceiling = backoff_ceiling_ms(attempt, &policy);
        prop_assert!(delay >= 0.0 && delay <= ceiling && ceiling <= policy.max_delay_ms);
        prop_assert_eq!(delay.fract(), 0.0);
        prop_assert_eq!(delay, backoff_delay_ms(&id, attempt, &policy));
        let expected = (policy.base_delay_ms * 2f64.powi(attempt.saturating_sub(1) as i32))
            .min(policy.max_delay_ms);
        prop_assert_eq!(ceiling, expected);
    }

    #[test]
    fn json_facade_agrees_with_typed_transition(
        policy in any_policy(),
        ops in prop::collection::vec(op(), 1..30),
    ) {
        let mut world = World::new(policy, 1_000.0);
        let policy_json = format!(
            r#"{{"maxAttempts":{},"baseDelayMs":{},"maxDelayMs":{},"leaseMs":{}}}"#,
            policy.max_attempts, policy.base_delay_ms, policy.max_delay_ms, policy.lease_ms
        );
        for op in &ops {
            world.apply(op)?;
            let item = &world.items[0];
            let event_json = format!(
                r#"{{"type":"claim","now":{},"leaseToken":"json-probe"}}"#,
                world.now
            );
            let typed = transition(item, &claim(world.now, "json-probe"), &policy);
            let json = transition_json(&item_to_json(item), &event_json, &policy_json);
            match (typed, json) {
                (Ok(next), Ok(text)) => prop_assert_eq!(item_to_json(&next), text),
                (Err(_), Err(_)) => {}
                (typed, json) => prop_assert!(false, "typed {:?} vs json {:?}", typed, json),
            }
        }
    }
}
