//! dink-gateway: a dinkd-compatible gateway in front of a real nats-server (>= 2.10).
//!
//! See docs/gateway.md for the design, the tenancy model, the permissions, the NATS subjects
//! and the HTTP route table.

pub mod bridge;
pub mod cache;
pub mod callout;
pub mod control;
pub mod convex;
pub mod fanout;
pub mod gateway;
pub mod http;
pub mod jwt;
pub mod keys;
pub mod llmtxt;
pub mod metrics;
pub mod natsd;
pub mod relay;
pub mod serve;
pub mod status;
pub mod store;
pub mod sync;
pub mod tunnel;
pub mod types;

pub use gateway::{Config, Gateway, Running};
