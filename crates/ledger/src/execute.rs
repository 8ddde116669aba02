use std::collections::{BTreeMap, HashMap, HashSet};

use hashbridge_config::genesis::InstitutionRole;
use hashbridge_config::Genesis;
use hashbridge_crypto::merkle::{CompletedSubtree, Frontier};
use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_types::transaction::TransactionError;
use hashbridge_types::{
    Action, AnchorRecord, AnchorState, AnchorStatus, LogEntry, LogEvent, ResultCode, Transaction, TransactionLocation,
};
use thiserror::Error;

/// Genesis facts that execution needs: the chain id, the validity window and which
/// account keys act for which institution.
#[derive(Debug, Clone)]
pub struct LedgerContext {
    pub chain_id: String,
    pub validity_window: u64,
    /// Account key to (institution id, may issue).
    accounts: HashMap<PublicKey, (String, bool)>,
}

impl LedgerContext {
    pub fn from_genesis(genesis: &Genesis) -> Self {
        let mut accounts = HashMap::new();
        for institution in &genesis.institutions {
            let issuer = institution.has_role(InstitutionRole::Issuer);
            for key in &institution.account_keys {
                accounts.insert(*key, (institution.id.clone(), issuer));
            }
        }
        LedgerContext { chain_id: genesis.chain_id.clone(), validity_window: genesis.consensus.transaction_validity_window, accounts }
    }

    /// The institution an account key belongs to.
    pub fn institution_of(&self, key: &PublicKey) -> Option<&str> {
        self.accounts.get(key).map(|(id, _)| id.as_str())
    }

    fn issuer_institution(&self, key: &PublicKey) -> Option<&str> {
        match self.accounts.get(key) {
            Some((id, true)) => Some(id.as_str()),
            _ => None,
        }
    }
}

/// Read access to committed chain state.
pub trait StateReader {
    type Error;

    fn anchor(&self, commitment: &Hash32) -> Result<Option<AnchorState>, Self::Error>;
    fn transaction(&self, id: &Hash32) -> Result<Option<TransactionLocation>, Self::Error>;
}

/// Why a transaction may not go into a block at a given height.
#[derive(Debug, Error)]
pub enum InclusionError<E> {
    #[error(transparent)]
    Invalid(#[from] TransactionError),
    #[error("transaction expired: valid until height {valid_until}, but the next block is {height}")]
    Expired { valid_until: u64, height: u64 },
    #[error("valid_until {valid_until} is more than {window} heights after {height}; choose a height within the validity window")]
    ValidityTooLong { valid_until: u64, height: u64, window: u64 },
    #[error("transaction {id} was already committed at height {height}")]
    AlreadyCommitted { id: Hash32, height: u64 },
    #[error("reading chain state failed: {0}")]
    State(E),
}

/// Checks whether `tx` may be included in a block at `height`, and returns its id.
pub fn check_includable<R: StateReader>(
    ctx: &LedgerContext,
    state: &R,
    height: u64,
    tx: &Transaction,
) -> Result<Hash32, InclusionError<R::Error>> {
    let id = tx.verify(&ctx.chain_id)?;
    check_window(ctx, height, tx)?;
    if let Some(location) = state.transaction(&id).map_err(InclusionError::State)? {
        return Err(InclusionError::AlreadyCommitted { id, height: location.height });
    }
    Ok(id)
}

/// The validity-window part of [`check_includable`], which needs no signature check.
pub fn check_window<E>(ctx: &LedgerContext, height: u64, tx: &Transaction) -> Result<(), InclusionError<E>> {
    let valid_until = tx.payload.valid_until;
    if valid_until < height {
        return Err(InclusionError::Expired { valid_until, height });
    }
    if valid_until - height > ctx.validity_window {
        return Err(InclusionError::ValidityTooLong { valid_until, height, window: ctx.validity_window });
    }
    Ok(())
}

/// The result of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionOutcome {
    pub id: Hash32,
    pub result: ResultCode,
}

/// Every change a block makes, ready to be written atomically.
#[derive(Debug, Clone)]
pub struct BlockExecution {
    pub height: u64,
    pub outcomes: Vec<TransactionOutcome>,
    /// Final state of every anchor the block created or changed.
    pub anchors: BTreeMap<Hash32, AnchorState>,
    /// New log entries with their log indices.
    pub log_entries: Vec<(u64, LogEntry)>,
    /// Perfect subtrees of the log completed by this block, for proof generation.
    pub completed_subtrees: Vec<CompletedSubtree>,
    /// Hashes of the new leaves, in log order.
    pub leaf_hashes: Vec<Hash32>,
    pub frontier: Frontier,
}

impl BlockExecution {
    pub fn log_root(&self) -> Hash32 {
        self.frontier.root()
    }

    pub fn log_size(&self) -> u64 {
        self.frontier.size()
    }
}

/// Working state while executing one block: committed state plus this block's changes.
struct Overlay<'a, R> {
    ctx: &'a LedgerContext,
    state: &'a R,
    height: u64,
    block_time_ms: u64,
    anchors: BTreeMap<Hash32, AnchorState>,
    entries: Vec<(u64, LogEntry)>,
    leaf_hashes: Vec<Hash32>,
    completed: Vec<CompletedSubtree>,
    frontier: Frontier,
}

