//! The back-office HTTP API that every node serves.
//!
//! [`types`] holds the JSON request and response bodies, shared with the `hashbridge`
//! client commands. [`ApiBackend`] is what the node implements; the router in [`server`]
//! turns HTTP requests into backend calls and backend errors into 4xx/5xx JSON errors.
//! [`error`] turns extractor rejections and backend errors into JSON error bodies, and
//! [`openapi`] builds the OpenAPI document from the handler annotations.
//! [`metrics`] defines the Prometheus metrics the node updates and `/metrics` exposes.

pub mod backend;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod server;
pub mod types;

pub use backend::{ApiBackend, BackendError};
pub use error::ApiError;
pub use metrics::Metrics;
pub use openapi::ApiDoc;
pub use server::{router, serve, ServerConfig};
