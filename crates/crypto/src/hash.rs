//! SHA-256 with domain separation.
//!
//! Every hashed object kind has its own [`Domain`]. The digest is
//! `SHA-256(len(tag) as one byte || tag || data)`, so two kinds can never produce the same
//! preimage even when their encodings happen to coincide. The Merkle tree in
//! [`crate::merkle`] uses the plain RFC 6962 prefixes instead, because its proofs must match
//! the published Certificate Transparency algorithm; the log entries it holds carry their
//! own tag inside the leaf bytes.

use std::fmt;

use bincode::{Decode, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::hexfmt::{self, HexError};

/// A 32-byte SHA-256 digest. Displays and serializes as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    pub const ZERO: Hash32 = Hash32([0u8; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses hex in any letter case, with or without a `0x` or `sha256:` prefix.
    pub fn parse(input: &str) -> Result<Self, HexError> {
        hexfmt::parse_fixed::<32>(input).map(Hash32)
    }

    /// Hashes `data` with plain SHA-256 and no domain tag.
    pub fn sha256(data: &[u8]) -> Self {
        Hash32(Sha256::digest(data).into())
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

impl std::str::FromStr for Hash32 {
    type Err = HexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash32::parse(s)
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hash32::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The kind of object being hashed. Each variant has a fixed, never-reused tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Transaction id: the hash of the unsigned transaction payload.
    TransactionId,
    /// The message an account key signs for a transaction.
    TransactionSignature,
    /// Block hash: the hash of the encoded block header.
    BlockHeader,
    /// The digest a validator signs for a consensus vote.
    Vote,
    /// The digest a validator signs for any other consensus message.
    ConsensusMessage,
    /// The hash of the validator set recorded in each header.
    ValidatorSet,
    /// The genesis hash, which identifies the chain.
    Genesis,
    /// An entry of the anchor log, before the RFC 6962 leaf prefix is applied.
    LogLeaf,
    /// A salted report commitment, version 1.
    CommitmentV1Salted,
    /// An unsalted report commitment, version 1.
    CommitmentV1Unsalted,
}

impl Domain {
    pub const fn tag(self) -> &'static [u8] {
        match self {
            Domain::TransactionId => b"hashbridge/v1/transaction-id",
            Domain::TransactionSignature => b"hashbridge/v1/transaction-signature",
            Domain::BlockHeader => b"hashbridge/v1/block-header",
            Domain::Vote => b"hashbridge/v1/vote",
            Domain::ConsensusMessage => b"hashbridge/v1/consensus-message",
            Domain::ValidatorSet => b"hashbridge/v1/validator-set",
            Domain::Genesis => b"hashbridge/v1/genesis",
            Domain::LogLeaf => b"hashbridge/v1/log-leaf",
            Domain::CommitmentV1Salted => b"hashbridge/v1/commitment/salted",
            Domain::CommitmentV1Unsalted => b"hashbridge/v1/commitment/unsalted",
        }
    }

    /// Starts a streaming hasher that already contains this domain's prefix.
    pub fn hasher(self) -> Sha256 {
        let tag = self.tag();
        let mut hasher = Sha256::new();
        // Every tag is shorter than 256 bytes, which the unit test below checks.
        hasher.update([tag.len() as u8]);
        hasher.update(tag);
        hasher
    }

    /// Hashes one byte string under this domain.
    pub fn hash(self, data: &[u8]) -> Hash32 {
        let mut hasher = self.hasher();
        hasher.update(data);
        Hash32(hasher.finalize().into())
    }

    /// Hashes the concatenation of several byte strings under this domain.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Hash32 {
        let mut hasher = self.hasher();
        for part in parts {
            hasher.update(part);
        }
        Hash32(hasher.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Domain; 10] = [
        Domain::TransactionId,
        Domain::TransactionSignature,
        Domain::BlockHeader,
        Domain::Vote,
        Domain::ConsensusMessage,
        Domain::ValidatorSet,
        Domain::Genesis,
        Domain::LogLeaf,
        Domain::CommitmentV1Salted,
        Domain::CommitmentV1Unsalted,
    ];

    #[test]
    fn domain_tags_are_distinct_and_short() {
        let mut tags: Vec<&[u8]> = ALL.iter().map(|d| d.tag()).collect();
        assert!(tags.iter().all(|t| t.len() < 256));
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), ALL.len());
    }

    #[test]
    fn domains_give_different_digests() {
        let a = Domain::TransactionId.hash(b"same bytes");
        let b = Domain::BlockHeader.hash(b"same bytes");
        assert_ne!(a, b);
        assert_ne!(a, Hash32::sha256(b"same bytes"));
    }

    #[test]
    fn domain_hash_is_pinned() {
        // SHA-256(0x1c || "hashbridge/v1/transaction-id" || "abc"), pinned so the format cannot
        // drift without this test failing.
        let mut preimage = vec![28u8];
        preimage.extend_from_slice(b"hashbridge/v1/transaction-id");
        preimage.extend_from_slice(b"abc");
        assert_eq!(Domain::TransactionId.hash(b"abc"), Hash32::sha256(&preimage));
        assert_eq!(Domain::TransactionId.hash_parts(&[b"a", b"bc"]), Domain::TransactionId.hash(b"abc"));
    }

    #[test]
    fn hash_serde_round_trip_is_lowercase() {
        let hash = Hash32::sha256(b"abc");
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
        let upper: Hash32 = serde_json::from_str(&json.to_uppercase()).unwrap();
        assert_eq!(upper, hash);
    }
}
