//! The consensus state machine: construction, input dispatch and shared helpers.
//!
//! The normal case lives in `normal.rs`, view changes in `view_change.rs`, and checkpoints,
//! status hints and synced blocks in `sync.rs`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_types::{Block, VotePhase};

use crate::buffer::FutureBuffer;
use crate::certificate::Checker;
use crate::config::{Config, ConfigError};
use crate::error::MessageError;
use crate::guard::{VoteGuard, VoteKind};
use crate::io::{Action, CommittedTip, Destination, Evidence, Input, Outbound, Record};
use crate::message::{ConsensusMessage, PreparedCertificate, SignedMessage, ViewChange};
use crate::signer::{Signer, Verifier};
use crate::tally::VoteTally;

/// Heights ahead of the one in progress for which messages are buffered; later ones are
/// dropped.
pub const HEIGHT_WINDOW: u64 = 16;
/// Views ahead of the current one for which votes and proposals are kept; later ones are
/// dropped. ViewChange messages are exempt: one per peer is kept whatever its view.
pub const VIEW_WINDOW: u64 = 16;
/// Distinct blocks remembered for the height in progress.
pub(crate) const MAX_BLOCKS_PER_HEIGHT: usize = 16;
/// Equivocations reported per height.
pub(crate) const MAX_EVIDENCE_PER_HEIGHT: usize = 64;

/// A safety rule the simulator may switch off to prove its checkers notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeakenedRule {
    /// Quorum weight `2f` instead of `W - f`, so two quorums need not share an honest
    /// validator.
    QuorumTwoF,
    /// The vote guard signs conflicting votes and keeps no records across a restart.
    ForgetfulVoteGuard,
}

/// The starting state of the core: the ledger's tip, the persisted records and the vote floor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    pub tip: CommittedTip,
    /// Every record from persist actions that completed, in any order.
    pub records: Vec<Record>,
    /// The guard signs no vote below this height; 0 except after a wiped data folder.
    pub vote_floor: u64,
}

/// A snapshot of the core for status queries and the simulator's checkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreStatus {
    pub height: u64,
    pub view: u64,
    /// The view the node is changing to, while a view change is in progress.
    pub changing_to: Option<u64>,
    pub committed: CommittedTip,
    pub stable_checkpoint: u64,
    pub persisted_through: u64,
    pub pending_transactions: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pending,
    Valid,
    Invalid,
}

#[derive(Clone, Debug)]
pub(crate) struct KnownBlock {
    pub block: Block,
    pub view: u64,
    pub verdict: Verdict,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ArmedTimer {
    pub id: u64,
    pub height: u64,
    pub view: u64,
    /// During a view change: whether ViewChanges of quorum weight had asked for the target
    /// view when the timer started. Only such a timer moves on to the next view.
    pub quorum: bool,
}

/// State of the height in progress; replaced when a block commits.
#[derive(Debug, Default)]
pub(crate) struct Round {
    pub height: u64,
    /// The block the current view's leader proposed, once it passed the core's checks.
    pub accepted: Option<Hash32>,
    pub build_requested: bool,
    /// The block the current view must propose again, fixed by its NewView.
    pub required: Option<Hash32>,
    pub blocks: BTreeMap<Hash32, KnownBlock>,
    /// The highest prepared certificate at this height, with its block.
    pub prepared: Option<(PreparedCertificate, Block)>,
    pub votes: VoteTally,
    /// Views in which this node sent its Commit.
    pub commit_sent: BTreeSet<u64>,
    /// The first PrePrepare per view, kept to detect a leader's equivocation.
    pub first_pre_prepare: BTreeMap<u64, SignedMessage>,
    /// The highest-view ViewChange per validator, with its signature.
    pub view_changes: BTreeMap<PublicKey, SignedMessage>,
    pub evidence_reported: BTreeSet<(PublicKey, u64, VoteKind)>,
}

impl Round {
    pub(crate) fn new(height: u64) -> Self {
        Round { height, ..Round::default() }
    }

