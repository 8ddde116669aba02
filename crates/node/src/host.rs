//! The ledger side of consensus: building, validating and committing blocks.
//!
//! A proposal is executed once, when it is built or validated. The result is kept by block
//! hash, so committing the block writes the same changes without executing it again.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use hashbridge_crypto::Hash32;
use hashbridge_ledger::{check_includable, check_window, execute_block, BlockExecution, LedgerContext};
use hashbridge_storage::{StorageError, Store};
use hashbridge_types::block::transaction_root;
use hashbridge_types::{Block, BlockHeader, CertifiedBlock, CommitCertificate, PublicKey, Transaction, ValidatorSet};
use thiserror::Error;

use crate::shared::Shared;

/// Executions kept for blocks that may still commit.
const EXECUTION_CACHE: usize = 32;

/// The reason a proposal or synced block was not accepted.
#[derive(Debug, Error)]
pub enum BlockError {
    #[error("block {height} builds on {parent}, but the committed head is {head}")]
    WrongParent { height: u64, parent: Hash32, head: Hash32 },
    #[error("transaction {index} of block {height} cannot be included: {reason}")]
    Transaction { height: u64, index: usize, reason: String },
    #[error("block {height} header field {field} is {found}, but executing the block gives {expected}")]
    HeaderMismatch { height: u64, field: &'static str, found: String, expected: String },
    #[error("block {height} certificate is invalid: {reason}")]
    Certificate { height: u64, reason: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Executes and commits blocks against the node's store.
pub struct Host {
    shared: Arc<Shared>,
    ctx: LedgerContext,
    validators: ValidatorSet,
    validator_set_hash: Hash32,
    executions: HashMap<Hash32, BlockExecution>,
    execution_order: VecDeque<Hash32>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("cached_executions", &self.executions.len()).finish_non_exhaustive()
    }
}

impl Host {
    pub fn new(shared: Arc<Shared>) -> Self {
        let ctx = LedgerContext::from_genesis(&shared.genesis);
        let validators = shared.genesis.validator_set();
        let validator_set_hash = validators.hash();
        Host { shared, ctx, validators, validator_set_hash, executions: HashMap::new(), execution_order: VecDeque::new() }
    }

    fn store(&self) -> &Store {
        &self.shared.store
    }

    fn remember(&mut self, hash: Hash32, execution: BlockExecution) {
        if self.executions.insert(hash, execution).is_none() {
            self.execution_order.push_back(hash);
        }
        while self.execution_order.len() > EXECUTION_CACHE {
            if let Some(old) = self.execution_order.pop_front() {
                self.executions.remove(&old);
            }
        }
    }

    /// Builds the block for `height` from the mempool, executed on the committed head.
    pub fn build(&mut self, proposer: PublicKey, height: u64, parent_hash: Hash32, timestamp_ms: u64) -> Result<Block, BlockError> {
        let genesis = &self.shared.genesis.consensus;
        let limit_count = genesis.max_block_transactions as usize;
        let limit_bytes = usize::try_from(genesis.max_block_bytes).unwrap_or(usize::MAX).saturating_sub(4096);
        let mut picked = self.shared.mempool().select(height, limit_count, limit_bytes);
        // A transaction can re-enter the mempool while it commits (admission races the
        // commit); it must not be proposed again.
        let mut committed = Vec::new();
        for (id, _) in &picked {
            if self.store().transaction_location(id)?.is_some() {
                committed.push(*id);
            }
        }
        if !committed.is_empty() {
            picked.retain(|(id, _)| !committed.contains(id));
            let mut mempool = self.shared.mempool();
            for id in &committed {
                mempool.remove(id);
            }
        }

        let (head, frontier) = self.store().head_and_frontier();
        let head_hash = head.map_or(self.store().genesis_hash(), |h| h.hash);
        if head_hash != parent_hash {
            return Err(BlockError::WrongParent { height, parent: parent_hash, head: head_hash });
        }
        let refs: Vec<(Hash32, &Transaction)> = picked.iter().map(|(id, tx)| (*id, tx)).collect();
        let execution = execute_block(&self.ctx, self.store(), &frontier, height, timestamp_ms, &refs)?;
        let transactions: Vec<Transaction> = picked.into_iter().map(|(_, tx)| tx).collect();

        let header = BlockHeader {
            height,
            parent_hash,
            timestamp_ms,
            proposer,
            transaction_root: transaction_root(&transactions),
            transaction_count: transactions.len() as u32,
            log_root: execution.log_root(),
            log_size: execution.log_size(),
            validator_set_hash: self.validator_set_hash,
        };
        let block = Block { header, transactions };
        self.remember(block.hash(), execution);
        Ok(block)
    }

    /// Checks every transaction of a proposal and re-executes it; the header must match.
    pub fn validate(&mut self, block: &Block) -> Result<(), BlockError> {
        let hash = block.hash();
        if self.executions.contains_key(&hash) {
            return Ok(());
        }
        let execution = self.execute_checked(block)?;
        self.remember(hash, execution);
        Ok(())
    }

    fn execute_checked(&self, block: &Block) -> Result<BlockExecution, BlockError> {
        let header = &block.header;
        let height = header.height;
        let (head, frontier) = self.store().head_and_frontier();
        let head_hash = head.map_or(self.store().genesis_hash(), |h| h.hash);
        if header.parent_hash != head_hash {
            return Err(BlockError::WrongParent { height, parent: header.parent_hash, head: head_hash });
        }

        let mut ids = Vec::with_capacity(block.transactions.len());
        {
            let mempool = self.shared.mempool();
            for (index, tx) in block.transactions.iter().enumerate() {
                let id = tx.id();
                // A transaction the mempool admitted with the same signature was verified then.
                let verified = mempool.get(&id).is_some_and(|known| known.signature == tx.signature);
                let checked = if verified {
                    check_window::<StorageError>(&self.ctx, height, tx).map(|()| id)
                } else {
                    check_includable(&self.ctx, self.store(), height, tx)
                };
                let id = checked.map_err(|e| BlockError::Transaction { height, index, reason: e.to_string() })?;
                if verified && self.store().transaction_location(&id)?.is_some() {
                    return Err(BlockError::Transaction { height, index, reason: format!("transaction {id} was already committed") });
                }
                ids.push((id, tx));
            }
        }

        let execution = execute_block(&self.ctx, self.store(), &frontier, height, header.timestamp_ms, &ids)?;
        let expect = |field: &'static str, found: String, expected: String| {
            if found == expected {
                Ok(())
            } else {
                Err(BlockError::HeaderMismatch { height, field, found, expected })
            }
        };
        expect("log_root", header.log_root.to_hex(), execution.log_root().to_hex())?;
        expect("log_size", header.log_size.to_string(), execution.log_size().to_string())?;
        expect("validator_set_hash", header.validator_set_hash.to_hex(), self.validator_set_hash.to_hex())?;
        expect("transaction_count", header.transaction_count.to_string(), block.transactions.len().to_string())?;
        expect("transaction_root", header.transaction_root.to_hex(), transaction_root(&block.transactions).to_hex())?;
        Ok(execution)
    }

    /// Writes a certified block. A block that was not validated here (synced, or committed
    /// by the others while this node was behind) is checked and executed first.
    pub fn commit(&mut self, block: Block, certificate: CommitCertificate) -> Result<BlockExecution, BlockError> {
        let hash = block.hash();
        let height = block.header.height;
        certificate
            .verify(&self.shared.genesis.chain_id, &self.validators, height, &hash)
            .map_err(|e| BlockError::Certificate { height, reason: e.to_string() })?;

        let execution = match self.executions.remove(&hash) {
            Some(execution) => execution,
            None => self.execute_checked(&block)?,
        };
        self.store().commit_block(&CertifiedBlock { block, certificate }, &execution)?;
        self.executions.clear();
        self.execution_order.clear();
        Ok(execution)
    }
}
