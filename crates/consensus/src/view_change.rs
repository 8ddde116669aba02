//! View changes: ViewChange, NewView and the choice of the block a new view proposes.
//!
//! A validator moves to view `v + 1` when its view timer fires. It moves to a higher view
//! than its own only when validators of weight `f + 1` ask for one (so at least one honest
//! validator is among them) or when a valid NewView proves a quorum moved there. Each
//! ViewChange carries the sender's highest prepared certificate. The new leader proposes
//! again the block of the highest-view certificate among a quorum of ViewChanges, so a
//! block that may have committed in an earlier view is never replaced.

use hashbridge_crypto::{Hash32, PublicKey};

use crate::core::{Core, VIEW_WINDOW};
use crate::error::MessageError;
use crate::io::{Destination, Record};
use crate::proposal::{check_body, check_extends};
use crate::message::{view_change_digest, ConsensusMessage, NewView, SignedMessage, ViewChange, ViewChangeProof};
use crate::signer::{Signer, Verifier};

impl<S: Signer, V: Verifier> Core<S, V> {
    /// Leaves the current view for `target`, persisting the move before announcing it.
    pub(crate) fn start_view_change(&mut self, target: u64) {
        if !self.can_vote() || target <= self.effective_view() {
            return;
        }
        self.changing_to = Some(target);
        self.round.accepted = None;
        self.round.required = None;
        self.round.build_requested = false;

        if let Some(message) = self.sign_view_change(target) {
            self.round.view_changes.insert(self.me, message.clone());
            let record = Record::View { height: self.round.height, view: target };
            self.persist_then_send(vec![record], Destination::Broadcast, message);
        }
        self.maybe_send_new_view();
    }

    /// Signs this node's ViewChange for `target` with its highest prepared certificate.
    pub(crate) fn sign_view_change(&mut self, target: u64) -> Option<SignedMessage> {
        if !self.can_vote() {
            return None;
        }
        let height = self.round.height;
        let (prepared, block) = match &self.round.prepared {
            Some((certificate, block)) => (Some(certificate.clone()), Some(block.clone())),
            None => (None, None),
        };
        let digest = view_change_digest(&self.config.chain_id, height, target, prepared.as_ref());
        let signature = self.guard.sign_statement(&digest);
        let message = ConsensusMessage::ViewChange(ViewChange { height, view: target, prepared, block });
        Some(SignedMessage { sender: self.me, message, signature })
    }

    pub(crate) fn on_view_change(&mut self, message: SignedMessage, view_change: ViewChange) {
        let peer = message.sender;
        if let Err(reason) = self.check_view_change(&view_change) {
            let (height, view) = (view_change.height, view_change.view);
            return self.reject(MessageError::Invalid { peer, kind: "view-change", height, view, reason });
        }
        let newer = self.round.view_change_of(&peer).is_none_or(|existing| view_change.view > existing.view);
        if !newer || view_change.view <= self.view {
            return;
        }
        if let (Some(certificate), Some(block)) = (view_change.prepared, view_change.block) {
            self.adopt_prepared(certificate, block);
        }
        self.round.view_changes.insert(peer, message);
        self.join_higher_view();
        self.maybe_send_new_view();
    }

    fn check_view_change(&self, view_change: &ViewChange) -> Result<(), String> {
        match (&view_change.prepared, &view_change.block) {
            (None, None) => Ok(()),
            (Some(certificate), Some(block)) => {
                if block.hash() != certificate.block_hash || block.height() != view_change.height {
                    return Err("the block does not match the prepared certificate".into());
                }
                // The signature covers only the block hash, which commits to the body through
                // the transaction root, so a relayed body must be checked against its header.
                check_extends(&self.tip, block)
                    .and_then(|()| check_body(&self.config, block))
                    .map_err(|reason| format!("the prepared block is invalid: {reason}"))?;
                if certificate.view >= view_change.view {
                    return Err(format!("prepared in view {}, not below the new view", certificate.view));
                }
                self.checker().prepared(certificate, view_change.height)
            }
            _ => Err("a prepared certificate and its block must come together".into()),
        }
    }

