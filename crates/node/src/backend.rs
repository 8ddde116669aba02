//! The node's implementation of the HTTP API backend.

use std::sync::Arc;

use hashbridge_api::types::{
    AnchorView, BlockTransactionView, BlockView, IssuerView, MemberView, MembersView, NodeRoleView, NodeStatus, PeerView,
    SubmitResponse, TransactionState, TransactionStatus,
};
use hashbridge_api::{ApiBackend, BackendError};
use hashbridge_config::genesis::NodeRole;
use hashbridge_crypto::Hash32;
use hashbridge_ledger::{check_includable, InclusionError, LedgerContext};
use hashbridge_storage::StorageError;
use hashbridge_types::receipt::{RECEIPT_FORMAT, RECEIPT_VERSION};
use hashbridge_types::{Receipt, ResultCode, Transaction};

use crate::mempool::AdmitError;
use crate::shared::{lock, Shared};

#[derive(Clone)]
pub struct NodeBackend {
    shared: Arc<Shared>,
    ctx: Arc<LedgerContext>,
}

impl std::fmt::Debug for NodeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeBackend").finish_non_exhaustive()
    }
}

fn internal(error: StorageError) -> BackendError {
    tracing::error!(%error, "storage read failed");
    BackendError::Internal { message: "the node could not read its store; see the node log".into() }
}

/// Explains a result code in a sentence for clients.
pub fn result_reason(code: ResultCode) -> &'static str {
    match code {
        ResultCode::Ok => "the action took effect",
        ResultCode::Unauthorized => "the sender's account is not an issuer of this chain",
        ResultCode::DuplicateCommitment => "the commitment is already anchored (duplicate)",
        ResultCode::UnknownCommitment => "the commitment to revoke or supersede is not anchored",
        ResultCode::NotIssuer => "only the institution that anchored the commitment may change it",
        ResultCode::AlreadyInactive => "the commitment is already revoked or superseded",
        ResultCode::Expired => "the transaction's validity window passed",
        ResultCode::ValidityTooLong => "valid_until is beyond the chain's validity window",
        ResultCode::Replayed => "the transaction was already executed",
        ResultCode::Invalid => "the transaction failed a stateless check",
    }
}

impl NodeBackend {
    pub fn new(shared: Arc<Shared>) -> Self {
        let ctx = Arc::new(LedgerContext::from_genesis(&shared.genesis));
        NodeBackend { shared, ctx }
    }

    /// Checks a transaction and admits it to the mempool.
    pub fn admit(&self, tx: Transaction) -> Result<Hash32, BackendError> {
        let sender = tx.payload.sender;
        if self.ctx.institution_of(&sender).is_none() {
            self.shared.metrics.record_rejected("unknown_account");
            return Err(BackendError::Invalid {
                code: "unknown_account",
                message: format!("sender key {sender} is not an account key of any institution in the genesis; sign with your institution's account key"),
            });
        }
        let store = &self.shared.store;
        let height = store.height() + 1;
        let id = check_includable(&*self.ctx, &**store, height, &tx).map_err(|e| {
            if let InclusionError::State(error) = e {
                return internal(error);
            }
            let (code, conflict) = match &e {
                InclusionError::Invalid(_) => ("invalid_transaction", false),
                InclusionError::Expired { .. } => ("expired", false),
                InclusionError::ValidityTooLong { .. } => ("validity_too_long", false),
                InclusionError::AlreadyCommitted { .. } => ("already_committed", true),
                InclusionError::State(_) => ("internal", false),
            };
            self.shared.metrics.record_rejected(code);
            if conflict {
                BackendError::Conflict { code, message: e.to_string() }
            } else {
                BackendError::Invalid { code, message: e.to_string() }
            }
        })?;
        let bytes = tx.encoded_len();
        match self.shared.mempool().admit(id, tx, bytes, std::time::Instant::now()) {
            Ok(()) | Err(AdmitError::AlreadyPending(_)) => Ok(id),
            Err(full @ AdmitError::Full { .. }) => {
                self.shared.metrics.record_rejected("mempool_full");
                Err(BackendError::Unavailable { code: "mempool_full", message: full.to_string() })
            }
        }
    }

    fn receipt_for(&self, log_index: u64, height: u64) -> Result<Receipt, StorageError> {
        let store = &self.shared.store;
        let missing = |what: &str| StorageError::Corrupt { path: store.path().to_path_buf(), detail: format!("{what} for a stored anchor is missing") };
        let header = store.header(height)?.ok_or_else(|| missing("block header"))?;
        let certificate = store.certificate(height)?.ok_or_else(|| missing("certificate"))?;
        let entry = store.log_entry(log_index)?.ok_or_else(|| missing("log entry"))?;
        let inclusion_proof = store.inclusion_proof(log_index, header.log_size)?;
        Ok(Receipt {
            format: RECEIPT_FORMAT.into(),
            version: RECEIPT_VERSION,
            chain_id: self.shared.genesis.chain_id.clone(),
            genesis_hash: self.shared.genesis_hash,
            entry,
            log_index,
            inclusion_proof,
            header,
            certificate,
        })
    }
}

