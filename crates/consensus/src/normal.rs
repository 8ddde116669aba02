//! Normal-case operation: PrePrepare, Prepare, Commit and the commit of a block.
//!
//! A replica prepares a block only after the block passed the core's checks and the host
//! re-executed it. It is prepared once Prepare votes of quorum weight name the block in its
//! current view. It then persists the prepared certificate with its Commit vote, before the
//! vote leaves. Commit votes of quorum weight for a block it holds and validated form the
//! commit certificate.

use hashbridge_crypto::Hash32;
use hashbridge_types::{Block, CommitCertificate, VotePhase};

use crate::core::{Core, Verdict, VIEW_WINDOW};
use crate::error::MessageError;
use crate::guard::VoteKind;
use crate::io::{Action, CommittedTip, Destination, Record};
use crate::message::{ConsensusMessage, PrePrepare, PreparedCertificate, SignedMessage, Vote};
use crate::proposal::{check_proposal, Expectation};
use crate::signer::{Signer, Verifier};
use crate::tally::Insert;

impl<S: Signer, V: Verifier> Core<S, V> {
    /// Asks the host for a block, or proposes the required block again, when this node
    /// leads the current view and has work to do.
    pub(crate) fn maybe_propose(&mut self) {
        let height = self.round.height;
        if !self.can_vote() || self.changing_to.is_some() {
            return;
        }
        if self.config.leader(height, self.view) != Some(self.me) {
            return;
        }
        if self.round.accepted.is_some() || self.round.build_requested {
            return;
        }
        if let Some(required) = self.round.required {
            return self.propose_again(required);
        }
        if self.pending_transactions == 0 {
            return;
        }
        self.round.build_requested = true;
        self.actions.push(Action::BuildProposal {
            height,
            view: self.view,
            parent_hash: self.tip.hash,
            min_timestamp_ms: self.tip.timestamp_ms.saturating_add(1),
        });
    }

    fn propose_again(&mut self, required: Hash32) {
        let Some(known) = self.round.blocks.get(&required) else { return };
        let block = known.block.clone();
        self.round.build_requested = true;
        if self.send_pre_prepare(block) {
            self.send_prepare();
            self.check_progress();
        }
    }

    pub(crate) fn on_proposal_built(&mut self, height: u64, view: u64, block: Block, now_ms: u64) {
        let current = height == self.round.height && view == self.view && self.changing_to.is_none();
        if !current || self.round.accepted.is_some() || self.round.required.is_some() {
            return;
        }
        let expectation = Expectation::Fresh { leader: self.me, now_ms };
        if let Err(reason) = check_proposal(&self.config, &self.tip, &block, expectation) {
            self.reject(MessageError::InvalidProposal { peer: self.me, height, view, reason });
            return;
        }
        let hash = block.hash();
        if !self.remember_block(block.clone(), view) {
            return;
        }
        self.set_verdict(hash, true);
        if self.send_pre_prepare(block) {
            self.send_prepare();
            self.check_progress();
        }
    }

    /// Signs and broadcasts a PrePrepare for `block` in the current view.
    fn send_pre_prepare(&mut self, block: Block) -> bool {
        let (height, view, hash) = (self.round.height, self.view, block.hash());
        let Ok(signed) = self.guard.sign_vote(VoteKind::PrePrepare, height, view, hash) else {
            return false;
        };
        if !self.remember_block(block.clone(), view) {
            return false;
        }
        let message = SignedMessage {
            sender: self.me,
            message: ConsensusMessage::PrePrepare(PrePrepare { height, view, block }),
            signature: signed.signature,
        };
        self.round.first_pre_prepare.insert(view, message.clone());
        self.round.accepted = Some(hash);
        self.persist_then_send(signed.record.map(Record::Vote).into_iter().collect(), Destination::Broadcast, message);
        self.request_validation(hash);
        true
    }

