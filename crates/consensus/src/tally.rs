//! Prepare and Commit votes at the height in progress, one per validator per view and phase.
//!
//! The first vote a validator sends for a (view, phase) is the one that counts. A second
//! vote for another block is returned as a conflict so the core can report the pair.

use std::collections::BTreeMap;

use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_types::{ValidatorSet, VotePhase};
use hashbridge_types::block::ValidatorSignature;

use crate::message::SignedMessage;

/// The outcome of inserting a vote.
#[derive(Debug)]
pub(crate) enum Insert {
    New,
    Duplicate,
    /// The validator already voted for another block; this is its first vote.
    Conflict(Box<SignedMessage>),
}

#[derive(Debug, Clone)]
struct CastVote {
    block_hash: Hash32,
    message: SignedMessage,
}

#[derive(Debug, Default)]
pub(crate) struct VoteTally {
    votes: BTreeMap<(u64, VotePhase), BTreeMap<PublicKey, CastVote>>,
}

impl VoteTally {
    pub(crate) fn insert(&mut self, phase: VotePhase, view: u64, block_hash: Hash32, message: SignedMessage) -> Insert {
        let voters = self.votes.entry((view, phase)).or_default();
        match voters.get(&message.sender) {
            Some(cast) if cast.block_hash == block_hash => Insert::Duplicate,
            Some(cast) => Insert::Conflict(Box::new(cast.message.clone())),
            None => {
                voters.insert(message.sender, CastVote { block_hash, message });
                Insert::New
            }
        }
    }

    /// Sums the weight of validators that voted for `block_hash`.
    pub(crate) fn weight(&self, phase: VotePhase, view: u64, block_hash: &Hash32, validators: &ValidatorSet) -> u64 {
        self.voters_for(phase, view, block_hash)
            .filter_map(|cast| validators.weight_of(&cast.message.sender))
            .fold(0u64, u64::saturating_add)
    }

    /// Collects the signatures of the votes for `block_hash`, ordered by validator key.
    pub(crate) fn signatures(&self, phase: VotePhase, view: u64, block_hash: &Hash32) -> Vec<ValidatorSignature> {
        self.voters_for(phase, view, block_hash)
            .map(|cast| ValidatorSignature { validator: cast.message.sender, signature: cast.message.signature })
            .collect()
    }

    /// Lists every (view, block) whose votes in `phase` reach `quorum`, lowest view first.
    pub(crate) fn quorums(&self, phase: VotePhase, quorum: u64, validators: &ValidatorSet) -> Vec<(u64, Hash32)> {
        let mut found = Vec::new();
        for ((view, vote_phase), voters) in &self.votes {
            if *vote_phase != phase {
                continue;
            }
            let mut weights: BTreeMap<Hash32, u64> = BTreeMap::new();
            for cast in voters.values() {
                let weight = validators.weight_of(&cast.message.sender).unwrap_or(0);
                let total = weights.entry(cast.block_hash).or_insert(0);
                *total = total.saturating_add(weight);
            }
            found.extend(weights.into_iter().filter(|(_, weight)| *weight >= quorum).map(|(hash, _)| (*view, hash)));
        }
        found
    }

    /// Drops the votes of views below `view`.
    pub(crate) fn prune_below(&mut self, view: u64) {
        self.votes = self.votes.split_off(&(view, VotePhase::Prepare));
    }

    fn voters_for<'a>(&'a self, phase: VotePhase, view: u64, block_hash: &'a Hash32) -> impl Iterator<Item = &'a CastVote> + 'a {
        self.votes
            .get(&(view, phase))
            .into_iter()
            .flat_map(|voters| voters.values())
            .filter(move |cast| cast.block_hash == *block_hash)
    }
}
