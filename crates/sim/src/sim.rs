//! The simulation: processes, the event queue, simulated time and the run loop.
//!
//! Everything random comes from one ChaCha8 generator seeded with the run's seed, and
//! events at the same millisecond run in the order they were scheduled, so a seed always
//! replays the same run. A SHA-256 trace over events and actions shows that it does.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::rc::Rc;

use hashbridge_consensus::{Config, Core, CommittedTip, Ed25519Signer, Input, Start};
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::{Domain, Hash32, KeyPair, PublicKey};
use hashbridge_types::{CertifiedBlock, Transaction, Validator, ValidatorSet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::checkers::Violation;
use crate::config::{ByzantineKind, SimConfig};
use crate::host::{Ledger, Pool};
use crate::network::Network;
use crate::process::{ByzantineMemory, Live, Process, Role};
use crate::report::{Checks, RunReport, Stats};
use crate::verifier::SimVerifier;

/// Simulated wall-clock time at the start of every run, in ms since the Unix epoch.
pub const GENESIS_TIME_MS: u64 = 1_700_000_000_000;
pub const CHAIN_ID: &str = "hashbridge-sim";

/// A host reply to the core, delivered after a simulated delay.
#[derive(Debug)]
pub(crate) enum HostReply {
    Built(Input),
    Validated(Input),
    PendingCount,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Event {
    Deliver { to: usize, from: usize, bytes: Vec<u8> },
    Timer { process: usize, incarnation: u64, timer_id: u64, height: u64, view: u64 },
    Host { process: usize, incarnation: u64, reply: HostReply },
    Synced { process: usize, incarnation: u64, blocks: Vec<CertifiedBlock> },
    TransactionArrives { process: usize, transaction: Box<Transaction> },
    NewTransaction,
    Crash { process: usize },
    /// Crashes a process and deletes its data folder: ledger and records.
    Wipe { process: usize },
    Restart { process: usize },
    Partition { groups: Option<Vec<u8>> },
    Heal,
    ByzantineTick { process: usize },
    End,
}

#[derive(Debug)]
struct Scheduled {
    time: u64,
    sequence: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.sequence) == (other.time, other.sequence)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.sequence).cmp(&(other.time, other.sequence))
    }
}

/// One deterministic run.
pub struct Simulation {
    pub(crate) config: SimConfig,
    pub(crate) consensus: Config,
    pub(crate) genesis: CommittedTip,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) now: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    next_sequence: u64,
    pub(crate) processes: Vec<Process>,
    pub(crate) network: Network,
    pub(crate) verifier: SimVerifier,
    pub(crate) checks: Checks,
    pub(crate) trace: Sha256,
    pub(crate) stats: Stats,
    end_ms: u64,
    finished: bool,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation").field("seed", &self.config.seed).field("now", &self.now).finish_non_exhaustive()
    }
}

/// Derives the validator keys of a simulated chain, which are the same for every seed.
pub fn validator_keys(count: usize) -> Vec<KeyPair> {
    (0..count)
        .map(|index| {
            let seed = Domain::Genesis.hash(format!("hashbridge-sim validator {index}").as_bytes());
            KeyPair::from_seed(seed.0, KeyPurpose::Node)
        })
        .collect()
}

impl Simulation {
    pub fn new(config: SimConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let keys = validator_keys(config.validators);
        let validators = ValidatorSet::new(
            keys.iter().map(|key| Validator { public_key: key.public_key(), weight: 1 }).collect(),
        );
        let consensus = consensus_config(&config, validators);
        let genesis = CommittedTip { height: 0, hash: Domain::Genesis.hash(CHAIN_ID.as_bytes()), timestamp_ms: GENESIS_TIME_MS };

        let processes = build_processes(&config, &keys, &mut rng, genesis);
        let key_table: BTreeMap<PublicKey, KeyPair> = keys.iter().map(|k| (k.public_key(), k.clone())).collect();
        let verifier = SimVerifier::new(config.signatures, Rc::new(key_table));
        let honest_keys = honest_validators(&processes);
        let network = Network::new(&mut rng, processes.len());
        let end_ms = config.fault_phase_ms + config.liveness_bound_ms;

        Simulation {
            checks: Checks::new(config.signatures, honest_keys),
            config,
            consensus,
            genesis,
            rng,
            now: 0,
            queue: BinaryHeap::new(),
            next_sequence: 0,
            processes,
            network,
            verifier,
            trace: Sha256::new(),
            stats: Stats::default(),
            end_ms,
            finished: false,
        }
    }

