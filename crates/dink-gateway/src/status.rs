//! `GET /status.json` and `GET /status` (HTML, no external assets): per app, edges online,
//! fan-out progress (push backlog, sync lag), this process's delta counters, the last Convex
//! error and the recent rejections. Browser tests read the HTML through its stable attributes:
//! every app is a `<section class="app" data-app="<app>">`, every value an element with
//! `data-field="<name>"` (names as in the JSON, e.g. `edges-online`, `backlog`).

use serde_json::{json, Value};

use crate::gateway::{Gateway, VERSION};
use crate::types::{now_ms, rfc3339_ms};

/// The status of every app (bounded like any listing).
pub async fn status_json(gw: &Gateway) -> Value {
    let apps = gw.list_apps().await.unwrap_or_default();
    let mut out = Vec::new();
    for a in apps {
        let edges = gw.store.edges_of(&a.id).await.unwrap_or_default();
        let online = edges
            .iter()
            .filter(|e| gw.edge_status(e) == "online")
            .count();
        let (head, acked, age) = crate::fanout::progress(gw, &a.id).await;
        let st = gw.sync.stats(&a.id);
        let configured = gw
            .store
            .convex_config(&a.id)
            .await
            .ok()
            .flatten()
            .is_some_and(|c| c.site_url.starts_with("http"));
        out.push(json!({
            "app_id": a.id,
            "convex_configured": configured,
            "edges": { "online": online, "total": edges.len() },
            "fanout": {
                "head_seq": head,
                "acked_seq": acked,
                "backlog": head.saturating_sub(acked),
                "oldest_unsent_age_ms": age,
                "events_published": st.fanout_events,
            },
            "deltas": {
                "applied": st.applied,
                "duplicate": st.duplicate,
                "noop": st.noop,
                "rejected": st.rejected,
                "unavailable": st.unavailable,
            },
            "last_convex_error": st.last_error.as_ref().map(|(at, m)| json!({ "at": rfc3339_ms(*at), "message": m })),
            "recent_rejections": st.rejections.iter().rev().cloned().collect::<Vec<_>>(),
        }));
    }
    json!({
        "service": "dink-gateway",
        "version": VERSION,
        "generated_at": rfc3339_ms(now_ms()),
        "apps": out,
    })
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        v => v.to_string(),
    }
}

/// The status page (HTML) of [`status_json`]'s value.
pub fn status_html(v: &Value) -> String {
    let mut h = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>dink-gateway status</title>\
<style>body{font:14px system-ui,sans-serif;margin:1.5em}section{border:1px solid #ccc;padding:.5em 1em;margin:1em 0}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{color:#555}table{border-collapse:collapse}\
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}</style></head><body>",
    );
    h.push_str(&format!(
        "<h1>dink-gateway status</h1><p>version <span id=\"version\">{}</span>, generated <span id=\"generated-at\">{}</span></p><div id=\"apps\" data-count=\"{}\">",
        esc(&text(&v["version"])),
        esc(&text(&v["generated_at"])),
        v["apps"].as_array().map_or(0, Vec::len)
    ));
    for a in v["apps"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let id = esc(&text(&a["app_id"]));
        h.push_str(&format!(
            "<section class=\"app\" data-app=\"{id}\"><h2>{id}</h2><dl>"
        ));
        let fields: [(&str, &str, &Value); 14] = [
            (
                "convex-configured",
                "Convex configured",
                &a["convex_configured"],
            ),
            ("edges-online", "edges online", &a["edges"]["online"]),
            ("edges-total", "edges total", &a["edges"]["total"]),
            ("head-seq", "fan-out head seq", &a["fanout"]["head_seq"]),
            ("acked-seq", "fan-out acked seq", &a["fanout"]["acked_seq"]),
            ("backlog", "push backlog (events)", &a["fanout"]["backlog"]),
            (
                "sync-lag-ms",
                "oldest unsent event age (ms)",
                &a["fanout"]["oldest_unsent_age_ms"],
            ),
            (
                "events-published",
                "events published",
                &a["fanout"]["events_published"],
            ),
            ("applied", "deltas applied", &a["deltas"]["applied"]),
            ("duplicate", "deltas duplicate", &a["deltas"]["duplicate"]),
            ("noop", "deltas noop", &a["deltas"]["noop"]),
            ("rejected", "deltas rejected", &a["deltas"]["rejected"]),
            (
                "unavailable",
                "deltas answered unavailable",
                &a["deltas"]["unavailable"],
            ),
            (
                "last-convex-error",
                "last Convex error",
                &a["last_convex_error"]["message"],
            ),
        ];
        for (key, label, val) in fields {
            h.push_str(&format!(
                "<dt>{label}</dt><dd data-field=\"{key}\">{}</dd>",
                esc(&text(val))
            ));
        }
        h.push_str("</dl><h3>recent rejections</h3><table data-field=\"recent-rejections\"><tr><th>at</th><th>edge</th><th>op</th><th>collection</th><th>doc</th><th>code</th><th>message</th></tr>");
        for r in a["recent_rejections"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            h.push_str("<tr class=\"rejection\">");
            for k in [
                "at",
                "edge_id",
                "op_id",
                "collection",
                "doc_id",
                "code",
                "message",
            ] {
                h.push_str(&format!("<td>{}</td>", esc(&text(&r[k]))));
            }
            h.push_str("</tr>");
        }
        h.push_str("</table></section>");
    }
    h.push_str("</div></body></html>");
    h
}
