//! Ledger state and anchor-log records, as stored by each node and returned to clients.

use bincode::{Decode, Encode};
use hashbridge_crypto::{Domain, Hash32, PublicKey};
use serde::{Deserialize, Serialize};

use crate::codec::{self, Canonical};
use crate::status::ResultCode;
use crate::transaction::{AnchorRecord, RevocationReason};

/// Location and result of a committed transaction.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct TransactionLocation {
    pub height: u64,
    /// Position in the block's transaction list.
    pub index: u32,
    pub result: ResultCode,
}

impl Canonical for TransactionLocation {
    const MAX_ENCODED_BYTES: usize = 64;
    const NAME: &'static str = "transaction location";
}

/// The lifecycle state of an anchored commitment.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AnchorStatus {
    Active,
    Revoked { reason: RevocationReason, height: u64, transaction_id: Hash32 },
    Superseded { by: Hash32, height: u64, transaction_id: Hash32 },
}

impl AnchorStatus {
    pub fn is_active(&self) -> bool {
        matches!(self, AnchorStatus::Active)
    }
}

/// State a node stores for one anchored commitment.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct AnchorState {
    pub record: AnchorRecord,
    /// Id of the institution that anchored it.
    pub issuer: String,
    /// Account key that signed the anchoring transaction.
    pub sender: PublicKey,
    pub height: u64,
    /// Timestamp of the block that anchored it, in milliseconds since the Unix epoch.
    pub block_time_ms: u64,
    pub transaction_id: Hash32,
    /// Index of its `Anchored` entry in the anchor log.
    pub log_index: u64,
    pub status: AnchorStatus,
}

impl Canonical for AnchorState {
    const MAX_ENCODED_BYTES: usize = 8 * 1024;
    const NAME: &'static str = "anchor state";
}

/// Event recorded in the anchor log.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogEvent {
    Anchored {
        commitment: Hash32,
        issuer: String,
        kind: String,
        issued_at_ms: u64,
        expires_at_ms: Option<u64>,
    },
    Revoked {
        commitment: Hash32,
        reason: RevocationReason,
    },
    Superseded {
        old: Hash32,
        new: Hash32,
    },
}

/// One entry of the anchor log. Its leaf bytes are `tag || encoding`, with the
/// `hashbridge/v1/log-leaf` domain tag, hashed with the RFC 6962 leaf prefix.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct LogEntry {
    pub height: u64,
    pub block_time_ms: u64,
    pub transaction_id: Hash32,
    pub event: LogEvent,
}

impl Canonical for LogEntry {
    const MAX_ENCODED_BYTES: usize = 4 * 1024;
    const NAME: &'static str = "log entry";
}

impl LogEntry {
    /// The bytes that form the Merkle leaf.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        let tag = Domain::LogLeaf.tag();
        let mut bytes = Vec::with_capacity(tag.len() + 128);
        bytes.push(tag.len() as u8);
        bytes.extend_from_slice(tag);
        bytes.extend_from_slice(&codec::encode(self));
        bytes
    }

    /// The RFC 6962 leaf hash of this entry.
    pub fn leaf_hash(&self) -> Hash32 {
        hashbridge_crypto::merkle::leaf_hash(&self.leaf_bytes())
    }
}
