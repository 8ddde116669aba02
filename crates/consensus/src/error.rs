//! Errors for rejected messages, proposals and synced blocks.

use hashbridge_crypto::{Hash32, PublicKey};
use thiserror::Error;

/// A failed check of the core on a block. The host re-executes the block separately.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProposalError {
    #[error("block height is {found}, expected {expected}")]
    WrongHeight { expected: u64, found: u64 },
    #[error("parent hash is {found}, expected the last committed block {expected}")]
    WrongParent { expected: Hash32, found: Hash32 },
    #[error("proposer is {found}, expected the leader {expected}")]
    WrongProposer { expected: PublicKey, found: PublicKey },
    #[error("validator set hash is {found}, expected {expected}")]
    WrongValidatorSet { expected: Hash32, found: Hash32 },
    #[error("transaction root in the header is {header}, but the body gives {computed}")]
    TransactionRootMismatch { header: Hash32, computed: Hash32 },
    #[error("header counts {header} transactions, but the body has {found}")]
    TransactionCountMismatch { header: u32, found: usize },
    #[error("transaction {id} appears more than once")]
    DuplicateTransaction { id: Hash32 },
    #[error("{count} transactions, more than the {max} allowed in a block")]
    TooManyTransactions { count: usize, max: usize },
    #[error("block is {bytes} bytes, more than the {max} bytes allowed")]
    TooLarge { bytes: usize, max: usize },
    #[error("timestamp {timestamp_ms} ms is not after the parent's {parent_ms} ms")]
    TimestampNotAfterParent { timestamp_ms: u64, parent_ms: u64 },
    #[error("timestamp {timestamp_ms} ms is more than {max_drift_ms} ms ahead of the local clock {now_ms} ms")]
    TimestampAhead { timestamp_ms: u64, now_ms: u64, max_drift_ms: u64 },
    #[error("block {found} is not the block {expected} that the new view must propose again")]
    NotRequiredBlock { expected: Hash32, found: Hash32 },
}

/// The reason a peer's message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    #[error("sender {peer} is not a validator")]
    UnknownSender { peer: PublicKey },
    #[error("{kind} from {peer} at height {height} has an invalid signature")]
    BadSignature { peer: PublicKey, kind: &'static str, height: u64 },
    #[error("{kind} from {peer} at height {height} view {view} is not from the leader {leader}")]
    NotLeader { peer: PublicKey, kind: &'static str, height: u64, view: u64, leader: PublicKey },
    #[error("proposal from {peer} at height {height} view {view} is invalid: {reason}")]
    InvalidProposal { peer: PublicKey, height: u64, view: u64, reason: ProposalError },
    #[error("{kind} from {peer} at height {height} view {view} is invalid: {reason}")]
    Invalid { peer: PublicKey, kind: &'static str, height: u64, view: u64, reason: String },
    #[error("synced block at height {height} is invalid: {reason}")]
    InvalidSyncedBlock { height: u64, reason: String },
}

impl MessageError {
    /// Returns the peer that sent the rejected message. Synced blocks come through the
    /// host and have none.
    pub fn peer(&self) -> Option<PublicKey> {
        match self {
            MessageError::UnknownSender { peer }
            | MessageError::BadSignature { peer, .. }
            | MessageError::NotLeader { peer, .. }
            | MessageError::InvalidProposal { peer, .. }
            | MessageError::Invalid { peer, .. } => Some(*peer),
            MessageError::InvalidSyncedBlock { .. } => None,
        }
    }
}
