//! Carrying out the core's actions: persisting, sending, timers, the host's build and
//! validation, commits, block fetches and evidence.

use hashbridge_consensus::{Action, ConsensusMessage, Destination, Input, Outbound, Record, SignedMessage};
use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_types::{Block, CommitCertificate};
use rand::Rng;
use sha2::Digest;

use crate::host::{build_block, BlockContext};
use crate::sim::{Event, HostReply, Simulation};

/// Maximum number of blocks returned for one fetch.
const MAX_BLOCKS_PER_FETCH: usize = 16;

impl Simulation {
    pub(crate) fn execute(&mut self, process: usize, action: Action) {
        self.trace_action(&action);
        if self.config.verbose {
            eprintln!("{:>6} p{process} {}", self.now, crate::verbose::describe(&action));
        }
        match action {
            Action::Send(outbound) => self.route(process, outbound),
            Action::PersistThenSend { sequence, records, message } => {
                self.persist(process, records, sequence);
                self.route(process, message);
            }
            Action::Persist { sequence, records } => self.persist(process, records, sequence),
            Action::PruneRecords { below_height } => {
                if let Some(p) = self.processes.get_mut(process) {
                    p.records.retain(|record| record.height() >= below_height);
                }
            }
            Action::StartTimer { timer_id, height, view, duration_ms } => {
                self.start_timer(process, timer_id, height, view, duration_ms)
            }
            Action::CancelTimer { timer_id } => {
                if let Some(live) = self.live_mut(process).filter(|live| live.timer == Some(timer_id)) {
                    live.timer = None;
                }
            }
            Action::BuildProposal { height, view, parent_hash, min_timestamp_ms } => {
                self.build(process, height, view, parent_hash, min_timestamp_ms)
            }
            Action::ValidateProposal { height, view, block } => self.validate(process, height, view, block),
            Action::CommitBlock { block, certificate } => self.commit(process, block, certificate),
            Action::FetchBlocks { from_height, peer } => self.fetch(process, from_height, peer),
            Action::ReportEquivocation(evidence) => {
                self.stats.evidence += 1;
                if self.processes.get(process).is_some_and(|p| p.is_honest()) {
                    self.checks.on_evidence(process, self.now, &evidence.second.sender);
                }
            }
            Action::Rejected(_) => self.stats.rejected += 1,
        }
    }

    fn trace_action(&mut self, action: &Action) {
        let (tag, detail): (u8, Hash32) = match action {
            Action::Send(outbound) => (20, outbound.message.message.digest("trace")),
            Action::PersistThenSend { message, .. } => (21, message.message.message.digest("trace")),
            Action::Persist { sequence, .. } => (22, Hash32::sha256(&sequence.to_le_bytes())),
            Action::CommitBlock { block, .. } => (23, block.hash()),
            Action::StartTimer { timer_id, .. } => (24, Hash32::sha256(&timer_id.to_le_bytes())),
            _ => (25, Hash32::ZERO),
        };
        self.trace.update([tag]);
        self.trace.update(detail.as_bytes());
    }

    /// Stores records durably (the simulated disk is synchronous) and reports completion.
    fn persist(&mut self, process: usize, records: Vec<Record>, sequence: u64) {
        let Some(p) = self.processes.get_mut(process) else { return };
        p.records.extend(records);
        if let Some(live) = p.live.as_mut() {
            let _ = live.core.handle(Input::PersistCompleted { sequence });
        }
    }

    fn start_timer(&mut self, process: usize, timer_id: u64, height: u64, view: u64, duration_ms: u64) {
        let Some(p) = self.processes.get_mut(process) else { return };
        let incarnation = p.incarnation;
        let Some(live) = p.live.as_mut() else { return };
        live.timer = Some(timer_id);
        self.schedule(duration_ms, Event::Timer { process, incarnation, timer_id, height, view });
    }

    /// Sends a message from `process`, through its byzantine behaviour if it has one.
    fn route(&mut self, process: usize, outbound: Outbound) {
        let Outbound { to, message } = outbound;
        let targets = self.targets(process, &to);
        if let ConsensusMessage::PrePrepare(pre_prepare) = &message.message {
            self.checks.validity.on_proposal(pre_prepare.block.hash());
        }
        let Some(sender) = self.processes.get(process) else { return };
        if sender.is_honest() {
            if matches!(message.message, ConsensusMessage::ViewChange(_)) {
                self.stats.view_changes += 1;
            }
            self.checks.on_honest_sent(process, self.now, &message);
        }
        match sender.byzantine_kind() {
            Some(kind) => self.byzantine_send(process, kind, targets, message),
            None => self.transmit(process, &targets, &message),
        }
    }

