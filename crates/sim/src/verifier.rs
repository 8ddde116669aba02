//! The simulator's signature checks, shared by every process of one run.
//!
//! Each distinct (key, digest, signature) is checked once per run and the result cached,
//! because every process receives the same broadcast.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use hashbridge_consensus::Verifier;
use hashbridge_crypto::{Hash32, KeyPair, PublicKey, Signature};
use hashbridge_types::block::CertificateError;
use hashbridge_types::{CommitCertificate, ValidatorSet, VotePhase, VoteStatement};

use crate::config::SignatureCheck;

/// The cache is cleared once it contains this many results.
const MAX_CACHED: usize = 200_000;

/// Verification results by (signer, digest, signature bytes).
type Cache = Rc<RefCell<HashMap<(PublicKey, Hash32, [u8; 64]), bool>>>;

#[derive(Clone, Debug)]
pub struct SimVerifier {
    mode: SignatureCheck,
    keys: Rc<BTreeMap<PublicKey, KeyPair>>,
    cache: Cache,
}

impl SimVerifier {
    pub fn new(mode: SignatureCheck, keys: Rc<BTreeMap<PublicKey, KeyPair>>) -> Self {
        SimVerifier { mode, keys, cache: Rc::new(RefCell::new(HashMap::new())) }
    }

    fn check_uncached(&self, key: &PublicKey, digest: &Hash32, signature: &Signature) -> bool {
        match self.mode {
            SignatureCheck::Full => key.verify(digest.as_bytes(), signature).is_ok(),
            SignatureCheck::Resign => {
                self.keys.get(key).is_some_and(|pair| pair.sign(digest.as_bytes()) == *signature)
            }
        }
    }

    /// Runs the checks of [`CommitCertificate::verify`], in the same order, with this
    /// verifier's signature check.
    fn certificate_by_resigning(
        &self,
        chain_id: &str,
        validators: &ValidatorSet,
        height: u64,
        block_hash: &Hash32,
        certificate: &CommitCertificate,
    ) -> Result<(), CertificateError> {
        if certificate.height != height {
            return Err(CertificateError::WrongHeight { expected: height, found: certificate.height });
        }
        if certificate.block_hash != *block_hash {
            return Err(CertificateError::WrongBlock { expected: *block_hash, found: certificate.block_hash });
        }
        let statement = VoteStatement {
            chain_id,
            phase: VotePhase::Commit,
            height,
            view: certificate.view,
            block_hash: *block_hash,
        };
        let digest = statement.digest();
        let mut seen = std::collections::BTreeSet::new();
        let mut weight = 0u64;
        for entry in &certificate.signatures {
            let Some(validator_weight) = validators.weight_of(&entry.validator) else {
                return Err(CertificateError::UnknownSigner(entry.validator));
            };
            if !seen.insert(entry.validator) {
                return Err(CertificateError::DuplicateSigner(entry.validator));
            }
            if !self.verify(&entry.validator, &digest, &entry.signature) {
                return Err(CertificateError::BadSignature(entry.validator));
            }
            weight = weight.saturating_add(validator_weight);
        }
        let quorum = validators.quorum_weight();
        if weight < quorum {
            return Err(CertificateError::NoQuorum { found: weight, quorum });
        }
        Ok(())
    }
}

impl Verifier for SimVerifier {
    fn verify(&self, key: &PublicKey, digest: &Hash32, signature: &Signature) -> bool {
        let entry = (*key, *digest, signature.0);
        if let Some(answer) = self.cache.borrow().get(&entry) {
            return *answer;
        }
        let answer = self.check_uncached(key, digest, signature);
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(entry, answer);
        answer
    }

    fn verify_certificate(
        &self,
        chain_id: &str,
        validators: &ValidatorSet,
        height: u64,
        block_hash: &Hash32,
        certificate: &CommitCertificate,
    ) -> Result<(), CertificateError> {
        match self.mode {
            SignatureCheck::Full => certificate.verify(chain_id, validators, height, block_hash),
            SignatureCheck::Resign => self.certificate_by_resigning(chain_id, validators, height, block_hash, certificate),
        }
    }
}
