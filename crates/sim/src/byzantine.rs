//! Byzantine behaviours. A byzantine process runs the honest core and rewrites what it
//! sends; some kinds also act on a periodic tick. Messages it makes up are signed with its
//! own key directly, bypassing the vote guard, unless the behaviour is to sign wrongly.

use hashbridge_consensus::{
    ConsensusMessage, NewView, PrePrepare, SignedMessage, Status, ViewChange, ViewChangeProof, Vote,
};
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::{Hash32, KeyPair};
use hashbridge_types::codec;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::config::ByzantineKind;
use crate::sim::{random_hash, remember, Event, Simulation, CHAIN_ID};

/// Views and heights a huge-view actor uses.
const HUGE: [u64; 5] = [1 << 63, u64::MAX, u64::MAX - 1, 1 << 32, (1 << 63) + 1];

impl Simulation {
    pub(crate) fn byzantine_send(&mut self, process: usize, kind: ByzantineKind, targets: Vec<usize>, message: SignedMessage) {
        match kind {
            ByzantineKind::Silent => {}
            ByzantineKind::Equivocate => self.send_equivocating(process, targets, message),
            ByzantineKind::Malformed => self.send_malformed(process, targets, message),
            ByzantineKind::ConflictingVotes => self.send_conflicting(process, targets, message),
            ByzantineKind::Replay => {
                if let Some(p) = self.processes.get_mut(process) {
                    remember(&mut p.memory, message.encode());
                }
                self.transmit(process, &targets, &message);
            }
            ByzantineKind::None | ByzantineKind::HugeView | ByzantineKind::Twins => {
                self.transmit(process, &targets, &message)
            }
        }
    }

    pub(crate) fn byzantine_tick(&mut self, process: usize) {
        let Some(kind) = self.processes.get(process).and_then(|p| p.byzantine_kind()) else { return };
        match kind {
            ByzantineKind::Equivocate => self.resend_equivocations(process),
            ByzantineKind::Replay => self.replay_stale(process),
            ByzantineKind::HugeView => self.send_huge(process),
            _ => {}
        }
        let delay = self.rng.gen_range(100..400);
        self.schedule(delay, Event::ByzantineTick { process });
    }

    /// Signs `message` as `process`, with no guard.
    fn sign_as(&self, process: usize, message: ConsensusMessage) -> Option<SignedMessage> {
        let key = &self.processes.get(process)?.key;
        let signature = key.sign(message.digest(CHAIN_ID).as_bytes());
        Some(SignedMessage { sender: key.public_key(), message, signature })
    }

    fn split(&mut self, mut targets: Vec<usize>) -> (Vec<usize>, Vec<usize>) {
        targets.shuffle(&mut self.rng);
        let half = targets.len() / 2;
        let second = targets.split_off(half);
        (targets, second)
    }

    /// Sends one block to half the peers and another to the rest, and votes for each block
    /// in its own half.
    fn send_equivocating(&mut self, process: usize, targets: Vec<usize>, message: SignedMessage) {
        match message.message.clone() {
            ConsensusMessage::PrePrepare(pre_prepare) => {
                let (first, second) = self.split(targets);
                let mut block = pre_prepare.block.clone();
                block.header.timestamp_ms += 1;
                let alternate_hash = block.hash();
                let alternate = PrePrepare { height: pre_prepare.height, view: pre_prepare.view, block };
                let Some(alternate) = self.sign_as(process, ConsensusMessage::PrePrepare(alternate)) else { return };
                self.transmit(process, &first, &message);
                self.transmit(process, &second, &alternate);
                let Some(p) = self.processes.get_mut(process) else { return };
                p.memory.alternates.insert((pre_prepare.height, pre_prepare.view), (alternate_hash, second));
                p.memory.equivocations.push_back((message, alternate));
                if p.memory.equivocations.len() > 4 {
                    p.memory.equivocations.pop_front();
                }
            }
            ConsensusMessage::Prepare(vote) | ConsensusMessage::Commit(vote) => {
                let Some((alternate_hash, second)) =
                    self.processes.get(process).and_then(|p| p.memory.alternates.get(&(vote.height, vote.view)).cloned())
                else {
                    return self.transmit(process, &targets, &message);
                };
                let first: Vec<usize> = targets.iter().copied().filter(|t| !second.contains(t)).collect();
                let alternate_vote = Vote { block_hash: alternate_hash, ..vote };
                let alternate = match message.message {
                    ConsensusMessage::Commit(_) => ConsensusMessage::Commit(alternate_vote),
                    _ => ConsensusMessage::Prepare(alternate_vote),
                };
                self.transmit(process, &first, &message);
                if let Some(alternate) = self.sign_as(process, alternate) {
                    self.transmit(process, &second, &alternate);
                }
            }
            _ => self.transmit(process, &targets, &message),
        }
    }

