//! Cryptographic primitives shared by every Hashbridge crate.
//!
//! - [`hash`]: SHA-256 with a distinct domain tag for every kind of hashed object, so a
//!   transaction id can never be confused with a block hash or a vote digest.
//! - [`keys`]: ed25519 keys on `ed25519-dalek`. Every signature check uses
//!   `verify_strict`, which rejects small-order keys and non-canonical signatures, so all
//!   nodes accept exactly the same set of signatures. Key files are TOML, written with mode
//!   0600, and their secret is never printed.
//! - [`merkle`]: the RFC 6962 / RFC 9162 Merkle tree with root, inclusion and consistency
//!   proofs. The anchor log uses it, and its root goes into every block header.
//! - [`hexfmt`]: the one parser for user-supplied hex (any letter case, optional `0x` or
//!   `sha256:` prefix), whose errors name the offending value.

pub mod hash;
pub mod hexfmt;
pub mod keys;
pub mod merkle;

pub use hash::{Domain, Hash32};
pub use keys::{KeyFileError, KeyPair, PublicKey, Signature};
