//! The JSON facade used across the wasm boundary: parse item, event and policy, run
//! [`transition`], print the next item. Shapes are documented in the module docs of
//! [`crate::outbox`].

use crate::json::{parse, Json, Object};

use super::{transition, Lease, OutboxEvent, OutboxItem, OutboxPolicy, OutboxStatus};
use crate::error::EngineError;

fn bad(what: &str, message: impl std::fmt::Display) -> EngineError {
    EngineError::invalid_argument(format!("outbox {what}: {message}"))
}

fn parse_object(text: &str, what: &str) -> Result<Object, EngineError> {
    match parse(text) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(other) => Err(bad(what, format!("expected a JSON object, got {other}"))),
        Err(e) => Err(bad(what, format!("not valid JSON: {e}"))),
    }
}

/// Refuses keys outside `allowed`, so a misspelt option is an error rather than a silent
/// default.
fn reject_unknown(map: &Object, allowed: &[&str], what: &str) -> Result<(), EngineError> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(bad(
            what,
            format!(
                "unknown field {key:?} (expected one of {})",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// A present, non-null field.
fn field<'a>(map: &'a Object, key: &str) -> Option<&'a Json> {
    map.get(key).filter(|value| !value.is_null())
}

fn number(value: &Json, key: &str, what: &str) -> Result<f64, EngineError> {
    value
        .as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| bad(what, format!("{key} must be a finite number")))
}

fn opt_number(map: &Object, key: &str, what: &str) -> Result<Option<f64>, EngineError> {
    field(map, key).map(|v| number(v, key, what)).transpose()
}

fn req_number(map: &Object, key: &str, what: &str) -> Result<f64, EngineError> {
    opt_number(map, key, what)?.ok_or_else(|| bad(what, format!("missing {key}")))
}

fn opt_u32(map: &Object, key: &str, what: &str) -> Result<Option<u32>, EngineError> {
    field(map, key)
        .map(|value| {
            let n = number(value, key, what)?;
            if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) {
                Ok(n as u32)
            } else {
                Err(bad(
                    what,
                    format!("{key} must be a whole number in 0..=4294967295"),
                ))
            }
        })
        .transpose()
}

fn opt_string(map: &Object, key: &str, what: &str) -> Result<Option<String>, EngineError> {
    field(map, key)
        .map(|value| {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(what, format!("{key} must be a string")))
        })
        .transpose()
}

fn req_string(map: &Object, key: &str, what: &str) -> Result<String, EngineError> {
    opt_string(map, key, what)?.ok_or_else(|| bad(what, format!("missing {key}")))
}

/// Parses an item. Unknown fields (the rest of the stored row) are ignored.
pub fn item_from_json(text: &str) -> Result<OutboxItem, EngineError> {
    const WHAT: &str = "item";
    let map = parse_object(text, WHAT)?;
    let status_text = req_string(&map, "status", WHAT)?;
    let status = OutboxStatus::parse(&status_text).ok_or_else(|| {
        bad(
            WHAT,
            format!("status must be pending, sending, sent or dead, got {status_text:?}"),
        )
    })?;
    let lease = match (
        opt_string(&map, "leaseToken", WHAT)?,
        opt_number(&map, "leaseUntil", WHAT)?,
    ) {
        (Some(token), Some(until)) => Some(Lease { token, until }),
        (None, None) => None,
        _ => return Err(bad(WHAT, "leaseToken and leaseUntil must be set together")),
    };
    let item = OutboxItem {
        id: req_string(&map, "id", WHAT)?,
        status,
        attempts: opt_u32(&map, "attempts", WHAT)?.unwrap_or(0),
        next_attempt_at: req_number(&map, "nextAttemptAt", WHAT)?,
        lease,
        last_error: opt_string(&map, "lastError", WHAT)?,
        finished_at: opt_number(&map, "finishedAt", WHAT)?,
    };
    item.check().map_err(|reason| bad(WHAT, reason))?;
    Ok(item)
}