    pub(crate) fn on_pre_prepare(&mut self, message: SignedMessage, pre_prepare: PrePrepare, now_ms: u64) {
        let (peer, height, view) = (message.sender, pre_prepare.height, pre_prepare.view);
        let Some(leader) = self.config.leader(height, view) else { return };
        if peer != leader {
            let kind = "pre-prepare";
            return self.reject(MessageError::NotLeader { peer, kind, height, view, leader });
        }
        if view.saturating_add(VIEW_WINDOW) < self.view {
            return;
        }
        let hash = pre_prepare.block.hash();
        if let Some(first) = self.round.first_pre_prepare.get(&view) {
            if pre_prepare_hash(first) != Some(hash) {
                let first = first.clone();
                self.report_equivocation(first, message, view, VoteKind::PrePrepare);
            }
            return;
        }

        if view > self.effective_view() || (self.changing_to.is_some() && view == self.effective_view()) {
            if view <= self.effective_view().saturating_add(VIEW_WINDOW) {
                self.future.push(message);
            }
            return;
        }
        if view < self.view || self.changing_to.is_some() {
            return;
        }
        self.round.first_pre_prepare.insert(view, message);
        self.accept_pre_prepare(peer, pre_prepare, now_ms);
    }

    fn accept_pre_prepare(&mut self, leader: hashbridge_crypto::PublicKey, pre_prepare: PrePrepare, now_ms: u64) {
        let (height, view, block) = (pre_prepare.height, pre_prepare.view, pre_prepare.block);
        let expectation = match self.round.required {
            Some(required) => Expectation::Required(required),
            None => Expectation::Fresh { leader, now_ms },
        };
        if let Err(reason) = check_proposal(&self.config, &self.tip, &block, expectation) {
            return self.reject(MessageError::InvalidProposal { peer: leader, height, view, reason });
        }

        let hash = block.hash();
        if !self.remember_block(block, view) {
            return;
        }
        self.round.accepted = Some(hash);
        self.request_validation(hash);
        self.send_prepare();
        self.check_progress();
    }

    /// Asks the host to re-execute a block whose verdict is not known yet.
    fn request_validation(&mut self, hash: Hash32) {
        let (height, view) = (self.round.height, self.view);
        let Some(known) = self.round.blocks.get_mut(&hash) else { return };
        if known.verdict == Verdict::Pending {
            let block = known.block.clone();
            self.actions.push(Action::ValidateProposal { height, view, block });
        }
    }

    pub(crate) fn on_verdict(&mut self, height: u64, _view: u64, block_hash: Hash32, valid: bool) {
        if height != self.round.height {
            return;
        }
        self.set_verdict(block_hash, valid);
        self.send_prepare();
        self.check_progress();
    }

    fn set_verdict(&mut self, hash: Hash32, valid: bool) {
        if let Some(known) = self.round.blocks.get_mut(&hash) {
            if known.verdict == Verdict::Pending {
                known.verdict = if valid { Verdict::Valid } else { Verdict::Invalid };
            }
        }
    }

    fn accepted_valid(&self) -> Option<Hash32> {
        let hash = self.round.accepted?;
        let known = self.round.blocks.get(&hash)?;
        (known.verdict == Verdict::Valid).then_some(hash)
    }

    /// Sends this node's Prepare for the accepted block once the host found it valid.
    fn send_prepare(&mut self) {
        if !self.can_vote() || self.changing_to.is_some() {
            return;
        }
        let Some(hash) = self.accepted_valid() else { return };
        let vote = Vote { height: self.round.height, view: self.view, block_hash: hash };
        self.send_vote(VoteKind::Prepare, vote, Vec::new());
    }

    /// Signs a vote through the guard, counts it and sends it after its records persist.
    fn send_vote(&mut self, kind: VoteKind, vote: Vote, mut records: Vec<Record>) -> bool {
        let Ok(signed) = self.guard.sign_vote(kind, vote.height, vote.view, vote.block_hash) else {
            return false;
        };
        let (phase, message) = match kind {
            VoteKind::Commit => (VotePhase::Commit, ConsensusMessage::Commit(vote.clone())),
            _ => (VotePhase::Prepare, ConsensusMessage::Prepare(vote.clone())),
        };
        let message = SignedMessage { sender: self.me, message, signature: signed.signature };
        self.round.votes.insert(phase, vote.view, vote.block_hash, message.clone());
        records.extend(signed.record.map(Record::Vote));
        self.persist_then_send(records, Destination::Broadcast, message);
        true
    }