    /// Sends both blocks of recent equivocations again, each peer getting one at random.
    fn resend_equivocations(&mut self, process: usize) {
        let pairs: Vec<(SignedMessage, SignedMessage)> =
            self.processes.get(process).map(|p| p.memory.equivocations.iter().cloned().collect()).unwrap_or_default();
        let targets = self.targets(process, &hashbridge_consensus::Destination::Broadcast);
        for (first, second) in pairs.iter().rev().take(2) {
            for target in &targets {
                let message = if self.rng.gen_bool(0.5) { first } else { second };
                self.transmit(process, &[*target], message);
            }
        }
    }

    fn replay_stale(&mut self, process: usize) {
        let count = self.rng.gen_range(1..=4);
        let processes = self.processes.len();
        for _ in 0..count {
            let history = match self.processes.get(process) {
                Some(p) if !p.memory.history.is_empty() => &p.memory.history,
                _ => return,
            };
            let index = self.rng.gen_range(0..history.len());
            let Some(bytes) = history.get(index).cloned() else { return };
            let target = self.rng.gen_range(0..processes);
            if target != process {
                self.transmit_bytes(process, &[target], &bytes);
            }
        }
    }

    /// Sends one message with a huge view or height, signed correctly.
    fn send_huge(&mut self, process: usize) {
        let height = self.processes.get(process).map(|p| p.committed_height() + 1).unwrap_or(1);
        let huge = HUGE.choose(&mut self.rng).copied().unwrap_or(u64::MAX);
        let hash = random_hash(&mut self.rng);
        let message = match self.rng.gen_range(0..7) {
            0 => ConsensusMessage::ViewChange(ViewChange { height, view: huge, prepared: None, block: None }),
            1 => ConsensusMessage::Prepare(Vote { height, view: huge, block_hash: hash }),
            2 => ConsensusMessage::Commit(Vote { height: huge, view: huge, block_hash: hash }),
            3 => ConsensusMessage::Checkpoint(hashbridge_consensus::Checkpoint { height: huge, block_hash: hash }),
            4 => ConsensusMessage::Status(Status { committed_height: huge, committed_hash: hash }),
            5 => ConsensusMessage::ViewChange(ViewChange { height: huge, view: huge, prepared: None, block: None }),
            _ => {
                let Some(own) = self.sign_as(process, ConsensusMessage::ViewChange(ViewChange { height, view: huge, prepared: None, block: None })) else { return };
                let proof = ViewChangeProof { sender: own.sender, prepared: None, signature: own.signature };
                ConsensusMessage::NewView(NewView { height, view: huge, view_changes: vec![proof.clone(), proof] })
            }
        };
        let Some(message) = self.sign_as(process, message) else { return };
        let targets = self.targets(process, &hashbridge_consensus::Destination::Broadcast);
        self.transmit(process, &targets, &message);
    }

    /// Sends each real vote plus a vote for another block, the fake one first to half the
    /// peers.
    fn send_conflicting(&mut self, process: usize, targets: Vec<usize>, message: SignedMessage) {
        let conflicting = match &message.message {
            ConsensusMessage::Prepare(vote) => {
                ConsensusMessage::Prepare(Vote { block_hash: random_hash(&mut self.rng), ..vote.clone() })
            }
            ConsensusMessage::Commit(vote) => {
                ConsensusMessage::Commit(Vote { block_hash: random_hash(&mut self.rng), ..vote.clone() })
            }
            _ => return self.transmit(process, &targets, &message),
        };
        let Some(conflicting) = self.sign_as(process, conflicting) else { return };
        let (first, second) = self.split(targets);
        self.transmit(process, &first, &conflicting);
        self.transmit(process, &first, &message);
        self.transmit(process, &second, &message);
        self.transmit(process, &second, &conflicting);
    }