/// Parses an event `{"type": ..., "now": ..., ...}`.
pub fn event_from_json(text: &str) -> Result<OutboxEvent, EngineError> {
    const WHAT: &str = "event";
    let map = parse_object(text, WHAT)?;
    let kind = req_string(&map, "type", WHAT)?;
    let now = req_number(&map, "now", WHAT)?;
    let event = match kind.as_str() {
        "claim" => {
            reject_unknown(&map, &["type", "now", "leaseToken"], WHAT)?;
            OutboxEvent::Claim {
                now,
                lease_token: req_string(&map, "leaseToken", WHAT)?,
            }
        }
        "delivered" => {
            reject_unknown(&map, &["type", "now", "leaseToken"], WHAT)?;
            OutboxEvent::Delivered {
                now,
                lease_token: req_string(&map, "leaseToken", WHAT)?,
            }
        }
        "failed" => {
            reject_unknown(
                &map,
                &["type", "now", "leaseToken", "permanent", "error"],
                WHAT,
            )?;
            let permanent = match field(&map, "permanent") {
                None => false,
                Some(value) => value
                    .as_bool()
                    .ok_or_else(|| bad(WHAT, "permanent must be a boolean"))?,
            };
            OutboxEvent::Failed {
                now,
                lease_token: req_string(&map, "leaseToken", WHAT)?,
                permanent,
                error: opt_string(&map, "error", WHAT)?
                    .unwrap_or_else(|| "unspecified error".to_string()),
            }
        }
        "expire" => {
            reject_unknown(&map, &["type", "now"], WHAT)?;
            OutboxEvent::Expire { now }
        }
        "replay" => {
            reject_unknown(&map, &["type", "now"], WHAT)?;
            OutboxEvent::Replay { now }
        }
        other => {
            return Err(bad(
                WHAT,
                format!("type must be claim, delivered, failed, expire or replay, got {other:?}"),
            ))
        }
    };
    Ok(event)
}

/// Parses a policy; an empty string, `null` or missing fields mean the defaults.
pub fn policy_from_json(text: &str) -> Result<OutboxPolicy, EngineError> {
    const WHAT: &str = "policy";
    let defaults = OutboxPolicy::default();
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "null" {
        return Ok(defaults);
    }
    let map = parse_object(trimmed, WHAT)?;
    reject_unknown(
        &map,
        &["maxAttempts", "baseDelayMs", "maxDelayMs", "leaseMs"],
        WHAT,
    )?;
    let policy = OutboxPolicy {
        max_attempts: opt_u32(&map, "maxAttempts", WHAT)?.unwrap_or(defaults.max_attempts),
        base_delay_ms: opt_number(&map, "baseDelayMs", WHAT)?.unwrap_or(defaults.base_delay_ms),
        max_delay_ms: opt_number(&map, "maxDelayMs", WHAT)?.unwrap_or(defaults.max_delay_ms),
        lease_ms: opt_number(&map, "leaseMs", WHAT)?.unwrap_or(defaults.lease_ms),
    };
    policy.check().map_err(|reason| bad(WHAT, reason))?;
    Ok(policy)
}

/// Prints an item with every field present (`null` when unset), so a caller can patch a
/// stored row with the result and clear a released lease.
pub fn item_to_json(item: &OutboxItem) -> String {
    let mut map = Object::new();
    map.insert("id".into(), Json::from(item.id.as_str()));
    map.insert("status".into(), Json::from(item.status.as_str()));
    map.insert("attempts".into(), Json::from(item.attempts));
    map.insert("nextAttemptAt".into(), Json::from(item.next_attempt_at));
    let (token, until) = match &item.lease {
        Some(lease) => (Json::from(lease.token.as_str()), Json::from(lease.until)),
        None => (Json::Null, Json::Null),
    };
    map.insert("leaseToken".into(), token);
    map.insert("leaseUntil".into(), until);
    map.insert(
        "lastError".into(),
        item.last_error.as_deref().map_or(Json::Null, Json::from),
    );
    map.insert(
        "finishedAt".into(),
        item.finished_at.map_or(Json::Null, Json::from),
    );
    Json::Object(map).to_string()
}