    /// Runs to the end and returns the report.
    pub fn run(mut self) -> RunReport {
        self.start();
        while let Some(Reverse(scheduled)) = self.queue.pop() {
            if scheduled.time > self.end_ms || self.finished {
                break;
            }
            self.now = scheduled.time;
            self.trace_event(&scheduled.event);
            self.stats.events += 1;
            self.handle_event(scheduled.event);
        }
        self.finish()
    }

    fn start(&mut self) {
        for process in 0..self.processes.len() {
            self.restart(process);
            if self.processes.get(process).is_some_and(|p| p.byzantine_kind().is_some()) {
                let delay = self.rng.gen_range(100..400);
                self.schedule(delay, Event::ByzantineTick { process });
            }
        }
        let first_transaction = self.rng.gen_range(10..100);
        self.schedule(first_transaction, Event::NewTransaction);
        self.schedule_faults();
        self.schedule(self.config.fault_phase_ms, Event::Heal);
        self.schedule(self.end_ms, Event::End);
    }

    pub(crate) fn schedule(&mut self, delay_ms: u64, event: Event) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.queue.push(Reverse(Scheduled { time: self.now + delay_ms, sequence, event }));
    }

    pub(crate) fn now_ms(&self) -> u64 {
        GENESIS_TIME_MS + self.now
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Deliver { to, from, bytes } => self.deliver(to, from, bytes),
            Event::Timer { process, incarnation, timer_id, height, view } => {
                self.fire_timer(process, incarnation, timer_id, height, view)
            }
            Event::Host { process, incarnation, reply } => self.host_reply(process, incarnation, reply),
            Event::Synced { process, incarnation, blocks } => self.synced(process, incarnation, blocks),
            Event::TransactionArrives { process, transaction } => self.transaction_arrives(process, *transaction),
            Event::NewTransaction => self.new_transaction(),
            Event::Crash { process } => self.crash(process),
            Event::Wipe { process } => self.wipe(process),
            Event::Restart { process } => self.restart(process),
            Event::Partition { groups } => self.network.set_partition(groups),
            Event::Heal => self.heal(),
            Event::ByzantineTick { process } => self.byzantine_tick(process),
            Event::End => self.finished = true,
        }
    }

    fn trace_event(&mut self, event: &Event) {
        let (tag, process, extra): (u8, usize, u64) = match event {
            Event::Deliver { to, from, bytes } => (1, *to, (*from as u64) << 32 | bytes.len() as u64),
            Event::Timer { process, timer_id, .. } => (2, *process, *timer_id),
            Event::Host { process, .. } => (3, *process, 0),
            Event::Synced { process, blocks, .. } => (4, *process, blocks.len() as u64),
            Event::TransactionArrives { process, .. } => (5, *process, 0),
            Event::NewTransaction => (6, 0, 0),
            Event::Crash { process } => (7, *process, 0),
            Event::Wipe { process } => (13, *process, 0),
            Event::Restart { process } => (8, *process, 0),
            Event::Partition { .. } => (9, 0, 0),
            Event::Heal => (10, 0, 0),
            Event::ByzantineTick { process } => (11, *process, 0),
            Event::End => (12, 0, 0),
        };
        self.trace.update(self.now.to_le_bytes());
        self.trace.update([tag]);
        self.trace.update((process as u64).to_le_bytes());
        self.trace.update(extra.to_le_bytes());
    }

    /// Feeds one input to a running process and carries out the actions it returns.
    pub(crate) fn step(&mut self, process: usize, input: Input) {
        let Some(live) = self.processes.get_mut(process).and_then(|p| p.live.as_mut()) else { return };
        let actions = live.core.handle(input);
        let status = live.core.status();
        if self.processes.get(process).is_some_and(Process::is_honest) {
            let view = status.changing_to.unwrap_or(status.view);
            self.checks.on_status(process, self.now, status.height, view);
        }
        for action in actions {
            self.execute(process, action);
        }
    }

    pub(crate) fn live_mut(&mut self, process: usize) -> Option<&mut Live> {
        self.processes.get_mut(process).and_then(|p| p.live.as_mut())
    }

    fn deliver(&mut self, to: usize, from: usize, bytes: Vec<u8>) {
        let Some(target) = self.processes.get_mut(to) else { return };
        if target.live.is_none() {
            return;
        }
        if target.byzantine_kind() == Some(ByzantineKind::Replay) {
            remember(&mut target.memory, bytes.clone());
        }
        let _ = from;
        match hashbridge_consensus::SignedMessage::decode(&bytes) {
            Ok(message) => {
                if let hashbridge_consensus::ConsensusMessage::PrePrepare(pre_prepare) = &message.message {
                    self.checks.validity.on_proposal(pre_prepare.block.hash());
                }
                let now_ms = self.now_ms();
                self.step(to, Input::Message { message, now_ms });
            }
            Err(_) => self.stats.undecodable += 1,
        }
    }

    fn fire_timer(&mut self, process: usize, incarnation: u64, timer_id: u64, height: u64, view: u64) {
        let Some(p) = self.processes.get_mut(process) else { return };
        if p.incarnation != incarnation {
            return;
        }
        let Some(live) = p.live.as_mut() else { return };
        if live.timer != Some(timer_id) {
            return;
        }
        live.timer = None;
        let now_ms = self.now_ms();
        self.step(process, Input::TimerFired { timer_id, height, view, now_ms });
    }

    fn host_reply(&mut self, process: usize, incarnation: u64, reply: HostReply) {
        if self.processes.get(process).is_none_or(|p| p.incarnation != incarnation) {
            return;
        }
        let now_ms = self.now_ms();
        let input = match reply {
            HostReply::Built(Input::ProposalBuilt { height, view, block, .. }) => {
                Input::ProposalBuilt { height, view, block, now_ms }
            }
            HostReply::Validated(Input::ProposalValidated { height, view, block_hash, valid, .. }) => {
                Input::ProposalValidated { height, view, block_hash, valid, now_ms }
            }
            HostReply::PendingCount => {
                let Some(live) = self.live_mut(process) else { return };
                Input::PendingTransactions { count: live.pool.len(), now_ms }
            }
            HostReply::Built(input) | HostReply::Validated(input) => input,
        };
        self.step(process, input);
    }

    fn synced(&mut self, process: usize, incarnation: u64, blocks: Vec<CertifiedBlock>) {
        if self.processes.get(process).is_none_or(|p| p.incarnation != incarnation) {
            return;
        }
        for certified in blocks {
            let now_ms = self.now_ms();
            let input = Input::SyncedBlock { block: certified.block, certificate: certified.certificate, now_ms };
            self.step(process, input);
        }
    }

    fn transaction_arrives(&mut self, process: usize, transaction: Transaction) {
        let Some(p) = self.processes.get_mut(process) else { return };
        if p.ledger.contains_transaction(&transaction.id()) {
            return;
        }
        let Some(live) = p.live.as_mut() else { return };
        let was_empty = live.pool.is_empty();
        live.pool.insert(transaction);
        if was_empty {
            let now_ms = self.now_ms();
            self.step(process, Input::PendingTransactions { count: 1, now_ms });
        }
    }

    fn new_transaction(&mut self) {
        let now_ms = self.now_ms();
        let transaction = crate::transactions::random_transaction(&mut self.rng, CHAIN_ID, now_ms);
        for process in 0..self.processes.len() {
            let delay = self.rng.gen_range(1..30);
            self.schedule(delay, Event::TransactionArrives { process, transaction: Box::new(transaction.clone()) });
        }
        let mean = self.config.transaction_interval_ms.max(2);
        let gap = self.rng.gen_range(mean / 2..mean + mean / 2);
        self.schedule(gap, Event::NewTransaction);
    }

    fn crash(&mut self, process: usize) {
        if let Some(p) = self.processes.get_mut(process) {
            if p.live.take().is_some() {
                p.incarnation += 1;
                self.stats.crashes += 1;
            }
        }
    }

    /// Crashes a process and deletes its ledger and records. At restart it gets a vote
    /// floor two heights above the highest height any process has committed, because it
    /// may have voted at the height after its own last commit.
    fn wipe(&mut self, process: usize) {
        self.crash(process);
        self.checks.views.on_wipe(process);
        let floor = self.processes.iter().map(Process::committed_height).max().unwrap_or(0) + 2;
        if let Some(p) = self.processes.get_mut(process) {
            p.ledger = Ledger::new(self.genesis);
            p.records.clear();
            p.vote_floor = floor;
        }
    }

    /// Starts a process from its durable state only.
    pub(crate) fn restart(&mut self, process: usize) {
        let Some(p) = self.processes.get_mut(process) else { return };
        if p.live.is_some() {
            return;
        }
        let mut config = self.consensus.clone();
        config.local_key = p.public_key();
        let start = Start { tip: p.ledger.tip(), records: p.records.clone(), vote_floor: p.vote_floor };
        let signer = Ed25519Signer::new(p.key.clone());
        let Ok((mut core, actions)) = Core::new(config, signer, self.verifier.clone(), start) else {
            self.checks.record(Violation {
                property: "setup",
                time_ms: self.now,
                process: Some(process),
                detail: "the consensus configuration was rejected".into(),
            });
            return;
        };
        if let Some(rule) = self.config.weakened {
            core.weaken(rule);
        }
        p.live = Some(Live { core, pool: Pool::default(), timer: None });
        for action in actions {
            self.execute(process, action);
        }
    }

    fn heal(&mut self) {
        self.network.heal();
        for process in 0..self.processes.len() {
            self.restart(process);
        }
        let heights = self.honest_heights();
        self.checks.liveness.on_heal(self.now, &heights, self.config.liveness_blocks);
    }

    pub(crate) fn honest_heights(&self) -> Vec<(usize, u64)> {
        self.processes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_honest())
            .map(|(index, p)| (index, p.committed_height()))
            .collect()
    }

    /// Ends the run early once every honest process has shown liveness.
    pub(crate) fn check_done(&mut self) {
        if self.checks.liveness.all_reached() {
            self.finished = true;
        }
    }

    fn finish(mut self) -> RunReport {
        let heights = self.honest_heights();
        for (process, detail) in self.checks.liveness.finish(&heights) {
            self.checks.record(Violation {
                property: crate::checkers::liveness::PROPERTY,
                time_ms: self.now,
                process: Some(process),
                detail,
            });
        }
        let trace_hash = Hash32(self.trace.clone().finalize().into());
        let processes = self.processes.iter().map(summarize).collect();
        RunReport::new(&self.config, &heights, self.stats.clone(), self.checks, trace_hash, self.now, processes)
    }
}

