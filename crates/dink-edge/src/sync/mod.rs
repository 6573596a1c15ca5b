//! The edge sync client: rows of Convex tables kept in a local durable store, written offline,
//! pushed to Convex through the gateway (`$SYNC.<app>.<edge>.*`, docs/protocol.md "Edge sync
//! over NATS"), kept up to date from the fan-out and the catch-up feed. See docs/edge.md.
//!
//! One job per file: `store.rs` (durable tables, redb), `engine.rs` (every sync decision, no
//! network), `wire.rs` (the bodies), `client.rs` (the NATS loop), `status.rs` (row status and
//! the values handed to applications).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use dink_edge::sync::{Engine, Store, SyncClient};
//! use dink_edge::EdgeBuilder;
//!
//! let edge = EdgeBuilder::new("nats://127.0.0.1:4222", "dk_dev_ed_app1_edge1_secret").start().await?;
//! let store = Store::open(std::path::Path::new("/var/lib/edge1"))?;
//! let engine = Arc::new(Engine::new(store, edge.key.edge_id.clone(), vec!["tasks".into()]));
//! engine.on_sync_rejected(|r| eprintln!("Convex refused {} of {}: {}", r.op_id, r.doc_id, r.error.message));
//! let sync = SyncClient::start(engine.clone(), edge.key.clone(), Some(edge.client.clone()));
//! let fields = dink_core::value::fields_from_convex_json(r#"{"title":"Buy milk","done":false}"#)?;
//! sync.put("tasks", "t1", &fields, &[])?;      // applied locally at once, queued, pushed
//! let mut changes = sync.subscribe();          // tokio broadcast of RowChange
//! sync.sync(std::time::Duration::from_secs(10)).await?; // wait until Convex acknowledged it
//! println!("{:?}", sync.get("tasks", "t1")?.map(|r| r.status));
//! # let _ = changes.try_recv();
//! # Ok(()) }
//! ```

pub mod client;
pub mod engine;
pub mod status;
pub mod store;
pub mod wire;

pub use client::{SyncClient, SyncWaiter};
pub use engine::{Engine, Row};
pub use status::{ChangeSource, Rejection, RowChange, RowStatus, Stats, SyncErrorInfo};
pub use store::Store;

use std::fmt;

/// A sync failure returned to the application: `{code, message, field?}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncError {
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl SyncError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> SyncError {
        SyncError {
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> SyncError {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SyncError {}
