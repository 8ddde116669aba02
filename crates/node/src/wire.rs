//! Payloads the node exchanges over the network, each with a canonical encoding.

use bincode::{Decode, Encode};
use hashbridge_crypto::Hash32;
use hashbridge_types::block::MAX_BLOCK_BYTES;
use hashbridge_types::codec::Canonical;
use hashbridge_types::{CertifiedBlock, Transaction};

/// Most transactions gossiped in one message.
pub const MAX_GOSSIP_TRANSACTIONS: usize = 512;
/// Encoded bytes of transactions that end a gossip batch; well under the default 16 MiB
/// frame limit.
pub const MAX_GOSSIP_BYTES: usize = 4 * 1024 * 1024;
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

#[cfg(test)]
mod tests {
    use super::*;
    use hashbridge_types::codec;

    #[test]
    fn sync_request_bytes_are_pinned() {
        assert_eq!(codec::encode(&SyncRequest::Head), [0]);
        let blocks = SyncRequest::Blocks { from_height: 300, max_blocks: 64 };
        assert_eq!(codec::encode(&blocks), [1, 251, 44, 1, 64]);
        assert_eq!(codec::decode::<SyncRequest>(&[1, 251, 44, 1, 64]).unwrap(), blocks);
    }

    #[test]
    fn sync_response_and_batch_bytes_are_pinned() {
        let head = SyncResponse::Head { height: 7, hash: Hash32([0xaa; 32]) };
        let mut expected = vec![0, 7];
        expected.extend_from_slice(&[0xaa; 32]);
        assert_eq!(codec::encode(&head), expected);
        assert_eq!(codec::encode(&SyncResponse::Blocks(vec![])), [1, 0]);
        assert_eq!(codec::encode(&TransactionBatch { transactions: vec![] }), [0]);
    }

    #[test]
    fn oversized_sync_request_is_rejected() {
        assert!(codec::decode::<SyncRequest>(&[0u8; 33]).is_err());
        assert!(codec::decode::<SyncRequest>(&[2]).is_err());
    }
}
