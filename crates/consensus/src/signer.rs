//! Signing and signature checks behind traits, so a host can batch, cache or fake them.
//!
//! The ed25519 implementations use `hashbridge_crypto`, whose checks are `verify_strict`.

use hashbridge_crypto::{Hash32, KeyPair, PublicKey, Signature};
use hashbridge_types::block::CertificateError;
use hashbridge_types::{CommitCertificate, ValidatorSet};

/// Signs 32-byte digests with the local validator key.
pub trait Signer {
    fn public_key(&self) -> PublicKey;

    /// Signs `digest`. Signing must be deterministic, so a replayed vote carries the same
    /// signature as the original.
    fn sign(&self, digest: &Hash32) -> Signature;
}

/// Checks signatures made by validators.
///
/// The core checks each message's signature once, when the message arrives. A host that
/// batch-verifies incoming messages can pass a verifier that looks up the batch results,
/// as the simulator's caching verifier does.
pub trait Verifier {
    /// Returns true when `signature` is `key`'s valid signature over `digest`.
    fn verify(&self, key: &PublicKey, digest: &Hash32, signature: &Signature) -> bool;

    /// Checks that `certificate` commits `block_hash` at `height`.
    ///
    /// The default runs [`CommitCertificate::verify`], the check every client also runs.
    fn verify_certificate(
        &self,
        chain_id: &str,
        validators: &ValidatorSet,
        height: u64,
        block_hash: &Hash32,
        certificate: &CommitCertificate,
    ) -> Result<(), CertificateError> {
        certificate.verify(chain_id, validators, height, block_hash)
    }
}

/// The node's ed25519 key as a [`Signer`].
#[derive(Debug, Clone)]
pub struct Ed25519Signer {
    key: KeyPair,
}

impl Ed25519Signer {
    pub fn new(key: KeyPair) -> Self {
        Ed25519Signer { key }
    }
}

impl Signer for Ed25519Signer {
    fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    fn sign(&self, digest: &Hash32) -> Signature {
        self.key.sign(digest.as_bytes())
    }
}

/// ed25519 `verify_strict` as a [`Verifier`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Ed25519Verifier;

impl Verifier for Ed25519Verifier {
    fn verify(&self, key: &PublicKey, digest: &Hash32, signature: &Signature) -> bool {
        key.verify(digest.as_bytes(), signature).is_ok()
    }
}

impl<T: Signer + ?Sized> Signer for &T {
    fn public_key(&self) -> PublicKey {
        (**self).public_key()
    }

    fn sign(&self, digest: &Hash32) -> Signature {
        (**self).sign(digest)
    }
}

impl<T: Verifier + ?Sized> Verifier for &T {
    fn verify(&self, key: &PublicKey, digest: &Hash32, signature: &Signature) -> bool {
        (**self).verify(key, digest, signature)
    }

    fn verify_certificate(
        &self,
        chain_id: &str,
        validators: &ValidatorSet,
        height: u64,
        block_hash: &Hash32,
        certificate: &CommitCertificate,
    ) -> Result<(), CertificateError> {
        (**self).verify_certificate(chain_id, validators, height, block_hash, certificate)
    }
}
