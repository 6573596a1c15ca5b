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
const BUCKETS_MS: &[u64] = &[5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

#[derive(Default)]
pub struct Metrics {
    pub auth_accepted: AtomicU64,
    pub auth_refused: AtomicU64,
    pub http_unauthorized: AtomicU64,
    pub convex_push_events: AtomicU64,
    pub convex_push_duplicates: AtomicU64,
    rpc: [Rpc; 6],
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
