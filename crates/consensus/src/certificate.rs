//! Checks on prepared certificates and on the ViewChange proofs inside a NewView.

use std::collections::BTreeSet;

use hashbridge_crypto::{Hash32, PublicKey, Signature};
use hashbridge_types::{ValidatorSet, VotePhase};

use crate::message::{view_change_digest, vote_digest, PreparedCertificate, Vote, ViewChangeProof};
use crate::signer::Verifier;

/// The parts of the core a certificate check reads.
pub(crate) struct Checker<'a, V> {
    pub chain_id: &'a str,
    pub validators: &'a ValidatorSet,
    pub verifier: &'a V,
    pub quorum: u64,
}

impl<V: Verifier> Checker<'_, V> {
    /// Checks that `certificate` proves a quorum prepared its block at `height`.
    pub(crate) fn prepared(&self, certificate: &PreparedCertificate, height: u64) -> Result<(), String> {
        if certificate.height != height {
            return Err(format!("prepared certificate is for height {}, expected {height}", certificate.height));
        }
        let vote = Vote { height, view: certificate.view, block_hash: certificate.block_hash };
        let digest = vote_digest(self.chain_id, VotePhase::Prepare, &vote);
        let signers = certificate.prepares.iter().map(|entry| (entry.validator, entry.signature));
        self.quorum_of(signers, |_| digest, "prepared certificate")
    }

    /// Checks that the proofs carry valid ViewChange signatures for `view` at `height` from
    /// quorum weight, each with a valid prepared certificate if it has one.
    pub(crate) fn view_changes(&self, proofs: &[ViewChangeProof], height: u64, view: u64) -> Result<(), String> {
        for proof in proofs {
            if let Some(certificate) = &proof.prepared {
                self.prepared(certificate, height)
                    .map_err(|reason| format!("view change of {}: {reason}", proof.sender))?;
            }
        }
        let signers = proofs.iter().map(|proof| (proof.sender, proof.signature));
        let digest_of = |index: usize| {
            let prepared = proofs.get(index).and_then(|proof| proof.prepared.as_ref());
            view_change_digest(self.chain_id, height, view, prepared)
        };
        self.quorum_of(signers, digest_of, "view change set")
    }

    /// Checks distinct validator signers, each signature, and that their weight reaches
    /// the quorum. `digest_of` gives the digest for the signer at each position.
    fn quorum_of(
        &self,
        signers: impl Iterator<Item = (PublicKey, Signature)>,
        digest_of: impl Fn(usize) -> Hash32,
        what: &str,
    ) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        let mut weight = 0u64;
        for (index, (signer, signature)) in signers.enumerate() {
            let Some(signer_weight) = self.validators.weight_of(&signer) else {
                return Err(format!("{what} has a signature from {signer}, which is not a validator"));
            };
            if !seen.insert(signer) {
                return Err(format!("{what} has two signatures from {signer}"));
            }
            if !self.verifier.verify(&signer, &digest_of(index), &signature) {
                return Err(format!("{what} has an invalid signature from {signer}"));
            }
            weight = weight.saturating_add(signer_weight);
        }
        if weight < self.quorum {
            return Err(format!("{what} has weight {weight}, short of the quorum weight {}", self.quorum));
        }
        Ok(())
    }
}