fn summarize(process: &Process) -> crate::report::ProcessSummary {
    let status = process.live.as_ref().map(|live| live.core.status());
    crate::report::ProcessSummary {
        validator: process.validator,
        role: format!("{:?}", process.role),
        running: process.live.is_some(),
        committed_height: process.committed_height(),
        view: status.map_or(0, |s| s.view),
        changing_to: status.and_then(|s| s.changing_to),
        pending_transactions: status.map_or(0, |s| s.pending_transactions),
    }
}

fn consensus_config(config: &SimConfig, validators: ValidatorSet) -> Config {
    Config {
        chain_id: CHAIN_ID.to_string(),
        local_key: validators.get(0).map(|v| v.public_key).unwrap_or(PublicKey([0; 32])),
        validators,
        leader_period: 1,
        consensus_timeout_ms: config.consensus_timeout_ms,
        max_consensus_timeout_ms: config.max_consensus_timeout_ms,
        checkpoint_interval: 5,
        max_clock_drift_ms: 500,
        max_block_transactions: 50,
        max_block_bytes: 1 << 20,
    }
}

/// Builds one process per validator, plus a second process for each twin.
fn build_processes(config: &SimConfig, keys: &[KeyPair], rng: &mut ChaCha8Rng, genesis: CommittedTip) -> Vec<Process> {
    let faulty = if config.byzantine == ByzantineKind::None { 0 } else { config.fault_tolerance() };
    let mut indices: Vec<usize> = (0..keys.len()).collect();
    for i in (1..indices.len()).rev() {
        indices.swap(i, rng.gen_range(0..=i));
    }
    let byzantine: BTreeSet<usize> = indices.into_iter().take(faulty).collect();

    let role_of = |index: usize| match (byzantine.contains(&index), config.byzantine) {
        (false, _) => Role::Honest,
        (true, ByzantineKind::Twins) => Role::Twin,
        (true, kind) => Role::Byzantine(kind),
    };
    let process = |index: usize, key: &KeyPair| Process {
        validator: index,
        key: key.clone(),
        role: role_of(index),
        ledger: Ledger::new(genesis),
        records: Vec::new(),
        live: None,
        incarnation: 0,
        vote_floor: 0,
        memory: ByzantineMemory::default(),
    };

    let mut processes: Vec<Process> = keys.iter().enumerate().map(|(i, key)| process(i, key)).collect();
    if config.byzantine == ByzantineKind::Twins {
        for index in &byzantine {
            if let Some(key) = keys.get(*index) {
                processes.push(process(*index, key));
            }
        }
    }
    processes
}

/// Keys of validators all of whose processes are honest.
fn honest_validators(processes: &[Process]) -> BTreeSet<PublicKey> {
    let faulty: BTreeSet<PublicKey> = processes.iter().filter(|p| !p.is_honest()).map(Process::public_key).collect();
    processes.iter().map(Process::public_key).filter(|key| !faulty.contains(key)).collect()
}

/// Keeps the last 256 messages a replaying process saw.
pub(crate) fn remember(memory: &mut crate::process::ByzantineMemory, bytes: Vec<u8>) {
    if memory.history.len() >= 256 {
        memory.history.pop_front();
    }
    memory.history.push_back(bytes);
}

/// Returns a random hash drawn from the run's generator.
pub(crate) fn random_hash(rng: &mut ChaCha8Rng) -> Hash32 {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes);
    Hash32(bytes)
}
