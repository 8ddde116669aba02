//! Receipts: portable proof that an anchor-log entry was committed.
//!
//! A receipt contains the log entry, its index, an RFC 6962 inclusion proof into the log root
//! of a block header, that header, and the block's commit certificate. It verifies offline
//! with only the genesis file: the certificate must carry a quorum of the genesis
//! validators' signatures over the header's hash, and the header's validator-set hash must
//! be that of the genesis validators.

use hashbridge_crypto::merkle::{self, ProofError};
use hashbridge_crypto::Hash32;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::block::{BlockHeader, CertificateError, CommitCertificate};
use crate::ledger::LogEntry;
use crate::validators::ValidatorSet;

pub const RECEIPT_FORMAT: &str = "hashbridge-receipt";
pub const RECEIPT_VERSION: u32 = 1;

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub format: String,
    pub version: u32,
    pub chain_id: String,
    pub genesis_hash: Hash32,
    pub entry: LogEntry,
    pub log_index: u64,
    pub inclusion_proof: Vec<Hash32>,
    pub header: BlockHeader,
    pub certificate: CommitCertificate,
}

/// Reason a receipt does not prove its entry.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptError {
    #[error("receipt format {found:?} version {version} is not supported; expected {RECEIPT_FORMAT:?} version {RECEIPT_VERSION}")]
    Format { found: String, version: u32 },
    #[error("receipt is for chain {found:?} (genesis {found_hash}), but the genesis file is for chain {expected:?} (genesis {expected_hash})")]
    WrongChain { expected: String, expected_hash: Hash32, found: String, found_hash: Hash32 },
    #[error("block header names validator set {found}, but the genesis validators hash to {expected}")]
    WrongValidatorSet { expected: Hash32, found: Hash32 },
    #[error("commit certificate is invalid: {0}")]
    Certificate(#[from] CertificateError),
    #[error("log entry is from height {entry}, but the header is at height {header}")]
    HeightMismatch { entry: u64, header: u64 },
    #[error("inclusion proof does not lead to the header's log root: {0}")]
    Inclusion(#[from] ProofError),
}

impl Receipt {
    /// Verifies the receipt against a chain's identity and its genesis validators.
    pub fn verify(&self, chain_id: &str, genesis_hash: &Hash32, validators: &ValidatorSet) -> Result<(), ReceiptError> {
        if self.format != RECEIPT_FORMAT || self.version != RECEIPT_VERSION {
            return Err(ReceiptError::Format { found: self.format.clone(), version: self.version });
        }
        if self.chain_id != chain_id || self.genesis_hash != *genesis_hash {
            return Err(ReceiptError::WrongChain {
                expected: chain_id.to_string(),
                expected_hash: *genesis_hash,
                found: self.chain_id.clone(),
                found_hash: self.genesis_hash,
            });
        }
        let expected_set = validators.hash();
        if self.header.validator_set_hash != expected_set {
            return Err(ReceiptError::WrongValidatorSet { expected: expected_set, found: self.header.validator_set_hash });
        }
        self.certificate.verify(chain_id, validators, self.header.height, &self.header.hash())?;
        if self.entry.height > self.header.height {
            return Err(ReceiptError::HeightMismatch { entry: self.entry.height, header: self.header.height });
        }
        merkle::verify_inclusion(&self.entry.leaf_hash(), self.log_index, self.header.log_size, &self.inclusion_proof, &self.header.log_root)?;
        Ok(())
    }

    /// The commitment the receipt proves anchored, or `None` when its entry records a
    /// revocation or supersession instead.
    pub fn anchored_commitment(&self) -> Option<Hash32> {
        match &self.entry.event {
            crate::ledger::LogEvent::Anchored { commitment, .. } => Some(*commitment),
            crate::ledger::LogEvent::Revoked { .. } | crate::ledger::LogEvent::Superseded { .. } => None,
        }
    }
}
