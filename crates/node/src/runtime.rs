//! The event loop that drives the consensus core.
//!
//! One task owns the [`Core`], the [`Host`] and all writes to the store. It reacts to
//! network events, new transactions from the API, the view timer and sync results, and
//! carries out the core's actions in order. Records a persist action names are written
//! with `sync` before the message that depends on them is handed to the network.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hashbridge_consensus::{Action, Core, Destination, Ed25519Signer, Ed25519Verifier, Input, Outbound, Record, SignedMessage};
use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_ledger::{check_includable, LedgerContext};
use hashbridge_network::{Channel, NetworkEvent, NetworkHandle};
use hashbridge_types::codec;
use hashbridge_types::{Block, CommitCertificate, Transaction};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use crate::host::Host;
use crate::shared::{lock, Shared};
use crate::wire::{SyncRequest, SyncResponse, TransactionBatch, MAX_GOSSIP_BYTES, MAX_GOSSIP_TRANSACTIONS, MAX_SYNC_BLOCKS, MAX_SYNC_RESPONSE_BYTES};
use crate::NodeError;

/// Prefix of consensus record keys: `r`, height (u64 big-endian), counter (u64 big-endian).
pub const RECORD_PREFIX: &[u8] = b"r";
/// How often queued gossip is flushed and housekeeping runs.
const TICK: Duration = Duration::from_millis(10);
/// How often the mempool is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(1);
/// How often a peer is asked for its height, so an idle node that fell behind catches up.
const HEAD_PROBE_EVERY: Duration = Duration::from_secs(2);
/// Time without a commit, while transactions wait, after which they are gossiped again.
/// A member that was down when they were first gossiped then learns of them.
const REGOSSIP_AFTER: Duration = Duration::from_secs(2);
/// Most transactions gossiped again at once, and sent to a peer that connects.
const MAX_REGOSSIP: usize = 4096;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn record_key(height: u64, counter: u64) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = RECORD_PREFIX[0];
    key[1..9].copy_from_slice(&height.to_be_bytes());
    key[9..].copy_from_slice(&counter.to_be_bytes());
    key
}

/// The outcome of a sync request made from a spawned task.
#[derive(Debug)]
pub enum SyncResult {
    /// A batch of blocks fetched from a peer.
    Blocks { peer: PublicKey, from_height: u64, blocks: Result<Vec<(Block, CommitCertificate)>, String> },
    /// A peer's committed height.
    Head { peer: PublicKey, height: u64 },
}

struct Timer {
    id: u64,
    height: u64,
    view: u64,
    deadline: tokio::time::Instant,
}

pub struct Runtime {
    pub(crate) shared: Arc<Shared>,
    pub(crate) core: Core<Ed25519Signer, Ed25519Verifier>,
    pub(crate) host: Host,
    pub(crate) network: NetworkHandle,
    pub(crate) ctx: LedgerContext,
    pub(crate) record_counter: u64,
    pub(crate) sync_results: mpsc::Sender<SyncResult>,
    timer: Option<Timer>,
    gossip: Vec<Transaction>,
    fetching: bool,
    last_pending: u64,
    last_commit: Option<Instant>,
    last_prune: Instant,
    last_view: u64,
    last_head_probe: Instant,
    last_regossip: Instant,
    probe_turn: usize,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("core", &self.core).finish_non_exhaustive()
    }
}

/// Receivers the event loop selects on.
#[derive(Debug)]
pub struct Inbox {
    pub events: mpsc::Receiver<NetworkEvent>,
    pub new_transactions: mpsc::Receiver<Hash32>,
    pub sync_results: mpsc::Receiver<SyncResult>,
    pub shutdown: oneshot::Receiver<()>,
}

