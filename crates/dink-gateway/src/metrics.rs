//! Prometheus counters kept in process (each gateway process reports its own traffic).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

pub const OUTCOMES: &[&str] = &[
    "success",
    "edge_error",
    "timeout",
    "no_responders",
    "edge_not_found",
    "error",
];
/// `status` label of `dink_sync_deltas_total`.
pub const DELTA_STATUSES: &[&str] = &["applied", "duplicate", "noop", "rejected", "unavailable"];
/// `outcome` label of `dink_sync_convex_requests_total`: `ok` (2xx), `bad_request` (400/413,
/// the batch is split), `transient` (network, timeout, 5xx, 408, 429: retried), `refused` (401,
/// `NOT_CONFIGURED`, any other status: not retried).
pub const CONVEX_OUTCOMES: &[&str] = &["ok", "bad_request", "transient", "refused"];
/// `outcome` label of `dink_bridge_calls_total` (the bridge relay, `relay.rs`): `success`, or
/// the lowercase error code answered to the edge.
pub const BRIDGE_OUTCOMES: &[&str] = &[
    "success",
    "convex_error",
    "service_not_found",
    "method_not_found",
    "not_configured",
    "bad_request",
    "forbidden",
    "unavailable",
    "timeout",
];
const BATCH_BUCKETS: &[u64] = &[1, 2, 5, 10, 25, 50, 100, 250, 500];
const BUCKETS_MS: &[u64] = &[5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

#[derive(Default)]
pub struct Metrics {
    pub auth_accepted: AtomicU64,
    pub auth_refused: AtomicU64,
    pub http_unauthorized: AtomicU64,
    pub convex_push_events: AtomicU64,
    pub convex_push_duplicates: AtomicU64,
    rpc: [Rpc; 6],
    sync_deltas: [AtomicU64; 5],
    convex_requests: [AtomicU64; 4],
    pub fanout_events: AtomicU64,
    batch_count: AtomicU64,
    batch_sum: AtomicU64,
    batch_buckets: [AtomicU64; 9],
    bridge_calls: [AtomicU64; 9],
}

#[derive(Default)]
struct Rpc {
    count: AtomicU64,
    sum_ms: AtomicU64,
    buckets: [AtomicU64; 12],
}

impl Metrics {
    pub fn rpc(&self, outcome: &str, ms: u64) {
        let i = OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(OUTCOMES.len() - 1);
        let r = &self.rpc[i];
        r.count.fetch_add(1, Ordering::Relaxed);
        r.sum_ms.fetch_add(ms, Ordering::Relaxed);
        for (b, le) in r.buckets.iter().zip(BUCKETS_MS) {
            if ms <= *le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Count one delta answer (`DELTA_STATUSES`).
    pub fn delta(&self, status: &str) {
        if let Some(i) = DELTA_STATUSES.iter().position(|s| *s == status) {
            self.sync_deltas[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count one Convex HTTP request (`CONVEX_OUTCOMES`).
    pub fn convex_request(&self, outcome: &str) {
        if let Some(i) = CONVEX_OUTCOMES.iter().position(|s| *s == outcome) {
            self.convex_requests[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count one relayed bridge call (`BRIDGE_OUTCOMES`; anything else counts as `unavailable`).
    pub fn bridge(&self, outcome: &str) {
        let i = BRIDGE_OUTCOMES
            .iter()
            .position(|s| *s == outcome)
            .unwrap_or(7);
        self.bridge_calls[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Record the size (deltas) of one applyDelta request.
    pub fn batch(&self, n: usize) {
        let n = n as u64;
        self.batch_count.fetch_add(1, Ordering::Relaxed);
        self.batch_sum.fetch_add(n, Ordering::Relaxed);
        for (b, le) in self.batch_buckets.iter().zip(BATCH_BUCKETS) {
            if n <= *le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn render(&self, edges_online: Option<u64>, edges_total: Option<u64>) -> String {
        let mut s = String::new();
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        if let (Some(on), Some(total)) = (edges_online, edges_total) {
            let _ = writeln!(s, "# HELP dink_edges_online Edges online (all apps).\n# TYPE dink_edges_online gauge\ndink_edges_online {on}");
            let _ = writeln!(s, "# HELP dink_edges_total Edges known (all apps).\n# TYPE dink_edges_total gauge\ndink_edges_total {total}");
        }
        let _ = writeln!(
            s,
            "# HELP dink_auth_total NATS auth callout decisions.\n# TYPE dink_auth_total counter"
        );
        let _ = writeln!(
            s,
            "dink_auth_total{{result=\"accepted\"}} {}",
            g(&self.auth_accepted)
        );
        let _ = writeln!(
            s,
            "dink_auth_total{{result=\"refused\"}} {}",
            g(&self.auth_refused)
        );
        let _ = writeln!(s, "# HELP dink_http_unauthorized_total HTTP requests refused for a missing or bad key.\n# TYPE dink_http_unauthorized_total counter\ndink_http_unauthorized_total {}", g(&self.http_unauthorized));
        let _ = writeln!(s, "# HELP dink_convex_push_events_total convex-push events accepted (duplicates included).\n# TYPE dink_convex_push_events_total counter\ndink_convex_push_events_total {}", g(&self.convex_push_events));
        let _ = writeln!(s, "# HELP dink_convex_push_duplicates_total convex-push events already seen.\n# TYPE dink_convex_push_duplicates_total counter\ndink_convex_push_duplicates_total {}", g(&self.convex_push_duplicates));
        let _ = writeln!(s, "# HELP dink_sync_deltas_total Edge deltas answered by the sync relay, by status.\n# TYPE dink_sync_deltas_total counter");
        for (st, c) in DELTA_STATUSES.iter().zip(&self.sync_deltas) {
            let _ = writeln!(s, "dink_sync_deltas_total{{status=\"{st}\"}} {}", g(c));
        }
        let _ = writeln!(s, "# HELP dink_sync_convex_requests_total HTTP requests to Convex, by outcome.\n# TYPE dink_sync_convex_requests_total counter");
        for (o, c) in CONVEX_OUTCOMES.iter().zip(&self.convex_requests) {
            let _ = writeln!(
                s,
                "dink_sync_convex_requests_total{{outcome=\"{o}\"}} {}",
                g(c)
            );
        }
        let _ = writeln!(s, "# HELP dink_sync_fanout_events_total Events published to edges (one per event and edge).\n# TYPE dink_sync_fanout_events_total counter\ndink_sync_fanout_events_total {}", g(&self.fanout_events));
        let _ = writeln!(s, "# HELP dink_sync_batch_size Deltas per applyDelta request.\n# TYPE dink_sync_batch_size histogram");
        for (b, le) in self.batch_buckets.iter().zip(BATCH_BUCKETS) {
            let _ = writeln!(s, "dink_sync_batch_size_bucket{{le=\"{le}\"}} {}", g(b));
        }
        let _ = writeln!(
            s,
            "dink_sync_batch_size_bucket{{le=\"+Inf\"}} {}",
            g(&self.batch_count)
        );
        let _ = writeln!(s, "dink_sync_batch_size_sum {}", g(&self.batch_sum));
        let _ = writeln!(s, "dink_sync_batch_size_count {}", g(&self.batch_count));
        let _ = writeln!(s, "# HELP dink_bridge_calls_total Edge-to-Convex bridge calls relayed, by outcome.\n# TYPE dink_bridge_calls_total counter");
        for (o, c) in BRIDGE_OUTCOMES.iter().zip(&self.bridge_calls) {
            let _ = writeln!(s, "dink_bridge_calls_total{{outcome=\"{o}\"}} {}", g(c));
        }
        let _ = writeln!(s, "# HELP dink_rpc_calls_total Edge RPC calls made by the gateway, by outcome.\n# TYPE dink_rpc_calls_total counter");
        for (o, r) in OUTCOMES.iter().zip(&self.rpc) {
            let _ = writeln!(s, "dink_rpc_calls_total{{outcome=\"{o}\"}} {}", g(&r.count));
        }
        let _ = writeln!(s, "# HELP dink_rpc_latency_seconds Edge RPC latency, by outcome.\n# TYPE dink_rpc_latency_seconds histogram");
        for (o, r) in OUTCOMES.iter().zip(&self.rpc) {
            for (b, le) in r.buckets.iter().zip(BUCKETS_MS) {
                let _ = writeln!(
                    s,
                    "dink_rpc_latency_seconds_bucket{{outcome=\"{o}\",le=\"{}\"}} {}",
                    *le as f64 / 1000.0,
                    g(b)
                );
            }
            let _ = writeln!(
                s,
                "dink_rpc_latency_seconds_bucket{{outcome=\"{o}\",le=\"+Inf\"}} {}",
                g(&r.count)
            );
            let _ = writeln!(
                s,
                "dink_rpc_latency_seconds_sum{{outcome=\"{o}\"}} {}",
                g(&r.sum_ms) as f64 / 1000.0
            );
            let _ = writeln!(
                s,
                "dink_rpc_latency_seconds_count{{outcome=\"{o}\"}} {}",
                g(&r.count)
            );
        }
        s
    }
}