    /// Returns every other process, or every process that has the destination key.
    pub(crate) fn targets(&self, process: usize, to: &Destination) -> Vec<usize> {
        self.processes
            .iter()
            .enumerate()
            .filter(|(index, p)| {
                *index != process
                    && match to {
                        Destination::Broadcast => true,
                        Destination::Peer(key) => p.public_key() == *key,
                    }
            })
            .map(|(index, _)| index)
            .collect()
    }

    pub(crate) fn transmit(&mut self, from: usize, targets: &[usize], message: &SignedMessage) {
        let bytes = message.encode();
        self.transmit_bytes(from, targets, &bytes);
    }

    pub(crate) fn transmit_bytes(&mut self, from: usize, targets: &[usize], bytes: &[u8]) {
        for to in targets {
            for delay in self.network.plan(&mut self.rng, from, *to) {
                self.stats.messages += 1;
                self.schedule(delay, Event::Deliver { to: *to, from, bytes: bytes.to_vec() });
            }
        }
    }

    fn build(&mut self, process: usize, height: u64, view: u64, parent_hash: Hash32, min_timestamp_ms: u64) {
        let now_ms = self.now_ms();
        let validator_set_hash = self.consensus.validators.hash();
        let limit = self.consensus.max_block_transactions;
        let Some(p) = self.processes.get(process) else { return };
        let Some(live) = p.live.as_ref() else { return };
        let context = BlockContext {
            height,
            parent_hash,
            timestamp_ms: now_ms.max(min_timestamp_ms),
            proposer: p.public_key(),
            validator_set_hash,
        };
        let block = build_block(&p.ledger, context, live.pool.take(limit));
        let incarnation = p.incarnation;
        let delay = self.rng.gen_range(1..20);
        let input = Input::ProposalBuilt { height, view, block, now_ms };
        self.schedule(delay, Event::Host { process, incarnation, reply: HostReply::Built(input) });
    }

    fn validate(&mut self, process: usize, height: u64, view: u64, block: Block) {
        let Some(p) = self.processes.get(process) else { return };
        let valid = p.ledger.check(&block, &self.consensus.chain_id).is_ok();
        let incarnation = p.incarnation;
        let delay = self.rng.gen_range(1..10);
        let input = Input::ProposalValidated { height, view, block_hash: block.hash(), valid, now_ms: 0 };
        self.schedule(delay, Event::Host { process, incarnation, reply: HostReply::Validated(input) });
    }

    fn commit(&mut self, process: usize, block: Block, certificate: CommitCertificate) {
        let chain_id = self.consensus.chain_id.clone();
        let Some(p) = self.processes.get_mut(process) else { return };
        let execution = p.ledger.check(&block, &chain_id);
        let honest = p.is_honest();
        let (height, hash) = (block.height(), block.hash());
        if p.ledger.append(block, certificate.clone(), &chain_id).is_ok() {
            if let Some(live) = p.live.as_mut() {
                live.pool.remove_committed(&p.ledger);
            }
        }
        let incarnation = p.incarnation;

        self.stats.commits += 1;
        if honest {
            let validators = self.consensus.validators.clone();
            self.checks.on_commit(process, self.now, height, hash, execution, &certificate, &validators, &self.verifier);
            self.check_done();
        }
        self.schedule(0, Event::Host { process, incarnation, reply: HostReply::PendingCount });
    }

    /// Serves a fetch from one reachable process that has `peer`'s key.
    fn fetch(&mut self, process: usize, from_height: u64, peer: PublicKey) {
        let Some(incarnation) = self.processes.get(process).map(|p| p.incarnation) else { return };
        let source = self.targets(process, &Destination::Peer(peer)).into_iter().find(|index| {
            self.network.connected(process, *index) && self.processes.get(*index).is_some_and(|p| p.live.is_some())
        });
        let Some(source) = source else { return };
        let Some(blocks) = self.processes.get(source).map(|p| p.ledger.blocks_from(from_height, MAX_BLOCKS_PER_FETCH)) else {
            return;
        };
        if blocks.is_empty() {
            return;
        }
        self.stats.fetches += 1;
        let delay = self.network.round_trip_ms(process, source);
        self.schedule(delay, Event::Synced { process, incarnation, blocks });
    }
}