/// One state-machine step over JSON: `item_json` and `event_json` as documented in
/// [`crate::outbox`], `policy_json` possibly empty for the defaults. Returns the next item's
/// JSON. Malformed input or an illegal transition is an [`crate::ErrorCode::InvalidArgument`]
/// error whose message names the problem (illegal transitions carry the
/// [`super::TransitionError::kind`] in parentheses).
pub fn transition_json(
    item_json: &str,
    event_json: &str,
    policy_json: &str,
) -> Result<String, EngineError> {
    let item = item_from_json(item_json)?;
    let event = event_from_json(event_json)?;
    let policy = policy_from_json(policy_json)?;
    let next = transition(&item, &event, &policy)?;
    Ok(item_to_json(&next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn claim_then_deliver_over_json() {
        let item = r#"{"id":"e1","status":"pending","attempts":0,"nextAttemptAt":1000,"payload":"ignored"}"#;
        let claimed =
            transition_json(item, r#"{"type":"claim","now":1000,"leaseToken":"w1"}"#, "").unwrap();
        assert_eq!(
            claimed,
            r#"{"attempts":1,"finishedAt":null,"id":"e1","lastError":null,"leaseToken":"w1","leaseUntil":31000,"nextAttemptAt":1000,"status":"sending"}"#
        );
        let sent = transition_json(
            &claimed,
            r#"{"type":"delivered","now":2000,"leaseToken":"w1"}"#,
            r#"{"leaseMs":5000}"#,
        )
        .unwrap();
        let sent = item_from_json(&sent).unwrap();
        assert_eq!(sent.status, OutboxStatus::Sent);
        assert_eq!(sent.finished_at, Some(2000.0));
    }

    #[test]
    fn bad_input_is_invalid_argument() {
        let item = r#"{"id":"e1","status":"pending","attempts":0,"nextAttemptAt":1000}"#;
        let cases = [
            ("{", r#"{"type":"expire","now":1}"#, ""),
            (item, r#"{"type":"claim","now":1000}"#, ""),
            (item, r#"{"type":"teleport","now":1000}"#, ""),
            (item, r#"{"type":"expire","now":"soon"}"#, ""),
            (item, r#"{"type":"expire","now":1,"extra":1}"#, ""),
            (item, r#"{"type":"expire","now":1}"#, r#"{"maxAttempt":3}"#),
            (item, r#"{"type":"expire","now":1}"#, r#"{"maxAttempts":0}"#),
            (item, r#"{"type":"expire","now":1}"#, r#"{"leaseMs":-1}"#),
            (
                r#"{"id":"e1","status":"sending","nextAttemptAt":1}"#,
                r#"{"type":"expire","now":1}"#,
                "",
            ),
            (
                r#"{"id":"e1","status":"done","nextAttemptAt":1}"#,
                r#"{"type":"expire","now":1}"#,
                "",
            ),
            (
                r#"{"id":"e1","status":"pending","attempts":-1,"nextAttemptAt":1}"#,
                r#"{"type":"expire","now":1}"#,
                "",
            ),
            // Legal JSON, illegal transition: not due yet.
            (item, r#"{"type":"claim","now":999,"leaseToken":"w"}"#, ""),
        ];
        for (item, event, policy) in cases {
            let err = transition_json(item, event, policy).unwrap_err();
            assert_eq!(
                err.code,
                ErrorCode::InvalidArgument,
                "{item} {event} {policy}"
            );
        }
        let err = transition_json(item, r#"{"type":"claim","now":999,"leaseToken":"w"}"#, "")
            .unwrap_err();
        assert!(err.message.contains("NOT_DUE"), "{}", err.message);
    }

    #[test]
    fn fractional_times_survive() {
        let mut item = OutboxItem::new("x", 1.5);
        item.finished_at = Some(-0.25);
        assert_eq!(item_from_json(&item_to_json(&item)).unwrap(), item);
    }
}