    /// Corrupts about half of its messages, sometimes sending the original as well.
    fn send_malformed(&mut self, process: usize, targets: Vec<usize>, message: SignedMessage) {
        if self.rng.gen_bool(0.5) {
            return self.transmit(process, &targets, &message);
        }
        let corrupted = self.corrupt(process, &message);
        self.transmit_bytes(process, &targets, &corrupted);
        if self.rng.gen_bool(0.3) {
            self.transmit(process, &targets, &message);
        }
    }

    fn corrupt(&mut self, process: usize, message: &SignedMessage) -> Vec<u8> {
        let mut bytes = message.encode();
        match self.rng.gen_range(0..8) {
            0 => {
                let index = self.rng.gen_range(0..bytes.len().max(1));
                let bit = self.rng.gen_range(0..8);
                if let Some(byte) = bytes.get_mut(index) {
                    *byte ^= 1 << bit;
                }
                bytes
            }
            1 => {
                let keep = self.rng.gen_range(0..bytes.len().max(1));
                bytes.truncate(keep);
                bytes
            }
            2 => {
                bytes.extend_from_slice(&[0, 1, 2]);
                bytes
            }
            3 => self.resign_for_chain(process, message, "another-chain"),
            4 => {
                let mut seed = [0u8; 32];
                self.rng.fill(&mut seed);
                let stranger = KeyPair::from_seed(seed, KeyPurpose::Node);
                let signature = stranger.sign(message.message.digest(CHAIN_ID).as_bytes());
                codec::encode(&SignedMessage { signature, ..message.clone() })
            }
            5 => {
                let others: Vec<_> = self.processes.iter().map(|p| p.public_key()).filter(|k| *k != message.sender).collect();
                let sender = others.choose(&mut self.rng).copied().unwrap_or(message.sender);
                codec::encode(&SignedMessage { sender, ..message.clone() })
            }
            6 => self.tweak_fields(process, message),
            _ => codec::encode(&SignedMessage { signature: hashbridge_crypto::Signature([0; 64]), ..message.clone() }),
        }
    }

    fn resign_for_chain(&self, process: usize, message: &SignedMessage, chain_id: &str) -> Vec<u8> {
        let Some(key) = self.processes.get(process).map(|p| &p.key) else { return message.encode() };
        let signature = key.sign(message.message.digest(chain_id).as_bytes());
        codec::encode(&SignedMessage { signature, ..message.clone() })
    }

    /// Changes a field and signs the result with the process's own key.
    fn tweak_fields(&mut self, process: usize, message: &SignedMessage) -> Vec<u8> {
        let tweaked = match message.message.clone() {
            ConsensusMessage::Prepare(vote) => ConsensusMessage::Prepare(self.tweak_vote(vote)),
            ConsensusMessage::Commit(vote) => ConsensusMessage::Commit(self.tweak_vote(vote)),
            ConsensusMessage::PrePrepare(mut pre_prepare) => {
                if pre_prepare.block.transactions.pop().is_none() {
                    pre_prepare.block.header.timestamp_ms = u64::MAX;
                }
                ConsensusMessage::PrePrepare(pre_prepare)
            }
            ConsensusMessage::ViewChange(mut view_change) => {
                if let Some(certificate) = view_change.prepared.as_mut() {
                    certificate.prepares.pop();
                } else {
                    attach_stray_block(&mut view_change);
                }
                ConsensusMessage::ViewChange(view_change)
            }
            other => other,
        };
        match self.sign_as(process, tweaked) {
            Some(signed) => signed.encode(),
            None => message.encode(),
        }
    }

    fn tweak_vote(&mut self, vote: Vote) -> Vote {
        match self.rng.gen_range(0..3) {
            0 => Vote { height: vote.height + 1, ..vote },
            1 => Vote { view: vote.view + 1, ..vote },
            _ => {
                let mut hash = vote.block_hash;
                hash.0[0] ^= 1;
                Vote { block_hash: hash, ..vote }
            }
        }
    }
}

/// Attaches a block without a prepared certificate, which receivers must reject.
fn attach_stray_block(view_change: &mut ViewChange) {
    view_change.block = Some(hashbridge_types::Block {
        header: hashbridge_types::BlockHeader {
            height: view_change.height,
            parent_hash: Hash32::ZERO,
            timestamp_ms: 0,
            proposer: hashbridge_crypto::PublicKey([0; 32]),
            transaction_root: Hash32::ZERO,
            transaction_count: 0,
            log_root: Hash32::ZERO,
            log_size: 0,
            validator_set_hash: Hash32::ZERO,
        },
        transactions: Vec::new(),
    });
}