    pub(crate) fn on_vote(&mut self, message: SignedMessage, phase: VotePhase, vote: Vote, now_ms: u64) {
        if vote.view.saturating_add(VIEW_WINDOW) < self.view {
            return;
        }
        if vote.view > self.effective_view().saturating_add(VIEW_WINDOW) {
            return;
        }
        let kind = if phase == VotePhase::Commit { VoteKind::Commit } else { VoteKind::Prepare };
        match self.round.votes.insert(phase, vote.view, vote.block_hash, message.clone()) {
            Insert::New => {}
            Insert::Duplicate => return,
            Insert::Conflict(first) => return self.report_equivocation(*first, message, vote.view, kind),
        }
        if phase == VotePhase::Commit {
            self.fetch_if_unknown(vote.block_hash, message.sender, now_ms);
        }
        self.check_progress();
    }

    /// Fetches the block a commit quorum names when this node never received it.
    fn fetch_if_unknown(&mut self, hash: Hash32, peer: hashbridge_crypto::PublicKey, now_ms: u64) {
        if self.round.blocks.contains_key(&hash) {
            return;
        }
        let quorum = self.quorum();
        let committed = self.round.votes.quorums(VotePhase::Commit, quorum, &self.config.validators);
        if committed.iter().any(|(_, h)| *h == hash) {
            self.request_fetch(peer, now_ms);
        }
    }

    /// Commits when a commit quorum names a validated block, and otherwise sends this
    /// node's Commit once its accepted block is prepared.
    pub(crate) fn check_progress(&mut self) {
        if self.try_commit() {
            return;
        }
        if self.try_prepare_commit() {
            self.try_commit();
        }
    }

    fn try_prepare_commit(&mut self) -> bool {
        if self.changing_to.is_some() || self.round.commit_sent.contains(&self.view) {
            return false;
        }
        let Some(hash) = self.accepted_valid() else { return false };
        let (height, view) = (self.round.height, self.view);
        let weight = self.round.votes.weight(VotePhase::Prepare, view, &hash, &self.config.validators);
        if weight < self.quorum() {
            return false;
        }
        let Some(block) = self.round.blocks.get(&hash).map(|known| known.block.clone()) else { return false };

        let prepares = self.round.votes.signatures(VotePhase::Prepare, view, &hash);
        let certificate = PreparedCertificate { height, view, block_hash: hash, prepares };
        self.adopt_prepared(certificate.clone(), block.clone());
        self.round.commit_sent.insert(view);
        if !self.can_vote() {
            return false;
        }
        let record = Record::Prepared { certificate, block };
        self.send_vote(VoteKind::Commit, Vote { height, view, block_hash: hash }, vec![record])
    }

    fn try_commit(&mut self) -> bool {
        let quorum = self.quorum();
        let candidates = self.round.votes.quorums(VotePhase::Commit, quorum, &self.config.validators);
        for (view, hash) in candidates {
            let Some(known) = self.round.blocks.get(&hash) else { continue };
            if known.verdict != Verdict::Valid {
                continue;
            }
            let block = known.block.clone();
            let signatures = self.round.votes.signatures(VotePhase::Commit, view, &hash);
            let certificate = CommitCertificate { height: self.round.height, view, block_hash: hash, signatures };
            self.commit(block, certificate);
            return true;
        }
        false
    }

    /// Emits the commit and moves to the next height.
    pub(crate) fn commit(&mut self, block: Block, certificate: CommitCertificate) {
        let tip = CommittedTip { height: block.height(), hash: block.hash(), timestamp_ms: block.header.timestamp_ms };
        self.actions.push(Action::CommitBlock { block, certificate });
        self.advance(tip);
    }

    /// Moves to the height after `tip`: resets the round, announces a checkpoint when due
    /// and replays buffered messages for the new height.
    pub(crate) fn advance(&mut self, tip: CommittedTip) {
        self.tip = tip;
        let height = tip.height.saturating_add(1);
        self.guard.prune_below(height);
        self.round = crate::core::Round::new(height);
        self.view = 0;
        self.changing_to = None;
        self.pending_transactions = 0;
        self.last_fetch = None;
        if tip.height.checked_rem(self.config.checkpoint_interval) == Some(0) {
            self.send_checkpoint();
        }
        let replay = self.future.take(|m| m.message.height() == height, |m| m.message.height() < height);
        self.replay.extend(replay);
    }
}

fn pre_prepare_hash(message: &SignedMessage) -> Option<Hash32> {
    match &message.message {
        ConsensusMessage::PrePrepare(pre_prepare) => Some(pre_prepare.block.hash()),
        _ => None,
    }
}