    pub(crate) fn view_change_of(&self, sender: &PublicKey) -> Option<&ViewChange> {
        match self.view_changes.get(sender).map(|m| &m.message) {
            Some(ConsensusMessage::ViewChange(view_change)) => Some(view_change),
            _ => None,
        }
    }
}

/// The PBFT state machine. Feed it [`Input`]s with [`Core::handle`] and carry out the
/// [`Action`]s it returns, in order.
pub struct Core<S, V> {
    pub(crate) config: Config,
    pub(crate) me: PublicKey,
    pub(crate) is_validator: bool,
    pub(crate) guard: VoteGuard<S>,
    pub(crate) verifier: V,
    pub(crate) tip: CommittedTip,
    pub(crate) view: u64,
    pub(crate) changing_to: Option<u64>,
    pub(crate) round: Round,
    pub(crate) pending_transactions: u64,
    pub(crate) timer: Option<ArmedTimer>,
    pub(crate) next_timer_id: u64,
    pub(crate) next_sequence: u64,
    pub(crate) persisted_through: u64,
    pub(crate) stable_checkpoint: u64,
    pub(crate) checkpoints: BTreeMap<u64, BTreeMap<PublicKey, Hash32>>,
    pub(crate) future: FutureBuffer,
    pub(crate) last_fetch: Option<(u64, u64)>,
    pub(crate) status_sent_ms: BTreeMap<PublicKey, u64>,
    pub(crate) replay: VecDeque<SignedMessage>,
    pub(crate) actions: Vec<Action>,
    pub(crate) weakened: Option<WeakenedRule>,
}

impl<S, V> fmt::Debug for Core<S, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("me", &self.me)
            .field("height", &self.round.height)
            .field("view", &self.view)
            .field("changing_to", &self.changing_to)
            .field("committed", &self.tip)
            .finish_non_exhaustive()
    }
}

impl<S: Signer, V: Verifier> Core<S, V> {
    /// Builds the core from a validated config and its persisted state, and returns the
    /// actions to run first: a restored view change is announced again, and timers start.
    pub fn new(config: Config, signer: S, verifier: V, start: Start) -> Result<(Self, Vec<Action>), ConfigError> {
        config.validate()?;
        let me = signer.public_key();
        if me != config.local_key {
            return Err(ConfigError::KeyMismatch { configured: config.local_key, signer: me });
        }

        let height = start.tip.height.saturating_add(1);
        let votes = start.records.iter().filter_map(|record| match record {
            Record::Vote(vote) if vote.height >= height => Some(vote.clone()),
            _ => None,
        });
        let guard = VoteGuard::restore(signer, &config.chain_id, votes, start.vote_floor);
        let is_validator = config.validators.weight_of(&me).is_some();

        let mut core = Core {
            config,
            me,
            is_validator,
            guard,
            verifier,
            tip: start.tip,
            view: 0,
            changing_to: None,
            round: Round::new(height),
            pending_transactions: 0,
            timer: None,
            next_timer_id: 1,
            next_sequence: 1,
            persisted_through: 0,
            stable_checkpoint: 0,
            checkpoints: BTreeMap::new(),
            future: FutureBuffer::default(),
            last_fetch: None,
            status_sent_ms: BTreeMap::new(),
            replay: VecDeque::new(),
            actions: Vec::new(),
            weakened: None,
        };
        core.restore_round(&start.records);
        core.resume();
        let actions = std::mem::take(&mut core.actions);
        Ok((core, actions))
    }

