//! ed25519 keys, signatures and key files.
//!
//! Signatures are checked with `verify_strict` only, so every node applies the same rule:
//! small-order public keys and non-canonical `S` values are rejected.
//!
//! A key file is TOML:
//!
//! ```toml
//! # Hashbridge ed25519 secret key. Keep this file private.
//! format = "hashbridge-ed25519-key-v1"
//! purpose = "node"          # "node" or "account"
//! secret_key = "<64 hex digits>"
//! public_key = "<64 hex digits>"
//! ```
//!
//! The file is created with mode 0600. Loading it checks that the stored public key matches
//! the secret key, so a hand-edited file cannot claim another identity.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::hexfmt::{self, HexError};

pub const KEY_FILE_FORMAT: &str = "hashbridge-ed25519-key-v1";

/// Largest key file accepted; a real one is about 250 bytes.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// An ed25519 public key, stored as its 32-byte compressed form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct PublicKey(pub [u8; 32]);

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Signature(pub [u8; 64]);

/// Reason a signature or public key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("public key {0} is not a valid ed25519 point")]
    InvalidPublicKey(String),
    #[error("public key {0} has small order and cannot sign")]
    WeakPublicKey(String),
    #[error("signature does not verify under public key {0}")]
    BadSignature(String),
}

impl PublicKey {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses a 32-byte public key from hex and checks that it is a usable ed25519 point.
    pub fn parse(input: &str) -> Result<Self, PublicKeyParseError> {
        let bytes = hexfmt::parse_fixed::<32>(input)?;
        let key = PublicKey(bytes);
        key.verifying_key()?;
        Ok(key)
    }

    fn verifying_key(&self) -> Result<VerifyingKey, SignatureError> {
        let key = VerifyingKey::from_bytes(&self.0)
            .map_err(|_| SignatureError::InvalidPublicKey(self.to_hex()))?;
        if key.is_weak() {
            return Err(SignatureError::WeakPublicKey(self.to_hex()));
        }
        Ok(key)
    }

    /// Verifies `signature` over `message` with `verify_strict`.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let key = self.verifying_key()?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &sig).map_err(|_| SignatureError::BadSignature(self.to_hex()))
    }

    /// The libp2p peer id of a node that uses this key as its network identity.
    pub fn peer_id(&self) -> Result<libp2p_identity::PeerId, SignatureError> {
        let key = libp2p_identity::ed25519::PublicKey::try_from_bytes(&self.0)
            .map_err(|_| SignatureError::InvalidPublicKey(self.to_hex()))?;
        Ok(libp2p_identity::PublicKey::from(key).to_peer_id())
    }

    /// A short form for logs: the first 8 hex digits.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

/// Reason a public key string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PublicKeyParseError {
    #[error(transparent)]
    Hex(#[from] HexError),
    #[error(transparent)]
    Key(#[from] SignatureError),
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.short())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PublicKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Signature {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn parse(input: &str) -> Result<Self, HexError> {
        hexfmt::parse_fixed::<64>(input).map(Signature)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}..)", hex::encode(&self.0[..4]))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Signature::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Purpose of a key, recorded in the key file so an operator cannot mix keys up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyPurpose {
    /// A node's consensus and network identity.
    Node,
    /// An institution's account key, which signs transactions.
    Account,
}

impl fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyPurpose::Node => "node",
            KeyPurpose::Account => "account",
        })
    }
}

/// An ed25519 signing key with its public key. `Debug` never shows the secret.
#[derive(Clone)]
pub struct KeyPair {
    signing: SigningKey,
    purpose: KeyPurpose,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("purpose", &self.purpose)
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// Generates a key from the operating system's random source.
    pub fn generate(purpose: KeyPurpose) -> Self {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        KeyPair { signing, purpose }
    }

    /// Builds a key from a 32-byte seed. Used by tests and the simulator.
    pub fn from_seed(seed: [u8; 32], purpose: KeyPurpose) -> Self {
        KeyPair { signing: SigningKey::from_bytes(&seed), purpose }
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    pub fn purpose(&self) -> KeyPurpose {
        self.purpose
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }

    /// The libp2p identity for this key, used as the node's network key.
    pub fn libp2p_keypair(&self) -> libp2p_identity::Keypair {
        let mut secret = self.signing.to_bytes();
        // `try_from_bytes` zeroizes the buffer it is given.
        match libp2p_identity::ed25519::SecretKey::try_from_bytes(&mut secret) {
            Ok(secret) => libp2p_identity::Keypair::from(libp2p_identity::ed25519::Keypair::from(secret)),
            Err(_) => unreachable_secret_length(),
        }
    }

    /// Writes the key to `path` with mode 0600, refusing to replace an existing file.
    pub fn write_file(&self, path: &Path) -> Result<(), KeyFileError> {
        let io_error = |source| KeyFileError::Io { path: path.to_path_buf(), source };
        let secret = Zeroizing::new(hex::encode(self.signing.to_bytes()));
        let text = Zeroizing::new(format!(
            "# Hashbridge ed25519 secret key. Keep this file private: anyone who reads it can sign as this {purpose}.\n\
             format = \"{KEY_FILE_FORMAT}\"\n\
             purpose = \"{purpose}\"\n\
             secret_key = \"{secret}\"\n\
             public_key = \"{public}\"\n",
            purpose = self.purpose,
            secret = secret.as_str(),
            public = self.public_key(),
        ));

        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io_error)?;
        file.write_all(text.as_bytes()).map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
        Ok(())
    }