impl<R: StateReader> Overlay<'_, R> {
    fn anchor(&self, commitment: &Hash32) -> Result<Option<AnchorState>, R::Error> {
        match self.anchors.get(commitment) {
            Some(anchor) => Ok(Some(anchor.clone())),
            None => self.state.anchor(commitment),
        }
    }

    fn append(&mut self, transaction_id: Hash32, event: LogEvent) -> u64 {
        let entry = LogEntry { height: self.height, block_time_ms: self.block_time_ms, transaction_id, event };
        let index = self.frontier.size();
        let leaf = entry.leaf_hash();
        self.completed.extend(self.frontier.push(leaf));
        self.leaf_hashes.push(leaf);
        self.entries.push((index, entry));
        index
    }

    fn new_anchor(&mut self, tx_id: Hash32, issuer: &str, sender: PublicKey, record: &AnchorRecord) {
        let index = self.append(
            tx_id,
            LogEvent::Anchored {
                commitment: record.commitment,
                issuer: issuer.to_string(),
                kind: record.kind.clone(),
                issued_at_ms: record.issued_at_ms,
                expires_at_ms: record.expires_at_ms,
            },
        );
        let state = AnchorState {
            record: record.clone(),
            issuer: issuer.to_string(),
            sender,
            height: self.height,
            block_time_ms: self.block_time_ms,
            transaction_id: tx_id,
            log_index: index,
            status: AnchorStatus::Active,
        };
        self.anchors.insert(record.commitment, state);
    }

    /// Checks that none of `records` is anchored yet.
    fn all_new(&self, records: &[AnchorRecord]) -> Result<bool, R::Error> {
        for record in records {
            if self.anchor(&record.commitment)?.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Checks that `commitment` is active and anchored by `issuer`.
    fn check_owned_active(&self, commitment: &Hash32, issuer: &str) -> Result<Result<AnchorState, ResultCode>, R::Error> {
        let Some(anchor) = self.anchor(commitment)? else {
            return Ok(Err(ResultCode::UnknownCommitment));
        };
        if anchor.issuer != issuer {
            return Ok(Err(ResultCode::NotIssuer));
        }
        if !anchor.status.is_active() {
            return Ok(Err(ResultCode::AlreadyInactive));
        }
        Ok(Ok(anchor))
    }

    fn apply(&mut self, tx_id: Hash32, tx: &Transaction) -> Result<ResultCode, R::Error> {
        let sender = tx.payload.sender;
        let Some(issuer) = self.ctx.issuer_institution(&sender).map(str::to_string) else {
            return Ok(ResultCode::Unauthorized);
        };

        match &tx.payload.action {
            Action::Anchor(_) | Action::AnchorBatch { .. } => {
                let records = tx.payload.action.new_anchors();
                if !self.all_new(records)? {
                    return Ok(ResultCode::DuplicateCommitment);
                }
                for record in records {
                    self.new_anchor(tx_id, &issuer, sender, record);
                }
            }
            Action::Revoke { commitment, reason } => {
                let mut anchor = match self.check_owned_active(commitment, &issuer)? {
                    Ok(anchor) => anchor,
                    Err(code) => return Ok(code),
                };
                self.append(tx_id, LogEvent::Revoked { commitment: *commitment, reason: *reason });
                anchor.status = AnchorStatus::Revoked { reason: *reason, height: self.height, transaction_id: tx_id };
                self.anchors.insert(*commitment, anchor);
            }
            Action::Supersede { old, replacement } => {
                let mut anchor = match self.check_owned_active(old, &issuer)? {
                    Ok(anchor) => anchor,
                    Err(code) => return Ok(code),
                };
                if !self.all_new(std::slice::from_ref(replacement))? {
                    return Ok(ResultCode::DuplicateCommitment);
                }
                self.new_anchor(tx_id, &issuer, sender, replacement);
                self.append(tx_id, LogEvent::Superseded { old: *old, new: replacement.commitment });
                anchor.status = AnchorStatus::Superseded { by: replacement.commitment, height: self.height, transaction_id: tx_id };
                self.anchors.insert(*old, anchor);
            }
        }
        Ok(ResultCode::Ok)
    }
}

/// Executes the transactions of the block at `height` on top of committed state.
///
/// The caller has already checked each transaction with [`check_includable`] (the mempool
/// on entry, a validator on every proposal), including that no id appears twice.
pub fn execute_block<R: StateReader>(
    ctx: &LedgerContext,
    state: &R,
    parent_frontier: &Frontier,
    height: u64,
    block_time_ms: u64,
    transactions: &[(Hash32, &Transaction)],
) -> Result<BlockExecution, R::Error> {
    let mut overlay = Overlay {
        ctx,
        state,
        height,
        block_time_ms,
        anchors: BTreeMap::new(),
        entries: Vec::new(),
        leaf_hashes: Vec::new(),
        completed: Vec::new(),
        frontier: parent_frontier.clone(),
    };

    let mut outcomes = Vec::with_capacity(transactions.len());
    for (id, tx) in transactions {
        let result = overlay.apply(*id, tx)?;
        outcomes.push(TransactionOutcome { id: *id, result });
    }

    Ok(BlockExecution {
        height,
        outcomes,
        anchors: overlay.anchors,
        log_entries: overlay.entries,
        completed_subtrees: overlay.completed,
        leaf_hashes: overlay.leaf_hashes,
        frontier: overlay.frontier,
    })
}

/// Finds the first transaction id that appears twice in `transactions`.
pub fn first_duplicate<'a>(ids: impl IntoIterator<Item = &'a Hash32>) -> Option<Hash32> {
    let mut seen = HashSet::new();
    ids.into_iter().find(|id| !seen.insert(**id)).copied()
}
