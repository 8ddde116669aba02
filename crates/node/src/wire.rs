//! Payloads the node exchanges over the network, each with a canonical encoding.

use bincode::{Decode, Encode};
use hashbridge_crypto::Hash32;
use hashbridge_types::block::MAX_BLOCK_BYTES;
use hashbridge_types::codec::Canonical;
use hashbridge_types::{CertifiedBlock, Transaction};

/// Most transactions gossiped in one message.
pub const MAX_GOSSIP_TRANSACTIONS: usize = 512;
/// Most blocks returned by one sync response.
pub const MAX_SYNC_BLOCKS: u32 = 64;
/// Most encoded bytes of blocks returned by one sync response; at least one block is
/// always returned so a large block can still be synced.
pub const MAX_SYNC_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Transactions a node forwards to the other members.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct TransactionBatch {
    pub transactions: Vec<Transaction>,
}

impl Canonical for TransactionBatch {
    const MAX_ENCODED_BYTES: usize = 16 * 1024 * 1024;
    const NAME: &'static str = "transaction batch";
}

/// A block-sync request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// The peer's committed height and head hash.
    Head,
    /// Committed blocks with certificates from `from_height` on.
    Blocks { from_height: u64, max_blocks: u32 },
}

impl Canonical for SyncRequest {
    const MAX_ENCODED_BYTES: usize = 32;
    const NAME: &'static str = "sync request";
}

/// A block-sync response.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    Head { height: u64, hash: Hash32 },
    Blocks(Vec<CertifiedBlock>),
}

impl Canonical for SyncResponse {
    const MAX_ENCODED_BYTES: usize = MAX_SYNC_RESPONSE_BYTES + MAX_BLOCK_BYTES;
    const NAME: &'static str = "sync response";
}
