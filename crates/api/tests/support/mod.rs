//! An in-memory stand-in for the node behind the API, and a server started on loopback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hashbridge_api::types::{
    AnchorView, BlockTransactionView, BlockView, IssuerView, MemberView, MembersView, NodeRoleView, NodeStatus,
    PeerView, SubmitResponse, SyncState, TransactionState, TransactionStatus,
};
use hashbridge_api::{serve, ApiBackend, BackendError, Metrics, ServerConfig};
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_types::{
    Action, AnchorRecord, AnchorStatus, BlockHeader, CommitCertificate, Hash32, KeyPair, LogEntry, LogEvent, Nonce,
    Receipt, ResultCode, Transaction, TransactionPayload,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const CHAIN_ID: &str = "hashbridge-test";
/// The fake node's committed height.
pub const HEAD_HEIGHT: u64 = 5;

#[derive(Debug, Default)]
pub struct FakeState {
    pub anchors: HashMap<Hash32, AnchorView>,
    pub blocks: HashMap<u64, BlockView>,
    pub transactions: HashMap<Hash32, TransactionStatus>,
    pub submitted: Vec<Transaction>,
    /// Returned by the next `submit` instead of accepting.
    pub submit_error: Option<BackendError>,
    /// How long `submit` waits before it returns.
    pub submit_delay: Duration,
    pub unhealthy: bool,
}

/// A node stand-in that keeps anchors, blocks and transactions in hash maps.
#[derive(Debug, Clone)]
pub struct FakeBackend {
    pub state: Arc<Mutex<FakeState>>,
    pub metrics: Metrics,
}

impl FakeBackend {
    pub fn new() -> Self {
        let mut state = FakeState::default();
        for height in 1..=HEAD_HEIGHT {
            state.blocks.insert(height, sample_block(height));
        }
        let anchor = sample_anchor(anchored_commitment());
        state.transactions.insert(
            anchor.transaction_id,
            TransactionStatus {
                transaction_id: anchor.transaction_id,
                state: TransactionState::Committed,
                height: Some(anchor.height),
                result: Some(ResultCode::Ok),
                reason: None,
            },
        );
        state.anchors.insert(anchor.commitment, anchor);

        let metrics = Metrics::new();
        metrics.record_commit(HEAD_HEIGHT, 1, Some(Duration::from_millis(800)));
        FakeBackend { state: Arc::new(Mutex::new(state)), metrics }
    }
}

impl ApiBackend for FakeBackend {
    async fn submit(&self, tx: Transaction) -> Result<SubmitResponse, BackendError> {
        let delay = self.state.lock().unwrap().submit_delay;
        tokio::time::sleep(delay).await;

        let mut state = self.state.lock().unwrap();
        if let Some(error) = state.submit_error.take() {
            return Err(error);
        }
        let transaction_id = tx.id();
        state.submitted.push(tx);
        Ok(SubmitResponse { transaction_id, state: TransactionState::Pending })
    }

    fn transaction_status(&self, id: &Hash32) -> Result<TransactionStatus, BackendError> {
        let state = self.state.lock().unwrap();
        Ok(state.transactions.get(id).cloned().unwrap_or(TransactionStatus {
            transaction_id: *id,
            state: TransactionState::Unknown,
            height: None,
            result: None,
            reason: None,
        }))
    }

    fn anchor(&self, commitment: &Hash32) -> Result<Option<AnchorView>, BackendError> {
        Ok(self.state.lock().unwrap().anchors.get(commitment).cloned())
    }

    fn block(&self, height: u64) -> Result<Option<BlockView>, BackendError> {
        Ok(self.state.lock().unwrap().blocks.get(&height).cloned())
    }

    fn status(&self) -> NodeStatus {
        NodeStatus {
            chain_id: CHAIN_ID.into(),
            genesis_hash: Hash32([0x11; 32]),
            node: "sz-1".into(),
            institution: "shenzhen-credit".into(),
            public_key: node_key().public_key(),
            role: NodeRoleView::Validator,
            height: HEAD_HEIGHT,
            head_hash: sample_header(HEAD_HEIGHT).hash(),
            head_time_ms: 1_700_000_005_000,
            view: 0,
            leader: Some("sz-1".into()),
            peers: vec![PeerView { name: "hk-1".into(), public_key: account_key().public_key() }],
            sync: SyncState::InSync,
            best_known_height: HEAD_HEIGHT,
            mempool_transactions: 0,
            anchor_log_size: 1,
        }
    }

    fn members(&self) -> MembersView {
        let member = MemberView {
            name: "sz-1".into(),
            institution: "shenzhen-credit".into(),
            jurisdiction: "CN-GD".into(),
            public_key: node_key().public_key(),
            weight: 1,
        };
        MembersView {
            validators: vec![member],
            observers: vec![],
            total_weight: 1,
            quorum_weight: 1,
            faults_tolerated: 0,
        }
    }

    fn metrics(&self) -> String {
        self.metrics.encode()
    }

    fn healthy(&self) -> bool {
        !self.state.lock().unwrap().unhealthy
    }
}

pub fn node_key() -> KeyPair {
    KeyPair::from_seed([7u8; 32], KeyPurpose::Node)
}

pub fn account_key() -> KeyPair {
    KeyPair::from_seed([9u8; 32], KeyPurpose::Account)
}

/// Returns the one commitment the fake node has anchored.
pub fn anchored_commitment() -> Hash32 {
    Hash32::sha256(b"anchored report")
}

pub fn sample_record(commitment: Hash32) -> AnchorRecord {
    AnchorRecord {
        commitment,
        kind: "credit.personal".into(),
        issued_at_ms: 1_700_000_000_000,
        expires_at_ms: None,
        metadata: vec![],
    }
}

/// Builds a transaction that anchors `commitment`, signed by the account key.
pub fn sample_transaction(commitment: Hash32) -> Transaction {
    let key = account_key();
    TransactionPayload {
        chain_id: CHAIN_ID.into(),
        sender: key.public_key(),
        nonce: Nonce([3u8; 16]),
        valid_until: 100,
        action: Action::Anchor(sample_record(commitment)),
    }
    .sign(&key)
}

pub fn sample_header(height: u64) -> BlockHeader {
    BlockHeader {
        height,
        parent_hash: Hash32([height as u8; 32]),
        timestamp_ms: 1_700_000_000_000 + height * 1000,
        proposer: node_key().public_key(),
        transaction_root: Hash32::ZERO,
        transaction_count: 0,
        log_root: Hash32::ZERO,
        log_size: 1,
        validator_set_hash: Hash32([0x22; 32]),
    }
}

fn sample_certificate(header: &BlockHeader) -> CommitCertificate {
    CommitCertificate { height: header.height, view: 0, block_hash: header.hash(), signatures: vec![] }
}

pub fn sample_block(height: u64) -> BlockView {
    let header = sample_header(height);
    let transaction = sample_transaction(anchored_commitment());
    BlockView {
        hash: header.hash(),
        certificate: sample_certificate(&header),
        transactions: vec![BlockTransactionView {
            transaction_id: transaction.id(),
            sender: transaction.payload.sender,
            action: "anchor".into(),
            result: ResultCode::Ok,
        }],
        header,
    }
}

pub fn sample_anchor(commitment: Hash32) -> AnchorView {
    let transaction = sample_transaction(commitment);
    let header = sample_header(2);
    let entry = LogEntry {
        height: 2,
        block_time_ms: header.timestamp_ms,
        transaction_id: transaction.id(),
        event: LogEvent::Anchored {
            commitment,
            issuer: "shenzhen-credit".into(),
            kind: "credit.personal".into(),
            issued_at_ms: 1_700_000_000_000,
            expires_at_ms: None,
        },
    };
    AnchorView {
        commitment,
        status: AnchorStatus::Active,
        issuer: IssuerView {
            id: "shenzhen-credit".into(),
            name: "Shenzhen Credit Services".into(),
            jurisdiction: "CN-GD".into(),
            account_key: account_key().public_key(),
        },
        record: sample_record(commitment),
        height: 2,
        block_time_ms: header.timestamp_ms,
        transaction_id: transaction.id(),
        as_of_height: HEAD_HEIGHT,
        receipt: Receipt {
            format: "hashbridge-receipt".into(),
            version: 1,
            chain_id: CHAIN_ID.into(),
            genesis_hash: Hash32([0x11; 32]),
            entry,
            log_index: 0,
            inclusion_proof: vec![],
            certificate: sample_certificate(&header),
            header,
        },
    }
}

/// A server running on 127.0.0.1 with an OS-assigned port.
pub struct TestServer {
    pub base_url: String,
    pub backend: FakeBackend,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(config: ServerConfig) -> Self {
        let backend = FakeBackend::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, backend.clone(), config, async move {
            let _ = shutdown_signal.await;
        }));
        TestServer { base_url, backend, shutdown: Some(shutdown), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task).await.expect("serve did not stop within 10 s").unwrap()
    }
}
