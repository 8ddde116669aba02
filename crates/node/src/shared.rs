//! State shared by the runtime task and the API handlers.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;

use hashbridge_api::metrics::Metrics;
use hashbridge_api::types::SyncState;
use hashbridge_config::genesis::NodeRole;
use hashbridge_config::{Genesis, NodeConfig};
use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_storage::Store;
use tokio::sync::mpsc;

use crate::mempool::Mempool;

/// Transactions remembered as dropped, so their status reads `expired` for a while.
const MAX_DROPPED_REMEMBERED: usize = 100_000;
/// Local submissions whose commit latency is measured.
const MAX_TRACKED_SUBMISSIONS: usize = 100_000;

/// Locks a mutex, recovering the data if a thread panicked while holding it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runtime state published for status queries.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub view: u64,
    pub leader: Option<PublicKey>,
    pub peers: BTreeSet<PublicKey>,
    pub sync: SyncState,
    pub best_known_height: u64,
    pub running: bool,
}

/// Ids of transactions dropped before inclusion, oldest first, bounded.
#[derive(Debug, Default)]
pub struct DroppedSet {
    order: VecDeque<Hash32>,
    reasons: HashMap<Hash32, String>,
}

impl DroppedSet {
    pub fn insert(&mut self, id: Hash32, reason: String) {
        if self.reasons.insert(id, reason).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > MAX_DROPPED_REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.reasons.remove(&old);
            }
        }
    }

    pub fn reason(&self, id: &Hash32) -> Option<&String> {
        self.reasons.get(id)
    }
}

/// Everything the runtime and the API share.
pub struct Shared {
    pub genesis: Genesis,
    pub genesis_hash: Hash32,
    pub config: NodeConfig,
    pub node_key: PublicKey,
    pub node_name: String,
    pub institution: String,
    pub role: NodeRole,
    pub store: Arc<Store>,
    pub metrics: Metrics,
    mempool: Mutex<Mempool>,
    pub dropped: Mutex<DroppedSet>,
    submitted: Mutex<HashMap<Hash32, Instant>>,
    pub snapshot: RwLock<Snapshot>,
    /// Wakes the runtime when a transaction enters the mempool through the API.
    pub new_transactions: mpsc::Sender<Hash32>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("node", &self.node_name).finish_non_exhaustive()
    }
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        genesis: Genesis,
        config: NodeConfig,
        node_key: PublicKey,
        store: Arc<Store>,
        mempool: Mempool,
        new_transactions: mpsc::Sender<Hash32>,
    ) -> Self {
        let entry = genesis.node(&node_key).cloned();
        let (node_name, institution, role) = match entry {
            Some(n) => (n.name, n.institution, n.role),
            None => (node_key.short(), String::new(), NodeRole::Observer),
        };
        Shared {
            genesis_hash: genesis.hash(),
            genesis,
            config,
            node_key,
            node_name,
            institution,
            role,
            store,
            metrics: Metrics::new(),
            mempool: Mutex::new(mempool),
            dropped: Mutex::new(DroppedSet::default()),
            submitted: Mutex::new(HashMap::new()),
            snapshot: RwLock::new(Snapshot {
                view: 0,
                leader: None,
                peers: BTreeSet::new(),
                sync: SyncState::InSync,
                best_known_height: 0,
                running: true,
            }),
            new_transactions,
        }
    }

    pub fn mempool(&self) -> MutexGuard<'_, Mempool> {
        lock(&self.mempool)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn update_snapshot(&self, update: impl FnOnce(&mut Snapshot)) {
        let mut guard = self.snapshot.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        update(&mut guard);
    }

    /// Notes when a local client submitted `id`, to measure its commit latency.
    pub fn track_submission(&self, id: Hash32) {
        let mut submitted = lock(&self.submitted);
        if submitted.len() < MAX_TRACKED_SUBMISSIONS {
            submitted.insert(id, Instant::now());
        }
    }

    /// Records the commit latency of `id` if it was submitted here.
    pub fn finish_submission(&self, id: &Hash32, now: Instant) {
        if let Some(start) = lock(&self.submitted).remove(id) {
            self.metrics.observe_commit_latency(now.duration_since(start));
        }
    }

    /// Forgets submissions that were dropped, so the tracking map cannot fill up.
    pub fn forget_submission(&self, id: &Hash32) {
        lock(&self.submitted).remove(id);
    }

    pub fn node_name_of(&self, key: &PublicKey) -> String {
        self.genesis.node(key).map_or_else(|| key.short(), |n| n.name.clone())
    }
}
