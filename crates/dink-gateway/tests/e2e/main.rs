//! End-to-end tests against a real nats-server (>= 2.10; see natsd.rs for how it is found).

mod common;

mod auth_callout;
mod bridge;
mod http_api;
mod isolation;
mod presence;
mod serve_config;
mod sync;
mod tunnel;
mod two_gateways;
