//! Certificate validity: every honest commit carries a certificate that passes
//! `CommitCertificate::verify` (or, with re-signing checks, the same rules through the
//! simulator's verifier).

use std::collections::HashSet;

use hashbridge_consensus::Verifier;
use hashbridge_crypto::{Domain, Hash32};
use hashbridge_types::codec;
use hashbridge_types::{CommitCertificate, ValidatorSet};

use crate::config::SignatureCheck;
use crate::verifier::SimVerifier;

pub const PROPERTY: &str = "certificate validity";

#[derive(Debug)]
pub struct CertificateValidity {
    mode: SignatureCheck,
    verified: HashSet<Hash32>,
}

impl CertificateValidity {
    pub fn new(mode: SignatureCheck) -> Self {
        CertificateValidity { mode, verified: HashSet::new() }
    }

    /// Checks the certificate of an honest commit; identical certificates are checked once.
    pub fn on_commit(
        &mut self,
        chain_id: &str,
        validators: &ValidatorSet,
        verifier: &SimVerifier,
        block_hash: Hash32,
        certificate: &CommitCertificate,
    ) -> Option<String> {
        let key = Domain::ConsensusMessage.hash_parts(&[block_hash.as_bytes(), &codec::encode(certificate)]);
        if self.verified.contains(&key) {
            return None;
        }
        let height = certificate.height;
        let result = match self.mode {
            SignatureCheck::Full => certificate.verify(chain_id, validators, height, &block_hash),
            SignatureCheck::Resign => verifier.verify_certificate(chain_id, validators, height, &block_hash, certificate),
        };
        match result {
            Ok(()) => {
                self.verified.insert(key);
                None
            }
            Err(error) => Some(format!("height {height}: certificate for block {block_hash} is invalid: {error}")),
        }
    }
}
