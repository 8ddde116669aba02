//! The simulated host: a ledger of certified blocks, a transaction pool, block building and
//! re-execution.
//!
//! The anchor log is faked: its root after a block is the `LogLeaf`-domain hash of the
//! previous root and the block's transaction ids, and its size grows by one per
//! transaction. That is enough for a proposal with a wrong root to fail validation the way
//! it does on a real ledger. Transactions carry an all-zero signature, which the simulated
//! host does not check.

use std::collections::{BTreeMap, BTreeSet};

use hashbridge_consensus::CommittedTip;
use hashbridge_crypto::{Domain, Hash32, PublicKey};
use hashbridge_types::block::transaction_root;
use hashbridge_types::{Block, BlockHeader, CertifiedBlock, CommitCertificate, Transaction};

/// The committed chain of one process; survives crashes.
#[derive(Clone, Debug)]
pub struct Ledger {
    genesis: CommittedTip,
    blocks: Vec<CertifiedBlock>,
    transaction_ids: BTreeSet<Hash32>,
    log_root: Hash32,
    log_size: u64,
}

impl Ledger {
    pub fn new(genesis: CommittedTip) -> Self {
        Ledger { genesis, blocks: Vec::new(), transaction_ids: BTreeSet::new(), log_root: Hash32::ZERO, log_size: 0 }
    }

    pub fn tip(&self) -> CommittedTip {
        match self.blocks.last() {
            Some(last) => CommittedTip {
                height: last.block.height(),
                hash: last.block.hash(),
                timestamp_ms: last.block.header.timestamp_ms,
            },
            None => self.genesis,
        }
    }

    pub fn height(&self) -> u64 {
        self.tip().height
    }

    pub fn contains_transaction(&self, id: &Hash32) -> bool {
        self.transaction_ids.contains(id)
    }

    /// Returns committed blocks from `from_height` on, at most `limit` of them.
    pub fn blocks_from(&self, from_height: u64, limit: usize) -> Vec<CertifiedBlock> {
        let skip = usize::try_from(from_height.saturating_sub(1)).unwrap_or(usize::MAX);
        self.blocks.iter().skip(skip).take(limit).cloned().collect()
    }

    /// Computes the log root and size after executing `transactions` on top of this ledger.
    pub fn next_log(&self, transactions: &[Transaction]) -> (Hash32, u64) {
        let ids: Vec<Hash32> = transactions.iter().map(Transaction::id).collect();
        let mut parts: Vec<&[u8]> = vec![self.log_root.as_bytes()];
        parts.extend(ids.iter().map(|id| id.as_bytes().as_slice()));
        let size = self.log_size + transactions.len() as u64;
        (Domain::LogLeaf.hash_parts(&parts), size)
    }

    /// Re-executes `block` on top of this ledger.
    pub fn check(&self, block: &Block, chain_id: &str) -> Result<(), String> {
        let tip = self.tip();
        if block.height() != tip.height + 1 || block.header.parent_hash != tip.hash {
            return Err(format!("block {} at height {} does not extend the tip at height {}", block.hash(), block.height(), tip.height));
        }
        for transaction in &block.transactions {
            if transaction.payload.chain_id != chain_id {
                return Err(format!("transaction {} is for chain {}", transaction.id(), transaction.payload.chain_id));
            }
            if self.contains_transaction(&transaction.id()) {
                return Err(format!("transaction {} is already committed", transaction.id()));
            }
        }
        let (root, size) = self.next_log(&block.transactions);
        if block.header.log_root != root || block.header.log_size != size {
            return Err(format!("log root or size of block {} does not match re-execution", block.hash()));
        }
        Ok(())
    }

    /// Executes and appends a committed block.
    pub fn append(&mut self, block: Block, certificate: CommitCertificate, chain_id: &str) -> Result<(), String> {
        self.check(&block, chain_id)?;
        let (root, size) = self.next_log(&block.transactions);
        self.log_root = root;
        self.log_size = size;
        self.transaction_ids.extend(block.transactions.iter().map(Transaction::id));
        self.blocks.push(CertifiedBlock { block, certificate });
        Ok(())
    }
}

/// Transactions waiting at one process; lost when it crashes.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    transactions: BTreeMap<Hash32, Transaction>,
}

impl Pool {
    pub fn insert(&mut self, transaction: Transaction) {
        self.transactions.insert(transaction.id(), transaction);
    }

    pub fn remove_committed(&mut self, ledger: &Ledger) {
        self.transactions.retain(|id, _| !ledger.contains_transaction(id));
    }

    pub fn len(&self) -> u64 {
        self.transactions.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    /// Returns up to `limit` waiting transactions, in id order.
    pub fn take(&self, limit: usize) -> Vec<Transaction> {
        self.transactions.values().take(limit).cloned().collect()
    }
}

/// The header fields a block needs besides its transactions.
#[derive(Clone, Copy, Debug)]
pub struct BlockContext {
    pub height: u64,
    pub parent_hash: Hash32,
    pub timestamp_ms: u64,
    pub proposer: PublicKey,
    pub validator_set_hash: Hash32,
}

/// Builds a block of `transactions` on top of `ledger`.
pub fn build_block(ledger: &Ledger, context: BlockContext, transactions: Vec<Transaction>) -> Block {
    let (log_root, log_size) = ledger.next_log(&transactions);
    let header = BlockHeader {
        height: context.height,
        parent_hash: context.parent_hash,
        timestamp_ms: context.timestamp_ms,
        proposer: context.proposer,
        transaction_root: transaction_root(&transactions),
        transaction_count: u32::try_from(transactions.len()).unwrap_or(u32::MAX),
        log_root,
        log_size,
        validator_set_hash: context.validator_set_hash,
    };
    Block { header, transactions }
}