    /// Applies one input and returns the actions it causes, in the order they must run.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        let now_ms = match input {
            Input::Message { message, now_ms } => {
                self.on_message(message, now_ms);
                now_ms
            }
            Input::TimerFired { timer_id, height, view, now_ms } => {
                self.on_timer(timer_id, height, view);
                now_ms
            }
            Input::PendingTransactions { count, now_ms } => {
                self.pending_transactions = count;
                now_ms
            }
            Input::ProposalBuilt { height, view, block, now_ms } => {
                self.on_proposal_built(height, view, block, now_ms);
                now_ms
            }
            Input::ProposalValidated { height, view, block_hash, valid, now_ms } => {
                self.on_verdict(height, view, block_hash, valid);
                now_ms
            }
            Input::PersistCompleted { sequence } => {
                self.persisted_through = self.persisted_through.max(sequence);
                return Vec::new();
            }
            Input::SyncedBlock { block, certificate, now_ms } => {
                self.on_synced_block(block, certificate);
                now_ms
            }
        };
        self.drain_replay(now_ms);
        self.settle();
        std::mem::take(&mut self.actions)
    }

    pub fn status(&self) -> CoreStatus {
        CoreStatus {
            height: self.round.height,
            view: self.view,
            changing_to: self.changing_to,
            committed: self.tip,
            stable_checkpoint: self.stable_checkpoint,
            persisted_through: self.persisted_through,
            pending_transactions: self.pending_transactions,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        self.me
    }

    /// Breaks one safety rule on purpose, so the simulator can show its checkers notice.
    #[cfg(feature = "weakened-rules")]
    pub fn weaken(&mut self, rule: WeakenedRule) {
        if rule == WeakenedRule::ForgetfulVoteGuard {
            self.guard.set_forgetful(true);
        }
        self.weakened = Some(rule);
    }

    /// Restores the prepared certificate and the view of the height in progress.
    fn restore_round(&mut self, records: &[Record]) {
        let height = self.round.height;
        for record in records {
            match record {
                Record::Prepared { certificate, block } if certificate.height == height => {
                    self.adopt_prepared(certificate.clone(), block.clone());
                }
                Record::View { height: h, view } if *h == height && *view > 0 => {
                    self.changing_to = Some(self.changing_to.map_or(*view, |v| v.max(*view)));
                }
                _ => {}
            }
        }

        // A node that prepared in the view it restarts into had entered that view, and a
        // ViewChange must carry a certificate from a lower view, so it moves one view on.
        let prepared_view = self.round.prepared.as_ref().map(|(certificate, _)| certificate.view);
        if let (Some(target), Some(prepared)) = (self.changing_to, prepared_view) {
            if prepared >= target {
                self.changing_to = prepared.checked_add(1).or(Some(target));
            }
        }
    }

    /// Announces a restored view change again and arms the timer.
    fn resume(&mut self) {
        if let Some(target) = self.changing_to {
            if let Some(message) = self.sign_view_change(target) {
                self.round.view_changes.insert(self.me, message.clone());
                self.send(Destination::Broadcast, message);
            }
        }
        self.settle();
    }

    /// Runs the checks every input ends with: propose when due, then start or stop the timer.
    fn settle(&mut self) {
        self.maybe_propose();
        self.update_timer();
    }

    fn drain_replay(&mut self, now_ms: u64) {
        while let Some(message) = self.replay.pop_front() {
            self.dispatch(message, now_ms);
        }
    }

    fn on_message(&mut self, message: SignedMessage, now_ms: u64) {
        let peer = message.sender;
        if peer == self.me {
            return;
        }
        if self.config.validators.weight_of(&peer).is_none() {
            self.reject(MessageError::UnknownSender { peer });
            return;
        }
        let digest = message.message.digest(&self.config.chain_id);
        if !self.verifier.verify(&peer, &digest, &message.signature) {
            let height = message.message.height();
            self.reject(MessageError::BadSignature { peer, kind: message.message.kind(), height });
            return;
        }
        self.dispatch(message, now_ms);
    }

    /// Routes a message whose signature has been checked.
    pub(crate) fn dispatch(&mut self, message: SignedMessage, now_ms: u64) {
        let height = message.message.height();
        match &message.message {
            ConsensusMessage::Checkpoint(checkpoint) => {
                let checkpoint = checkpoint.clone();
                return self.on_checkpoint(message.sender, checkpoint, now_ms);
            }
            ConsensusMessage::Status(status) => {
                let status = status.clone();
                return self.on_status(message.sender, status, now_ms);
            }
            _ => {}
        }

        if height < self.round.height {
            return self.reply_status(message.sender, now_ms);
        }
        if height > self.round.height {
            self.request_fetch(message.sender, now_ms);
            if height - self.round.height <= HEIGHT_WINDOW {
                self.future.push(message);
            }
            return;
        }

        let sender = message.sender;
        match message.message.clone() {
            ConsensusMessage::PrePrepare(pre_prepare) => self.on_pre_prepare(message, pre_prepare, now_ms),
            ConsensusMessage::Prepare(vote) => self.on_vote(message, VotePhase::Prepare, vote, now_ms),
            ConsensusMessage::Commit(vote) => self.on_vote(message, VotePhase::Commit, vote, now_ms),
            ConsensusMessage::ViewChange(view_change) => self.on_view_change(message, view_change),
            ConsensusMessage::NewView(new_view) => self.on_new_view(sender, message, new_view),
            ConsensusMessage::Checkpoint(_) | ConsensusMessage::Status(_) => {}
        }
    }

    fn on_timer(&mut self, timer_id: u64, height: u64, view: u64) {
        let Some(timer) = self.timer else { return };
        if timer.id != timer_id || timer.height != height || timer.view != view {
            return;
        }
        self.timer = None;
        match self.changing_to {
            Some(_) if !timer.quorum => self.resend_view_change(),
            _ => {
                if let Some(next) = self.effective_view().checked_add(1) {
                    self.start_view_change(next);
                }
            }
        }
    }

    /// Broadcasts this node's ViewChange again. Links may lose messages, and without a
    /// quorum for its target view the node would otherwise wait forever.
    fn resend_view_change(&mut self) {
        if let Some(message) = self.round.view_changes.get(&self.me).cloned() {
            self.send(Destination::Broadcast, message);
        }
    }

    /// Keeps exactly one timer armed for (height, view) while work is waiting, and none
    /// while the chain is idle.
    ///
    /// During a view change the timer moves on to the next view only if ViewChanges of
    /// quorum weight requested the target view (or higher) when it started. It restarts when
    /// that quorum forms, and before that each firing sends the ViewChange again. A validator
    /// whose timer fired earlier than the others' therefore waits for them instead of
    /// running one view ahead of them forever.
    fn update_timer(&mut self) {
        let view = self.effective_view();
        let (needed, quorum) = match self.changing_to {
            Some(target) => (true, self.view_change_weight(target) >= self.quorum()),
            None => {
                let busy =
                    self.pending_transactions > 0 || self.round.accepted.is_some() || self.round.required.is_some();
                (busy, false)
            }
        };
        let needed = needed && self.can_vote();

        match self.timer {
            Some(timer)
                if needed && timer.height == self.round.height && timer.view == view && timer.quorum == quorum => {}
            _ if needed => {
                let id = self.next_timer_id;
                self.next_timer_id = id.saturating_add(1);
                let duration_ms = self.config.view_timeout_ms(view);
                self.timer = Some(ArmedTimer { id, height: self.round.height, view, quorum });
                self.actions.push(Action::StartTimer { timer_id: id, height: self.round.height, view, duration_ms });
            }
            Some(timer) => {
                self.timer = None;
                self.actions.push(Action::CancelTimer { timer_id: timer.id });
            }
            None => {}
        }
    }

    /// True when this node votes at the height in progress: it is a validator and the height
    /// is at or above its vote floor. Below the floor it follows the chain like an observer,
    /// because after a wiped data folder it may have lost votes and prepared certificates.
    pub(crate) fn can_vote(&self) -> bool {
        self.is_validator && self.round.height >= self.guard.floor()
    }

    /// Returns the view the node is in, or is moving to during a view change.
    pub(crate) fn effective_view(&self) -> u64 {
        self.changing_to.unwrap_or(self.view)
    }

    /// Weight a quorum needs: `W - f`, unless a test weakened the rule.
    pub(crate) fn quorum(&self) -> u64 {
        match self.weakened {
            Some(WeakenedRule::QuorumTwoF) => self.config.validators.fault_tolerance().saturating_mul(2).max(1),
            _ => self.config.validators.quorum_weight(),
        }
    }

    /// Sums the weight of validators whose latest ViewChange requests `view` or higher.
    pub(crate) fn view_change_weight(&self, view: u64) -> u64 {
        self.round
            .view_changes
            .keys()
            .filter(|sender| self.round.view_change_of(sender).is_some_and(|vc| vc.view >= view))
            .filter_map(|sender| self.config.validators.weight_of(sender))
            .fold(0u64, u64::saturating_add)
    }

    /// Weight that must include at least one honest validator: `f + 1`.
    pub(crate) fn honest_weight(&self) -> u64 {
        self.config.validators.fault_tolerance().saturating_add(1)
    }

    pub(crate) fn checker(&self) -> Checker<'_, V> {
        Checker {
            chain_id: &self.config.chain_id,
            validators: &self.config.validators,
            verifier: &self.verifier,
            quorum: self.quorum(),
        }
    }

    pub(crate) fn reject(&mut self, error: MessageError) {
        self.actions.push(Action::Rejected(error));
    }

    pub(crate) fn send(&mut self, to: Destination, message: SignedMessage) {
        self.actions.push(Action::Send(Outbound { to, message }));
    }

    /// Emits `message` after `records` are durable, or a plain send when there are none.
    pub(crate) fn persist_then_send(&mut self, records: Vec<Record>, to: Destination, message: SignedMessage) {
        if records.is_empty() {
            return self.send(to, message);
        }
        let sequence = self.take_sequence();
        self.actions.push(Action::PersistThenSend { sequence, records, message: Outbound { to, message } });
    }

    pub(crate) fn persist(&mut self, records: Vec<Record>) {
        let sequence = self.take_sequence();
        self.actions.push(Action::Persist { sequence, records });
    }

    fn take_sequence(&mut self) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence = sequence.saturating_add(1);
        sequence
    }

    /// Reports two conflicting messages once per (validator, view, kind) at this height.
    pub(crate) fn report_equivocation(&mut self, first: SignedMessage, second: SignedMessage, view: u64, kind: VoteKind) {
        let key = (second.sender, view, kind);
        let reported = &mut self.round.evidence_reported;
        if reported.contains(&key) || reported.len() >= MAX_EVIDENCE_PER_HEIGHT {
            return;
        }
        reported.insert(key);
        self.actions.push(Action::ReportEquivocation(Evidence { first, second }));
    }

    /// Keeps `certificate` if it is the highest prepared certificate at this height.
    pub(crate) fn adopt_prepared(&mut self, certificate: PreparedCertificate, block: Block) {
        let higher = self.round.prepared.as_ref().is_none_or(|(current, _)| certificate.view > current.view);
        if higher {
            self.remember_block(block.clone(), certificate.view);
            self.round.prepared = Some((certificate, block));
        }
    }

    /// Remembers a block seen at this height, evicting the lowest-view block that is not
    /// accepted, required or prepared when the table is full.
    pub(crate) fn remember_block(&mut self, block: Block, view: u64) -> bool {
        let hash = block.hash();
        if self.round.blocks.contains_key(&hash) {
            return true;
        }
        if self.round.blocks.len() >= MAX_BLOCKS_PER_HEIGHT && !self.evict_block() {
            return false;
        }
        self.round.blocks.insert(hash, KnownBlock { block, view, verdict: Verdict::Pending });
        true
    }

    fn evict_block(&mut self) -> bool {
        let prepared = self.round.prepared.as_ref().map(|(certificate, _)| certificate.block_hash);
        let protected = [self.round.accepted, self.round.required, prepared];
        let victim = self
            .round
            .blocks
            .iter()
            .filter(|(hash, _)| !protected.contains(&Some(**hash)))
            .min_by_key(|(_, known)| known.view)
            .map(|(hash, _)| *hash);
        victim.is_some_and(|hash| self.round.blocks.remove(&hash).is_some())
    }
}