impl Runtime {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shared: Arc<Shared>,
        core: Core<Ed25519Signer, Ed25519Verifier>,
        host: Host,
        network: NetworkHandle,
        record_counter: u64,
        sync_results: mpsc::Sender<SyncResult>,
    ) -> Self {
        let ctx = LedgerContext::from_genesis(&shared.genesis);
        Runtime {
            shared,
            core,
            host,
            network,
            ctx,
            record_counter,
            sync_results,
            timer: None,
            gossip: Vec::new(),
            fetching: false,
            last_pending: 0,
            last_commit: None,
            last_prune: Instant::now(),
            last_view: 0,
            last_head_probe: Instant::now(),
            last_regossip: Instant::now(),
            probe_turn: 0,
        }
    }

    /// Runs until shutdown is requested or a fatal error occurs.
    pub async fn run(mut self, initial: Vec<Action>, mut inbox: Inbox) -> Result<(), NodeError> {
        self.apply(initial)?;
        self.report_pending(true)?;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        loop {
            let deadline = self.timer.as_ref().map(|t| t.deadline);
            tokio::select! {
                _ = &mut inbox.shutdown => return Ok(()),
                event = inbox.events.recv() => match event {
                    Some(event) => self.on_network_event(event)?,
                    None => return Err(NodeError::Fatal("the network task stopped".into())),
                },
                Some(id) = inbox.new_transactions.recv() => self.on_new_transaction(id),
                Some(result) = inbox.sync_results.recv() => self.on_sync_result(result)?,
                () = sleep_until_option(deadline) => self.on_timer()?,
                _ = tick.tick() => self.on_tick()?,
            }
            self.report_pending(false)?;
            self.publish();
        }
    }

    /// Feeds one input to the core and carries out everything that follows from it.
    fn feed(&mut self, input: Input) -> Result<(), NodeError> {
        let actions = self.core.handle(input);
        self.apply(actions)
    }

    /// Carries out actions in order. Inputs they produce (a built or validated proposal, a
    /// completed persist) go back to the core before the next queued action.
    fn apply(&mut self, actions: Vec<Action>) -> Result<(), NodeError> {
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            if let Some(input) = self.execute(action)? {
                let follow_up = self.core.handle(input);
                for (i, action) in follow_up.into_iter().enumerate() {
                    queue.insert(i, action);
                }
            }
        }
        Ok(())
    }

    fn execute(&mut self, action: Action) -> Result<Option<Input>, NodeError> {
        match action {
            Action::Send(outbound) => {
                self.send(outbound);
                Ok(None)
            }
            Action::PersistThenSend { sequence, records, message } => {
                self.persist(&records)?;
                self.send(message);
                Ok(Some(Input::PersistCompleted { sequence }))
            }
            Action::Persist { sequence, records } => {
                self.persist(&records)?;
                Ok(Some(Input::PersistCompleted { sequence }))
            }
            Action::PruneRecords { below_height } => {
                let store = &self.shared.store;
                store.delete_consensus_range(&record_key(0, 0), &record_key(below_height, 0))?;
                Ok(None)
            }
            Action::StartTimer { timer_id, height, view, duration_ms } => {
                let deadline = tokio::time::Instant::now() + Duration::from_millis(duration_ms);
                self.timer = Some(Timer { id: timer_id, height, view, deadline });
                Ok(None)
            }
            Action::CancelTimer { timer_id } => {
                if self.timer.as_ref().is_some_and(|t| t.id == timer_id) {
                    self.timer = None;
                }
                Ok(None)
            }
            Action::BuildProposal { height, view, parent_hash, min_timestamp_ms } => self.build(height, view, parent_hash, min_timestamp_ms),
            Action::ValidateProposal { height, view, block } => Ok(Some(self.validate(height, view, &block))),
            Action::CommitBlock { block, certificate } => {
                self.commit(block, certificate)?;
                Ok(Some(Input::PendingTransactions { count: self.shared.mempool().len() as u64, now_ms: now_ms() }))
            }
            Action::FetchBlocks { from_height, peer } => {
                self.fetch(from_height, peer);
                Ok(None)
            }
            Action::ReportEquivocation(evidence) => {
                warn!(validator = %evidence.first.sender.short(), "validator signed two conflicting messages; evidence kept in the log");
                Ok(None)
            }
            Action::Rejected(error) => {
                debug!(%error, "consensus input rejected");
                Ok(None)
            }
        }
    }

    fn send(&self, outbound: Outbound) {
        let payload = codec::encode(&outbound.message);
        match outbound.to {
            Destination::Broadcast => self.network.broadcast(Channel::Consensus, payload),
            Destination::Peer(peer) => self.network.send(peer, Channel::Consensus, payload),
        }
    }

    fn persist(&mut self, records: &[Record]) -> Result<(), NodeError> {
        for record in records {
            self.record_counter += 1;
            let key = record_key(record.height(), self.record_counter);
            self.shared.store.put_consensus(&key, &codec::encode(record))?;
        }
        Ok(())
    }

    fn build(&mut self, height: u64, view: u64, parent_hash: Hash32, min_timestamp_ms: u64) -> Result<Option<Input>, NodeError> {
        let timestamp_ms = now_ms().max(min_timestamp_ms);
        match self.host.build(self.shared.node_key, height, parent_hash, timestamp_ms) {
            Ok(block) => {
                debug!(height, view, transactions = block.transactions.len(), "proposal built");
                Ok(Some(Input::ProposalBuilt { height, view, block, now_ms: now_ms() }))
            }
            Err(crate::host::BlockError::Storage(e)) => Err(e.into()),
            Err(e) => {
                warn!(height, view, error = %e, "cannot build a proposal");
                Ok(None)
            }
        }
    }

    fn validate(&mut self, height: u64, view: u64, block: &Block) -> Input {
        let block_hash = block.hash();
        let valid = match self.host.validate(block) {
            Ok(()) => true,
            Err(e) => {
                warn!(height, view, proposer = %block.header.proposer.short(), error = %e, "proposal rejected");
                false
            }
        };
        Input::ProposalValidated { height, view, block_hash, valid, now_ms: now_ms() }
    }

    fn commit(&mut self, block: Block, certificate: CommitCertificate) -> Result<(), NodeError> {
        let height = block.header.height;
        let hash = block.hash();
        let view = certificate.view;
        let count = block.transactions.len();
        let ids: Vec<Hash32> = block.transactions.iter().map(Transaction::id).collect();

        let execution = match self.host.commit(block, certificate) {
            Ok(execution) => execution,
            Err(crate::host::BlockError::Storage(e)) => return Err(e.into()),
            Err(e) => {
                return Err(NodeError::Fatal(format!(
                    "block {height} ({hash}) carries a valid certificate but does not execute here: {e}. This node's state differs from the chain; stop it, move its data folder aside and resync"
                )))
            }
        };

        let now = Instant::now();
        {
            let mut mempool = self.shared.mempool();
            for id in &ids {
                mempool.remove(id);
            }
        }
        for id in &ids {
            self.shared.finish_submission(id, now);
        }
        let interval = self.last_commit.map(|t| now.duration_since(t));
        self.last_commit = Some(now);
        self.shared.metrics.record_commit(height, count as u64, interval);
        let rejected = execution.outcomes.iter().filter(|o| !o.result.is_ok()).count();
        info!(height, view, transactions = count, rejected, log_size = execution.log_size(), block = %hash, "committed block");
        Ok(())
    }

    fn fetch(&mut self, from_height: u64, peer: PublicKey) {
        if self.fetching {
            return;
        }
        self.fetching = true;
        self.shared.update_snapshot(|s| s.sync = hashbridge_api::types::SyncState::CatchingUp);
        let network = self.network.clone();
        let results = self.sync_results.clone();
        tokio::spawn(async move {
            let blocks = fetch_blocks(&network, peer, from_height).await;
            let _ = results.send(SyncResult::Blocks { peer, from_height, blocks }).await;
        });
    }

    /// Asks one connected peer, in turn, for its height.
    fn probe_head(&mut self) {
        let peers = self.network.connected_peers();
        if peers.is_empty() || self.fetching {
            return;
        }
        self.probe_turn = self.probe_turn.wrapping_add(1);
        let Some(peer) = peers.get(self.probe_turn % peers.len()).copied() else { return };
        let network = self.network.clone();
        let results = self.sync_results.clone();
        tokio::spawn(async move {
            if let Ok((height, _)) = fetch_head(&network, peer).await {
                let _ = results.send(SyncResult::Head { peer, height }).await;
            }
        });
    }

    fn on_sync_result(&mut self, result: SyncResult) -> Result<(), NodeError> {
        match result {
            SyncResult::Head { peer, height } => {
                self.shared.update_snapshot(|s| s.best_known_height = s.best_known_height.max(height));
                let ours = self.shared.store.height();
                if height > ours {
                    info!(peer = %self.shared.node_name_of(&peer), peer_height = height, height = ours, "peer is ahead; fetching blocks");
                    self.fetch(ours + 1, peer);
                }
                Ok(())
            }
            SyncResult::Blocks { peer, from_height, blocks } => self.on_blocks(peer, from_height, blocks),
        }
    }

    fn on_blocks(&mut self, peer: PublicKey, from_height: u64, blocks: Result<Vec<(Block, CommitCertificate)>, String>) -> Result<(), NodeError> {
        self.fetching = false;
        let result_peer = peer;
        let blocks = match blocks {
            Ok(blocks) => blocks,
            Err(reason) => {
                warn!(peer = %peer.short(), from_height, %reason, "block sync request failed");
                self.shared.update_snapshot(|s| s.sync = hashbridge_api::types::SyncState::InSync);
                return Ok(());
            }
        };
        let full = blocks.len() as u32 >= MAX_SYNC_BLOCKS;
        if let Some((last, _)) = blocks.last() {
            let top = last.header.height;
            self.shared.update_snapshot(|s| s.best_known_height = s.best_known_height.max(top));
            info!(peer = %result_peer.short(), from_height, to_height = top, "fetched blocks");
        }
        for (block, certificate) in blocks {
            self.feed(Input::SyncedBlock { block, certificate, now_ms: now_ms() })?;
        }
        if full {
            self.fetch(self.shared.store.height() + 1, result_peer);
        } else {
            self.shared.update_snapshot(|s| s.sync = hashbridge_api::types::SyncState::InSync);
        }
        Ok(())
    }

    fn on_timer(&mut self) -> Result<(), NodeError> {
        let Some(timer) = self.timer.take() else { return Ok(()) };
        debug!(height = timer.height, view = timer.view, "view timer fired");
        self.feed(Input::TimerFired { timer_id: timer.id, height: timer.height, view: timer.view, now_ms: now_ms() })
    }

    fn on_tick(&mut self) -> Result<(), NodeError> {
        self.flush_gossip();
        if self.last_prune.elapsed() >= PRUNE_EVERY {
            self.last_prune = Instant::now();
            self.prune_mempool();
        }
        if self.last_head_probe.elapsed() >= HEAD_PROBE_EVERY {
            self.last_head_probe = Instant::now();
            self.probe_head();
        }
        self.regossip_if_stalled();
        Ok(())
    }

    /// Gossips waiting transactions again when nothing has committed for a while, so a
    /// member that missed them (it was down, or just restarted) can propose them or join a
    /// view change.
    fn regossip_if_stalled(&mut self) {
        let stalled = self.last_commit.is_none_or(|t| t.elapsed() >= REGOSSIP_AFTER);
        if !stalled || self.last_regossip.elapsed() < REGOSSIP_AFTER {
            return;
        }
        self.last_regossip = Instant::now();
        let pending = self.shared.mempool().oldest(MAX_REGOSSIP);
        if pending.is_empty() {
            return;
        }
        debug!(count = pending.len(), "gossiping waiting transactions again");
        for payload in gossip_payloads(pending) {
            self.network.broadcast(Channel::Transaction, payload);
        }
    }

    /// Sends the waiting transactions to a peer that just connected.
    fn share_mempool_with(&self, peer: PublicKey) {
        let pending = self.shared.mempool().oldest(MAX_REGOSSIP);
        for payload in gossip_payloads(pending) {
            self.network.send(peer, Channel::Transaction, payload);
        }
    }

    fn prune_mempool(&mut self) {
        let next_height = self.shared.store.height() + 1;
        let dropped = self.shared.mempool().prune(next_height, Instant::now());
        if dropped.is_empty() {
            return;
        }
        info!(count = dropped.len(), next_height, "dropped transactions whose validity window or mempool expiry passed");
        let mut set = lock(&self.shared.dropped);
        for id in dropped {
            set.insert(id, format!("dropped from the mempool before inclusion: valid_until passed or it waited longer than the expiry (next height {next_height})"));
            self.shared.forget_submission(&id);
        }
    }

    fn on_new_transaction(&mut self, id: Hash32) {
        if let Some(tx) = self.shared.mempool().get(&id).cloned() {
            self.gossip.push(tx);
        }
        if self.gossip.len() >= MAX_GOSSIP_TRANSACTIONS {
            self.flush_gossip();
        }
    }

    fn flush_gossip(&mut self) {
        if self.gossip.is_empty() {
            return;
        }
        let transactions = std::mem::take(&mut self.gossip);
        for payload in gossip_payloads(transactions) {
            self.network.broadcast(Channel::Transaction, payload);
        }
    }

    /// Tells the core how many transactions wait, when that changes between zero and more.
    fn report_pending(&mut self, force: bool) -> Result<(), NodeError> {
        let count = self.shared.mempool().len() as u64;
        if force || (count == 0) != (self.last_pending == 0) {
            self.last_pending = count;
            self.feed(Input::PendingTransactions { count, now_ms: now_ms() })?;
        }
        self.last_pending = count;
        Ok(())
    }

    fn publish(&mut self) {
        let status = self.core.status();
        if status.view > self.last_view {
            self.shared.metrics.record_view_change(status.view);
        }
        self.last_view = status.view;
        self.shared.metrics.set_view(status.view);
        self.shared.metrics.set_height(status.committed.height);
        let peers = self.network.connected_peers();
        self.shared.metrics.set_peers(peers.len());
        let leader = self.leader_of(status.height, status.view);
        self.shared.update_snapshot(|s| {
            s.view = status.view;
            s.leader = leader;
            s.peers = peers.into_iter().collect();
        });
    }

    fn leader_of(&self, height: u64, view: u64) -> Option<PublicKey> {
        let validators = self.shared.genesis.validator_set();
        let count = validators.len() as u64;
        let period = self.shared.genesis.consensus.leader_period;
        if count == 0 || period == 0 {
            return None;
        }
        let index = ((height / period) % count + view % count) % count;
        validators.get(index as usize).map(|v| v.public_key)
    }

    fn on_network_event(&mut self, event: NetworkEvent) -> Result<(), NodeError> {
        match event {
            NetworkEvent::Message { from, channel: Channel::Consensus, payload } => match codec::decode::<SignedMessage>(&payload) {
                Ok(message) => self.feed(Input::Message { message, now_ms: now_ms() })?,
                Err(e) => {
                    warn!(peer = %from.short(), error = %e, "undecodable consensus message; disconnecting peer");
                    self.network.disconnect(from, "undecodable consensus message");
                }
            },
            NetworkEvent::Message { from, channel: Channel::Transaction, payload } => self.on_gossip(from, &payload),
            NetworkEvent::Message { from, channel: Channel::BlockSync, .. } => {
                warn!(peer = %from.short(), "unexpected one-way message on the block-sync channel; disconnecting peer");
                self.network.disconnect(from, "one-way message on the block-sync channel");
            }
            NetworkEvent::BlockRequest { from, payload, reply } => self.serve_sync(from, &payload, reply),
            NetworkEvent::PeerConnected(peer) => {
                info!(peer = %self.shared.node_name_of(&peer), "peer connected");
                self.share_mempool_with(peer);
                self.last_head_probe = Instant::now().checked_sub(HEAD_PROBE_EVERY).unwrap_or_else(Instant::now);
            }
            NetworkEvent::PeerDisconnected(peer) => info!(peer = %self.shared.node_name_of(&peer), "peer disconnected"),
        }
        Ok(())
    }

    fn on_gossip(&mut self, from: PublicKey, payload: &[u8]) {
        let batch = match codec::decode::<TransactionBatch>(payload) {
            Ok(batch) if batch.transactions.len() <= MAX_GOSSIP_TRANSACTIONS => batch,
            Ok(_) | Err(_) => {
                warn!(peer = %from.short(), "malformed transaction gossip; disconnecting peer");
                self.network.disconnect(from, "malformed transaction gossip");
                return;
            }
        };
        let height = self.shared.store.height() + 1;
        let mut rejected = 0usize;
        for tx in batch.transactions {
            let id = tx.id();
            if self.shared.mempool().contains(&id) {
                continue;
            }
            match check_includable(&self.ctx, &*self.shared.store, height, &tx) {
                Ok(id) => {
                    let bytes = tx.encoded_len();
                    let _ = self.shared.mempool().admit(id, tx, bytes, Instant::now());
                }
                Err(_) => rejected += 1,
            }
        }
        if rejected > 0 {
            debug!(peer = %from.short(), rejected, "gossiped transactions not admitted");
        }
    }

    fn serve_sync(&self, from: PublicKey, payload: &[u8], reply: oneshot::Sender<Vec<u8>>) {
        let store = &self.shared.store;
        let response = match codec::decode::<SyncRequest>(payload) {
            Ok(SyncRequest::Head) => SyncResponse::Head { height: store.height(), hash: store.head_hash() },
            Ok(SyncRequest::Blocks { from_height, max_blocks }) => {
                let mut blocks = Vec::new();
                let mut bytes = 0usize;
                let top = store.height();
                let mut height = from_height.max(1);
                while height <= top && (blocks.len() as u32) < max_blocks.min(MAX_SYNC_BLOCKS) && bytes < MAX_SYNC_RESPONSE_BYTES {
                    match store.certified_block(height) {
                        Ok(Some(block)) => {
                            bytes += codec::encode(&block).len();
                            blocks.push(block);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            error!(height, error = %e, "cannot read a block to serve a sync request");
                            break;
                        }
                    }
                    height += 1;
                }
                SyncResponse::Blocks(blocks)
            }
            Err(e) => {
                warn!(peer = %from.short(), error = %e, "malformed block-sync request; disconnecting peer");
                self.network.disconnect(from, "malformed block-sync request");
                return;
            }
        };
        let _ = reply.send(codec::encode(&response));
    }
}