    /// Joins the highest view that validators of weight `f + 1` have asked for at or above.
    fn join_higher_view(&mut self) {
        let current = self.effective_view();
        let mut requests: Vec<(u64, u64)> = self
            .round
            .view_changes
            .iter()
            .filter(|(sender, _)| **sender != self.me)
            .filter_map(|(sender, _)| {
                let view = self.round.view_change_of(sender)?.view;
                let weight = self.config.validators.weight_of(sender)?;
                (view > current).then_some((view, weight))
            })
            .collect();
        requests.sort_unstable_by_key(|(view, _)| std::cmp::Reverse(*view));

        let mut weight = 0u64;
        for (view, sender_weight) in requests {
            weight = weight.saturating_add(sender_weight);
            if weight >= self.honest_weight() {
                return self.start_view_change(view);
            }
        }
    }

    /// As leader of the target view, announces it once ViewChanges of quorum weight name it.
    fn maybe_send_new_view(&mut self) {
        let Some(target) = self.changing_to else { return };
        if self.config.leader(self.round.height, target) != Some(self.me) {
            return;
        }
        let proofs = self.view_change_proofs(target);
        let weight = proofs
            .iter()
            .filter_map(|proof| self.config.validators.weight_of(&proof.sender))
            .fold(0u64, u64::saturating_add);
        if weight < self.quorum() {
            return;
        }

        let height = self.round.height;
        let new_view = NewView { height, view: target, view_changes: proofs };
        let required = highest_prepared(&new_view.view_changes);
        let message = ConsensusMessage::NewView(new_view);
        let signature = self.guard.sign_statement(&message.digest(&self.config.chain_id));
        self.send(Destination::Broadcast, SignedMessage { sender: self.me, message, signature });
        self.enter_view(target, required);
    }

    /// Collects the ViewChanges for `view`, in validator order, without their blocks.
    fn view_change_proofs(&self, view: u64) -> Vec<ViewChangeProof> {
        let mut proofs = Vec::new();
        for validator in self.config.validators.validators() {
            let Some(message) = self.round.view_changes.get(&validator.public_key) else { continue };
            let ConsensusMessage::ViewChange(view_change) = &message.message else { continue };
            if view_change.view == view {
                proofs.push(ViewChangeProof {
                    sender: message.sender,
                    prepared: view_change.prepared.clone(),
                    signature: message.signature,
                });
            }
        }
        proofs
    }

    pub(crate) fn on_new_view(&mut self, peer: PublicKey, _message: SignedMessage, new_view: NewView) {
        let (height, view) = (new_view.height, new_view.view);
        let Some(leader) = self.config.leader(height, view) else { return };
        if peer != leader {
            return self.reject(MessageError::NotLeader { peer, kind: "new-view", height, view, leader });
        }
        let entered = self.changing_to.is_none() && view <= self.view;
        if entered || view < self.effective_view() {
            return;
        }
        if let Err(reason) = self.checker().view_changes(&new_view.view_changes, height, view) {
            return self.reject(MessageError::Invalid { peer, kind: "new-view", height, view, reason });
        }
        let required = highest_prepared(&new_view.view_changes);
        self.enter_view(view, required);
    }

    /// Enters `view` in normal operation; `required` is the block it must propose again.
    pub(crate) fn enter_view(&mut self, view: u64, required: Option<Hash32>) {
        let height = self.round.height;
        self.view = view;
        self.changing_to = None;
        self.round.accepted = None;
        self.round.build_requested = false;
        self.round.required = required;
        self.round.view_changes.retain(|_, message| message.message.view().is_some_and(|v| v > view));
        let oldest_kept = view.saturating_sub(VIEW_WINDOW);
        self.round.votes.prune_below(oldest_kept);
        self.round.first_pre_prepare = self.round.first_pre_prepare.split_off(&oldest_kept);
        self.persist(vec![Record::View { height, view }]);

        let replay = self.future.take(
            |m| matches!(&m.message, ConsensusMessage::PrePrepare(p) if p.height == height && p.view == view),
            |m| matches!(&m.message, ConsensusMessage::PrePrepare(p) if p.height == height && p.view < view),
        );
        self.replay.extend(replay);
    }
}

/// Returns the block hash of the highest-view prepared certificate among the proofs.
fn highest_prepared(proofs: &[ViewChangeProof]) -> Option<Hash32> {
    proofs
        .iter()
        .filter_map(|proof| proof.prepared.as_ref())
        .max_by_key(|certificate| certificate.view)
        .map(|certificate| certificate.block_hash)
}
