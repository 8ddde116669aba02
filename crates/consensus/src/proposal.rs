//! The core's own checks on a proposed or synced block. The host re-executes the
//! transactions separately and reports its verdict; both must pass before a Prepare.

use std::collections::BTreeSet;

use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_types::block::transaction_root;
use hashbridge_types::codec;
use hashbridge_types::Block;

use crate::config::Config;
use crate::error::ProposalError;
use crate::io::CommittedTip;

/// The requirement on a block beyond extending the committed chain.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expectation {
    /// A new block from `leader`, whose timestamp must fit the local clock.
    Fresh { leader: PublicKey, now_ms: u64 },
    /// The block a NewView requires: it was checked when first proposed, and its proposer
    /// and timestamp belong to that earlier view.
    Required(Hash32),
}

/// Checks a proposal at the height after `tip`.
pub(crate) fn check_proposal(
    config: &Config,
    tip: &CommittedTip,
    block: &Block,
    expectation: Expectation,
) -> Result<(), ProposalError> {
    check_extends(tip, block)?;
    match expectation {
        Expectation::Fresh { leader, now_ms } => {
            check_proposer_and_time(config, tip, block, leader, now_ms)?;
        }
        Expectation::Required(expected) => {
            let found = block.hash();
            if found != expected {
                return Err(ProposalError::NotRequiredBlock { expected, found });
            }
        }
    }
    check_body(config, block)
}

/// Checks that the block's height and parent follow `tip`.
pub(crate) fn check_extends(tip: &CommittedTip, block: &Block) -> Result<(), ProposalError> {
    let expected = tip.height.checked_add(1).ok_or(ProposalError::WrongHeight { expected: u64::MAX, found: block.height() })?;
    if block.height() != expected {
        return Err(ProposalError::WrongHeight { expected, found: block.height() });
    }
    if block.header.parent_hash != tip.hash {
        return Err(ProposalError::WrongParent { expected: tip.hash, found: block.header.parent_hash });
    }
    Ok(())
}

fn check_proposer_and_time(
    config: &Config,
    tip: &CommittedTip,
    block: &Block,
    leader: PublicKey,
    now_ms: u64,
) -> Result<(), ProposalError> {
    let header = &block.header;
    if header.proposer != leader {
        return Err(ProposalError::WrongProposer { expected: leader, found: header.proposer });
    }
    if header.timestamp_ms <= tip.timestamp_ms {
        return Err(ProposalError::TimestampNotAfterParent {
            timestamp_ms: header.timestamp_ms,
            parent_ms: tip.timestamp_ms,
        });
    }
    if header.timestamp_ms > now_ms.saturating_add(config.max_clock_drift_ms) {
        return Err(ProposalError::TimestampAhead {
            timestamp_ms: header.timestamp_ms,
            now_ms,
            max_drift_ms: config.max_clock_drift_ms,
        });
    }
    Ok(())
}

/// Checks the body against the header and the block limits; used for synced blocks too.
pub(crate) fn check_body(config: &Config, block: &Block) -> Result<(), ProposalError> {
    let header = &block.header;
    let expected_set = config.validators.hash();
    if header.validator_set_hash != expected_set {
        return Err(ProposalError::WrongValidatorSet { expected: expected_set, found: header.validator_set_hash });
    }

    let count = block.transactions.len();
    if count > config.max_block_transactions {
        return Err(ProposalError::TooManyTransactions { count, max: config.max_block_transactions });
    }
    if u32::try_from(count).ok() != Some(header.transaction_count) {
        return Err(ProposalError::TransactionCountMismatch { header: header.transaction_count, found: count });
    }
    let bytes = codec::encode(block).len();
    if bytes > config.max_block_bytes {
        return Err(ProposalError::TooLarge { bytes, max: config.max_block_bytes });
    }

    let mut seen = BTreeSet::new();
    for transaction in &block.transactions {
        let id = transaction.id();
        if !seen.insert(id) {
            return Err(ProposalError::DuplicateTransaction { id });
        }
    }
    let computed = transaction_root(&block.transactions);
    if computed != header.transaction_root {
        return Err(ProposalError::TransactionRootMismatch { header: header.transaction_root, computed });
    }
    Ok(())
}
