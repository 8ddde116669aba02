//! JSON bodies of the HTTP API.

use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_types::{AnchorRecord, AnchorStatus, BlockHeader, CommitCertificate, Receipt, ResultCode, Transaction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of `POST /v1/transactions`: one signed transaction.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// A signed transaction in the JSON form of `hashbridge_types::Transaction`.
    #[schema(value_type = Object)]
    pub transaction: Transaction,
}

/// Response to a submission that the node accepted into its mempool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    #[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub transaction_id: Hash32,
    /// Always `pending`: poll the transaction status for the outcome.
    pub state: TransactionState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionState {
    /// In this node's mempool, waiting for a block.
    Pending,
    /// In a committed block and executed with result `ok`.
    Committed,
    /// In a committed block, but execution rejected it; `result` gives the reason.
    Rejected,
    /// Dropped before inclusion because its validity window or mempool expiry passed.
    Expired,
    /// Not known to this node.
    Unknown,
}

/// Response to `GET /v1/transactions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransactionStatus {
    #[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub transaction_id: Hash32,
    pub state: TransactionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "ok")]
    pub result: Option<ResultCode>,
    /// A sentence explaining `result` or the expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Response to `GET /v1/anchors/{commitment}` when the commitment is anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AnchorView {
    #[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub commitment: Hash32,
    /// Lifecycle state: `{"state":"active"}`, `{"state":"revoked",...}` or `{"state":"superseded",...}`.
    #[schema(value_type = Object)]
    pub status: AnchorStatus,
    pub issuer: IssuerView,
    #[schema(value_type = Object)]
    pub record: AnchorRecord,
    pub height: u64,
    pub block_time_ms: u64,
    #[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub transaction_id: Hash32,
    /// The node's committed height when it answered: the status holds as of this height.
    pub as_of_height: u64,
    /// Proof of the `Anchored` log entry, checkable offline against the genesis file.
    #[schema(value_type = Object)]
    pub receipt: Receipt,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuerView {
    pub id: String,
    pub name: String,
    pub jurisdiction: String,
    #[schema(value_type = String, example = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")]
    pub account_key: PublicKey,
}

/// Response to `GET /v1/blocks/{height}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockView {
    #[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub hash: Hash32,
    #[schema(value_type = Object)]
    pub header: BlockHeader,
    #[schema(value_type = Object)]
    pub certificate: CommitCertificate,
    pub transactions: Vec<BlockTransactionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockTransactionView {
    #[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub transaction_id: Hash32,
    #[schema(value_type = String, example = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")]
    pub sender: PublicKey,
    pub action: String,
    /// Execution result code, such as `ok` or `duplicate_commitment`.
    #[schema(value_type = String, example = "ok")]
    pub result: ResultCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRoleView {
    Validator,
    Observer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// At the highest height seen from peers.
    InSync,
    /// Fetching committed blocks from peers.
    CatchingUp,
}

/// Response to `GET /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeStatus {
    pub chain_id: String,
    #[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub genesis_hash: Hash32,
    pub node: String,
    pub institution: String,
    #[schema(value_type = String, example = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")]
    pub public_key: PublicKey,
    pub role: NodeRoleView,
    pub height: u64,
    #[schema(value_type = String, example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub head_hash: Hash32,
    pub head_time_ms: u64,
    pub view: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    pub peers: Vec<PeerView>,
    pub sync: SyncState,
    /// Highest committed height seen from any peer.
    pub best_known_height: u64,
    pub mempool_transactions: usize,
    pub anchor_log_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeerView {
    pub name: String,
    #[schema(value_type = String, example = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")]
    pub public_key: PublicKey,
}

/// Response to `GET /v1/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MembersView {
    pub validators: Vec<MemberView>,
    pub observers: Vec<MemberView>,
    pub total_weight: u64,
    pub quorum_weight: u64,
    pub faults_tolerated: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub name: String,
    pub institution: String,
    pub jurisdiction: String,
    #[schema(value_type = String, example = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")]
    pub public_key: PublicKey,
    pub weight: u64,
}

/// Body of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code such as `invalid_hex` or `not_found`.
    pub error: String,
    /// A sentence naming the problem and the fix.
    pub message: String,
}

/// Body of `GET /health` when the node is healthy: `{"status":"ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: String,
}