    /// Reads a key file, checking its format, purpose and that the public key matches.
    pub fn read_file(path: &Path, expected: Option<KeyPurpose>) -> Result<Self, KeyFileError> {
        let io_error = |source| KeyFileError::Io { path: path.to_path_buf(), source };
        let invalid = |reason: String| KeyFileError::Invalid { path: path.to_path_buf(), reason };

        let metadata = fs::metadata(path).map_err(io_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(invalid(format!(
                    "the file is readable or writable by other users (mode {mode:o}); restrict it with `chmod 600 {}`",
                    path.display()
                )));
            }
        }
        if metadata.len() > MAX_KEY_FILE_BYTES {
            return Err(invalid(format!(
                "the file is {} bytes, more than the {MAX_KEY_FILE_BYTES} bytes a key file can be; check the path",
                metadata.len()
            )));
        }
        let text = Zeroizing::new(fs::read_to_string(path).map_err(io_error)?);
        let raw: RawKeyFile = toml::from_str(&text).map_err(|e| invalid(format!("not a valid key file: {}", e.message())))?;

        if raw.format != KEY_FILE_FORMAT {
            return Err(invalid(format!("format is {:?}, expected {KEY_FILE_FORMAT:?}", raw.format)));
        }
        if let Some(expected) = expected {
            if raw.purpose != expected {
                return Err(invalid(format!(
                    "this is {} key but {} key is needed; pass the {expected} key file instead",
                    with_article(raw.purpose),
                    with_article(expected)
                )));
            }
        }
        let seed = Zeroizing::new(
            hexfmt::parse_fixed::<32>(&raw.secret_key)
                .map_err(|e| invalid(format!("secret_key is not 32 bytes of hex ({})", hex_error_without_value(&e))))?,
        );
        let key = KeyPair::from_seed(*seed, raw.purpose);
        let stored = PublicKey::parse(&raw.public_key).map_err(|e| invalid(format!("public_key: {e}")))?;
        if stored != key.public_key() {
            return Err(invalid(format!(
                "public_key {stored} does not belong to the secret key in the file (which gives {}); the file is damaged or was edited",
                key.public_key()
            )));
        }
        Ok(key)
    }
}

fn with_article(purpose: KeyPurpose) -> &'static str {
    match purpose {
        KeyPurpose::Node => "a node",
        KeyPurpose::Account => "an account",
    }
}

/// Describes a hex error on a secret without echoing the secret itself.
fn hex_error_without_value(error: &HexError) -> String {
    match error {
        HexError::WrongLength { expected, found, .. } => format!("expected {expected} hex digits, found {found}"),
        HexError::InvalidCharacter { position, .. } => format!("non-hex character at position {position}"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyFile {
    format: String,
    purpose: KeyPurpose,
    secret_key: String,
    public_key: String,
}

#[cold]
fn unreachable_secret_length() -> ! {
    // `SigningKey::to_bytes` always returns 32 bytes, the only length `try_from_bytes` checks.
    #[allow(clippy::panic)]
    {
        panic!("an ed25519 secret key is always 32 bytes")
    }
}

/// Failure to read or write a key file. Messages name the file and never the secret.
#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error("key file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("key file {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_strict() {
        let key = KeyPair::from_seed([7u8; 32], KeyPurpose::Account);
        let signature = key.sign(b"message");
        assert!(key.public_key().verify(b"message", &signature).is_ok());
        assert!(key.public_key().verify(b"other", &signature).is_err());
    }

    #[test]
    fn small_order_key_is_rejected() {
        // The identity point encodes as 0x01 followed by zeros and has order 1.
        let mut bytes = [0u8; 32];
        bytes[0] = 1;
        let err = PublicKey::parse(&hex::encode(bytes)).unwrap_err();
        assert!(err.to_string().contains("small order"), "{err}");
    }

    #[test]
    fn key_file_round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = KeyPair::generate(KeyPurpose::Node);
        key.write_file(&path).unwrap();

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let loaded = KeyPair::read_file(&path, Some(KeyPurpose::Node)).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert!(key.write_file(&path).is_err(), "an existing key file must not be replaced");
    }

    #[test]
    fn key_file_errors_name_file_not_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        let key = KeyPair::generate(KeyPurpose::Account);
        key.write_file(&path).unwrap();
        let secret = hex::encode(key.signing.to_bytes());

        let wrong_purpose = KeyPair::read_file(&path, Some(KeyPurpose::Node)).unwrap_err().to_string();
        assert!(wrong_purpose.contains("bad.key"), "{wrong_purpose}");
        assert!(wrong_purpose.contains("an account key"), "{wrong_purpose}");

        let text = fs::read_to_string(&path).unwrap();
        let other = KeyPair::generate(KeyPurpose::Account).public_key().to_hex();
        let tampered = text.replace(&key.public_key().to_hex(), &other);
        fs::write(&path, tampered).unwrap();
        let mismatch = KeyPair::read_file(&path, None).unwrap_err().to_string();
        assert!(mismatch.contains("does not belong"), "{mismatch}");
        assert!(!mismatch.contains(&secret));

        fs::write(&path, text.replace(&secret, &format!("{}zz", &secret[..62]))).unwrap();
        let bad_hex = KeyPair::read_file(&path, None).unwrap_err().to_string();
        assert!(bad_hex.contains("non-hex character at position 62"), "{bad_hex}");
        assert!(!bad_hex.contains(&secret[..62]));
    }

    #[test]
    fn debug_does_not_show_secret() {
        let key = KeyPair::from_seed([9u8; 32], KeyPurpose::Node);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&hex::encode([9u8; 32])));
    }

    #[test]
    fn peer_id_matches_libp2p_keypair() {
        let key = KeyPair::from_seed([3u8; 32], KeyPurpose::Node);
        assert_eq!(key.public_key().peer_id().unwrap(), key.libp2p_keypair().public().to_peer_id());
    }
}
