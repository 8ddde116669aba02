//! Blocks, headers, votes and commit certificates.
//!
//! The block hash is the domain-tagged hash of the encoded [`BlockHeader`]. The header
//! commits to the body through `transaction_root` (the RFC 6962 root over the encoded
//! transactions, signatures included)
//! and to the ledger through `log_root` and `log_size` (the anchor log after executing the
//! block), so a header plus an inclusion proof is enough to prove an anchor.
//!
//! A [`CommitCertificate`] holds commit-phase vote signatures over
//! (chain id, height, view, block hash) from validators whose weights reach the quorum.
//! Anyone with the validator set from the genesis file can check it.

use std::collections::HashSet;

use bincode::{Decode, Encode};
use hashbridge_crypto::{merkle, Domain, Hash32, PublicKey, Signature};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{self, Canonical};
use crate::transaction::{Transaction, MAX_TRANSACTION_BYTES};
use crate::validators::ValidatorSet;

/// Largest encoded block accepted from any peer, whatever the genesis allows.
pub const MAX_BLOCK_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockHeader {
    pub height: u64,
    /// The hash of the previous block's header, or the genesis hash at height 1.
    pub parent_hash: Hash32,
    /// Proposal time, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The node key of the validator that proposed the block.
    pub proposer: PublicKey,
    /// RFC 6962 root over the block's encoded transactions, signatures included, in order.
    pub transaction_root: Hash32,
    pub transaction_count: u32,
    /// Root of the anchor log after executing this block.
    pub log_root: Hash32,
    /// Number of entries in the anchor log after executing this block.
    pub log_size: u64,
    /// Hash of the validator set that certifies this block.
    pub validator_set_hash: Hash32,
}

impl BlockHeader {
    pub fn hash(&self) -> Hash32 {
        Domain::BlockHeader.hash(&codec::encode(self))
    }
}

impl Canonical for BlockHeader {
    const MAX_ENCODED_BYTES: usize = 1024;
    const NAME: &'static str = "block header";
}

#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    pub header: BlockHeader,
    pub transactions: Vec<Transaction>,
}

impl Canonical for Block {
    const MAX_ENCODED_BYTES: usize = MAX_BLOCK_BYTES;
    const NAME: &'static str = "block";
}

impl Block {
    pub fn hash(&self) -> Hash32 {
        self.header.hash()
    }

    pub fn height(&self) -> u64 {
        self.header.height
    }
}

/// RFC 6962 root over the encoded `transactions`, in order. The leaves cover the
/// signatures too, so a certified block's body cannot be altered without changing its hash.
pub fn transaction_root(transactions: &[Transaction]) -> Hash32 {
    let leaves: Vec<Hash32> = transactions.iter().map(|tx| merkle::leaf_hash(&codec::encode(tx))).collect();
    merkle::root(&leaves)
}

/// The phase a vote belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VotePhase {
    Prepare,
    Commit,
}

/// The statement a validator signs when it votes.
#[derive(Clone, PartialEq, Eq, Debug, Encode)]
pub struct VoteStatement<'a> {
    pub chain_id: &'a str,
    pub phase: VotePhase,
    pub height: u64,
    pub view: u64,
    pub block_hash: Hash32,
}

impl VoteStatement<'_> {
    /// The 32-byte digest that is signed.
    pub fn digest(&self) -> Hash32 {
        Domain::Vote.hash(&codec::encode(self))
    }
}

/// A validator's signature in a commit certificate.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSignature {
    pub validator: PublicKey,
    pub signature: Signature,
}

/// Proof that a quorum of validators committed a block.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitCertificate {
    pub height: u64,
    pub view: u64,
    pub block_hash: Hash32,
    pub signatures: Vec<ValidatorSignature>,
}

impl Canonical for CommitCertificate {
    const MAX_ENCODED_BYTES: usize = 1024 * 1024;
    const NAME: &'static str = "commit certificate";
}

/// Reason a commit certificate does not prove a block.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertificateError {
    #[error("certificate is for height {found}, expected {expected}")]
    WrongHeight { expected: u64, found: u64 },
    #[error("certificate is for block {found}, expected {expected}")]
    WrongBlock { expected: Hash32, found: Hash32 },
    #[error("signer {0} is not a validator of this chain")]
    UnknownSigner(PublicKey),
    #[error("validator {0} signed the certificate more than once")]
    DuplicateSigner(PublicKey),
    #[error("signature of validator {0} does not verify")]
    BadSignature(PublicKey),
    #[error("signers hold weight {found}, short of the quorum weight {quorum}")]
    NoQuorum { found: u64, quorum: u64 },
}

impl CommitCertificate {
    /// Checks that the certificate commits `block_hash` at `height` under `validators`.
    pub fn verify(
        &self,
        chain_id: &str,
        validators: &ValidatorSet,
        height: u64,
        block_hash: &Hash32,
    ) -> Result<(), CertificateError> {
        if self.height != height {
            return Err(CertificateError::WrongHeight { expected: height, found: self.height });
        }
        if self.block_hash != *block_hash {
            return Err(CertificateError::WrongBlock { expected: *block_hash, found: self.block_hash });
        }
        let statement = VoteStatement {
            chain_id,
            phase: VotePhase::Commit,
            height: self.height,
            view: self.view,
            block_hash: self.block_hash,
        };
        let digest = statement.digest();

        let mut seen = HashSet::new();
        let mut weight = 0u64;
        for entry in &self.signatures {
            let Some(validator_weight) = validators.weight_of(&entry.validator) else {
                return Err(CertificateError::UnknownSigner(entry.validator));
            };
            if !seen.insert(entry.validator) {
                return Err(CertificateError::DuplicateSigner(entry.validator));
            }
            entry
                .validator
                .verify(digest.as_bytes(), &entry.signature)
                .map_err(|_| CertificateError::BadSignature(entry.validator))?;
            weight = weight.saturating_add(validator_weight);
        }

        let quorum = validators.quorum_weight();
        if weight < quorum {
            return Err(CertificateError::NoQuorum { found: weight, quorum });
        }
        Ok(())
    }
}

/// A committed block with the certificate that proves it, as stored and synced.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct CertifiedBlock {
    pub block: Block,
    pub certificate: CommitCertificate,
}

impl Canonical for CertifiedBlock {
    const MAX_ENCODED_BYTES: usize = MAX_BLOCK_BYTES + 1024 * 1024;
    const NAME: &'static str = "certified block";
}

/// Encoded-size bound for a block of `count` maximal transactions, used to size limits.
pub const fn max_block_bytes_for(count: usize) -> usize {
    count * MAX_TRANSACTION_BYTES + 1024
}
