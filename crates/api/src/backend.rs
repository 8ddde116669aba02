//! What the node provides to the HTTP API.

use std::future::Future;

use hashbridge_crypto::Hash32;
use hashbridge_types::Transaction;
use thiserror::Error;

use crate::types::{AnchorView, BlockView, MembersView, NodeStatus, SubmitResponse, TransactionStatus};

/// A failure the API turns into an HTTP status and a JSON error body.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BackendError {
    /// The request is malformed or the transaction fails a check: 400.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The transaction conflicts with chain state, such as already committed: 409.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The node cannot take more work now, such as a full mempool: 503.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// A storage or internal failure: 500.
    #[error("{message}")]
    Internal { message: String },
}

/// The node's side of the API. Reads are synchronous (they hit RocksDB and caches);
/// submission goes through the node's event loop.
pub trait ApiBackend: Clone + Send + Sync + 'static {
    fn submit(&self, tx: Transaction) -> impl Future<Output = Result<SubmitResponse, BackendError>> + Send;
    fn transaction_status(&self, id: &Hash32) -> Result<TransactionStatus, BackendError>;
    fn anchor(&self, commitment: &Hash32) -> Result<Option<AnchorView>, BackendError>;
    fn block(&self, height: u64) -> Result<Option<BlockView>, BackendError>;
    fn status(&self) -> NodeStatus;
    fn members(&self) -> MembersView;
    /// Prometheus text exposition of the node's metrics.
    fn metrics(&self) -> String;
    /// Whether the node is up and its store readable.
    fn healthy(&self) -> bool;
}
