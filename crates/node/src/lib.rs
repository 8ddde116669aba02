//! The node runtime.

pub mod mempool;