impl ApiBackend for NodeBackend {
    async fn submit(&self, tx: Transaction) -> Result<SubmitResponse, BackendError> {
        let backend = self.clone();
        let id = tokio::task::spawn_blocking(move || backend.admit(tx))
            .await
            .map_err(|e| BackendError::Internal { message: format!("submission task failed: {e}") })??;
        self.shared.track_submission(id);
        // A full channel only delays gossip: the runtime also reads the mempool directly.
        let _ = self.shared.new_transactions.try_send(id);
        Ok(SubmitResponse { transaction_id: id, state: TransactionState::Pending })
    }

    fn transaction_status(&self, id: &Hash32) -> Result<TransactionStatus, BackendError> {
        let status = |state, height, result, reason| TransactionStatus { transaction_id: *id, state, height, result, reason };
        if let Some(location) = self.shared.store.transaction_location(id).map_err(internal)? {
            let state = if location.result.is_ok() { TransactionState::Committed } else { TransactionState::Rejected };
            return Ok(status(state, Some(location.height), Some(location.result), Some(result_reason(location.result).to_string())));
        }
        if self.shared.mempool().contains(id) {
            return Ok(status(TransactionState::Pending, None, None, None));
        }
        if let Some(reason) = lock(&self.shared.dropped).reason(id) {
            return Ok(status(TransactionState::Expired, None, None, Some(reason.clone())));
        }
        Ok(status(TransactionState::Unknown, None, None, None))
    }

    fn anchor(&self, commitment: &Hash32) -> Result<Option<AnchorView>, BackendError> {
        let as_of_height = self.shared.store.height();
        let Some(state) = self.shared.store.anchor_state(commitment).map_err(internal)? else {
            return Ok(None);
        };
        let receipt = self.receipt_for(state.log_index, state.height).map_err(internal)?;
        let institution = self.shared.genesis.institution(&state.issuer);
        let issuer = IssuerView {
            id: state.issuer.clone(),
            name: institution.map(|i| i.name.clone()).unwrap_or_default(),
            jurisdiction: institution.map(|i| i.jurisdiction.clone()).unwrap_or_default(),
            account_key: state.sender,
        };
        Ok(Some(AnchorView {
            commitment: *commitment,
            status: state.status,
            issuer,
            record: state.record,
            height: state.height,
            block_time_ms: state.block_time_ms,
            transaction_id: state.transaction_id,
            as_of_height,
            receipt,
        }))
    }

    fn block(&self, height: u64) -> Result<Option<BlockView>, BackendError> {
        let store = &self.shared.store;
        let Some(certified) = store.certified_block(height).map_err(internal)? else {
            return Ok(None);
        };
        let mut transactions = Vec::with_capacity(certified.block.transactions.len());
        for tx in &certified.block.transactions {
            let id = tx.id();
            let result = store.transaction_location(&id).map_err(internal)?.map_or(ResultCode::Ok, |l| l.result);
            transactions.push(BlockTransactionView { transaction_id: id, sender: tx.payload.sender, action: tx.payload.action.name().into(), result });
        }
        Ok(Some(BlockView { hash: certified.block.hash(), header: certified.block.header, certificate: certified.certificate, transactions }))
    }

    fn status(&self) -> NodeStatus {
        let shared = &self.shared;
        let snapshot = shared.snapshot();
        let (head, frontier) = shared.store.head_and_frontier();
        NodeStatus {
            chain_id: shared.genesis.chain_id.clone(),
            genesis_hash: shared.genesis_hash,
            node: shared.node_name.clone(),
            institution: shared.institution.clone(),
            public_key: shared.node_key,
            role: match shared.role {
                NodeRole::Validator => NodeRoleView::Validator,
                NodeRole::Observer => NodeRoleView::Observer,
            },
            height: head.map_or(0, |h| h.height),
            head_hash: head.map_or(shared.genesis_hash, |h| h.hash),
            head_time_ms: head.map_or(0, |h| h.timestamp_ms),
            view: snapshot.view,
            leader: snapshot.leader.map(|k| shared.node_name_of(&k)),
            peers: snapshot.peers.iter().map(|k| PeerView { name: shared.node_name_of(k), public_key: *k }).collect(),
            sync: snapshot.sync,
            best_known_height: snapshot.best_known_height.max(head.map_or(0, |h| h.height)),
            mempool_transactions: shared.mempool().len(),
            anchor_log_size: frontier.size(),
        }
    }

    fn members(&self) -> MembersView {
        let genesis = &self.shared.genesis;
        let set = genesis.validator_set();
        let member = |role: NodeRole| -> Vec<MemberView> {
            genesis
                .nodes_with_role(role)
                .map(|n| MemberView {
                    name: n.name.clone(),
                    institution: n.institution.clone(),
                    jurisdiction: genesis.institution(&n.institution).map(|i| i.jurisdiction.clone()).unwrap_or_default(),
                    public_key: n.public_key,
                    weight: n.weight,
                })
                .collect()
        };
        MembersView {
            validators: member(NodeRole::Validator),
            observers: member(NodeRole::Observer),
            total_weight: set.total_weight(),
            quorum_weight: set.quorum_weight(),
            faults_tolerated: set.fault_tolerance(),
        }
    }

    fn metrics(&self) -> String {
        self.shared.metrics.set_mempool_transactions(self.shared.mempool().len());
        self.shared.metrics.encode()
    }

    fn healthy(&self) -> bool {
        self.shared.snapshot().running && self.shared.store.header(self.shared.store.height()).is_ok()
    }
}