/// Encodes transactions into gossip messages of at most [`MAX_GOSSIP_TRANSACTIONS`] and
/// about [`MAX_GOSSIP_BYTES`] each; a single larger transaction goes alone.
fn gossip_payloads(transactions: Vec<Transaction>) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0usize;
    for tx in transactions {
        let size = tx.encoded_len();
        if !batch.is_empty() && (batch.len() >= MAX_GOSSIP_TRANSACTIONS || bytes + size > MAX_GOSSIP_BYTES) {
            payloads.push(codec::encode(&TransactionBatch { transactions: std::mem::take(&mut batch) }));
            bytes = 0;
        }
        bytes += size;
        batch.push(tx);
    }
    if !batch.is_empty() {
        payloads.push(codec::encode(&TransactionBatch { transactions: batch }));
    }
    payloads
}

/// Requests committed blocks from `from_height` on and decodes the response.
pub async fn fetch_blocks(network: &NetworkHandle, peer: PublicKey, from_height: u64) -> Result<Vec<(Block, CommitCertificate)>, String> {
    let request = codec::encode(&SyncRequest::Blocks { from_height, max_blocks: MAX_SYNC_BLOCKS });
    let bytes = network.request_blocks(peer, request).await.map_err(|e| e.to_string())?;
    match codec::decode::<SyncResponse>(&bytes) {
        Ok(SyncResponse::Blocks(blocks)) => Ok(blocks.into_iter().map(|b| (b.block, b.certificate)).collect()),
        Ok(SyncResponse::Head { .. }) => Err("peer answered a block request with its head".into()),
        Err(e) => Err(format!("undecodable sync response: {e}")),
    }
}

/// Asks a peer for its committed height and head hash.
pub async fn fetch_head(network: &NetworkHandle, peer: PublicKey) -> Result<(u64, Hash32), String> {
    let bytes = network.request_blocks(peer, codec::encode(&SyncRequest::Head)).await.map_err(|e| e.to_string())?;
    match codec::decode::<SyncResponse>(&bytes) {
        Ok(SyncResponse::Head { height, hash }) => Ok((height, hash)),
        Ok(SyncResponse::Blocks(_)) => Err("peer answered a head request with blocks".into()),
        Err(e) => Err(format!("undecodable sync response: {e}")),
    }
}

async fn sleep_until_option(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
