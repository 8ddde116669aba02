//! Transactions and the actions they carry.
//!
//! A transaction is a [`TransactionPayload`] signed by an account key. Its id is the
//! domain-tagged hash of the encoded payload, so the signature is not part of the id and a
//! second valid signature over the same payload is the same transaction.
//!
//! Replay protection needs no sequence counter: the payload carries a random 16-byte nonce
//! and a `valid_until` height. The ledger rejects an id it has already executed and any
//! transaction whose `valid_until` has passed. A back office can therefore sign from many
//! threads at once without coordinating a counter.

use bincode::{Decode, Encode};
use hashbridge_crypto::keys::SignatureError;
use hashbridge_crypto::{Domain, Hash32, KeyPair, PublicKey, Signature};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{self, Canonical};

/// Largest encoded transaction accepted anywhere.
pub const MAX_TRANSACTION_BYTES: usize = 256 * 1024;
/// Largest number of anchors in one `AnchorBatch`.
pub const MAX_BATCH_ANCHORS: usize = 1000;
/// Largest number of metadata entries on one anchor.
pub const MAX_METADATA_ENTRIES: usize = 8;
/// Maximum metadata key length, in bytes.
pub const MAX_METADATA_KEY_BYTES: usize = 32;
/// Maximum metadata value length, in bytes.
pub const MAX_METADATA_VALUE_BYTES: usize = 128;
/// Maximum report kind length, in bytes.
pub const MAX_REPORT_KIND_BYTES: usize = 64;
/// Maximum chain id length, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;

/// A random value that makes each transaction payload unique. Serializes as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Encode, Decode)]
pub struct Nonce(pub [u8; 16]);

impl Nonce {
    /// Draws a nonce from the operating system's random source.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Nonce(bytes)
    }
}

impl Serialize for Nonce {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Nonce {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        hashbridge_crypto::hexfmt::parse_fixed::<16>(&text).map(Nonce).map_err(serde::de::Error::custom)
    }
}

/// One key-value pair of anchor metadata, such as an issuer's internal report reference.
///
/// Metadata leaves the institution and is public to every member of the chain, so it must
/// never contain personal data or report content. Its size is bounded to keep it to references.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataEntry {
    pub key: String,
    pub value: String,
}

/// The registration of one report commitment.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorRecord {
    /// The salted (or explicitly unsalted) commitment of the report.
    pub commitment: Hash32,
    /// Report kind, such as `credit.personal`, in lowercase `a-z 0-9 . _ -`.
    pub kind: String,
    /// When the issuer issued the report, in milliseconds since the Unix epoch.
    pub issued_at_ms: u64,
    /// When the report stops being valid, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub expires_at_ms: Option<u64>,
    #[serde(default)]
    pub metadata: Vec<MetadataEntry>,
}

/// Reason an issuer revoked a report.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// The report was issued by mistake.
    IssuedInError,
    /// The issuer withdrew the report.
    Withdrawn,
    /// The subject disputes the report and it is suspended.
    Disputed,
    /// The report was obtained or produced fraudulently.
    Fraud,
    /// Another reason, recorded by the issuer off-chain.
    Other,
}

/// The operation a transaction performs. New variants are only ever appended, so existing encodings
/// never change when governance actions are added.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Anchors one commitment.
    Anchor(AnchorRecord),
    /// Anchors many commitments under one signature; all or none are accepted.
    AnchorBatch { anchors: Vec<AnchorRecord> },
    /// Marks an anchored commitment as revoked.
    Revoke { commitment: Hash32, reason: RevocationReason },
    /// Anchors `replacement` and marks `old` as superseded by it.
    Supersede { old: Hash32, replacement: AnchorRecord },
}

impl Action {
    /// The anchors this action registers.
    pub fn new_anchors(&self) -> &[AnchorRecord] {
        match self {
            Action::Anchor(record) => std::slice::from_ref(record),
            Action::AnchorBatch { anchors } => anchors,
            Action::Revoke { .. } => &[],
            Action::Supersede { replacement, .. } => std::slice::from_ref(replacement),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Action::Anchor(_) => "anchor",
            Action::AnchorBatch { .. } => "anchor_batch",
            Action::Revoke { .. } => "revoke",
            Action::Supersede { .. } => "supersede",
        }
    }
}

/// The signed part of a transaction.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransactionPayload {
    pub chain_id: String,
    /// The account key of the sending institution.
    pub sender: PublicKey,
    pub nonce: Nonce,
    /// The last block height at which this transaction may be included.
    pub valid_until: u64,
    pub action: Action,
}

/// A signed transaction.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    pub payload: TransactionPayload,
    pub signature: Signature,
}

impl Canonical for Transaction {
    const MAX_ENCODED_BYTES: usize = MAX_TRANSACTION_BYTES;
    const NAME: &'static str = "transaction";
}

impl Canonical for TransactionPayload {
    const MAX_ENCODED_BYTES: usize = MAX_TRANSACTION_BYTES;
    const NAME: &'static str = "transaction payload";
}

/// Reason a transaction is malformed, independent of chain state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransactionError {
    #[error("transaction is for chain {found:?}, but this node runs chain {expected:?}")]
    WrongChain { expected: String, found: String },
    #[error("transaction signature is invalid: {0}")]
    BadSignature(#[from] SignatureError),
    #[error("transaction is {found} bytes, more than the {max} bytes allowed")]
    TooLarge { found: usize, max: usize },
    #[error("{field} is invalid: {reason}")]
    InvalidField { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> TransactionError {
    TransactionError::InvalidField { field: field.into(), reason: reason.into() }
}

impl TransactionPayload {
    /// The transaction id: the domain-tagged hash of the encoded payload.
    pub fn id(&self) -> Hash32 {
        Domain::TransactionId.hash(&codec::encode(self))
    }

    /// Signs the payload with an account key.
    pub fn sign(self, key: &KeyPair) -> Transaction {
        let signature = key.sign(signing_message(&self.id()).as_bytes());
        Transaction { payload: self, signature }
    }

    /// Checks every bound that does not depend on chain state.
    pub fn check_well_formed(&self) -> Result<(), TransactionError> {
        check_chain_id(&self.chain_id)?;
        match &self.action {
            Action::Anchor(record) => check_anchor(record, "action"),
            Action::AnchorBatch { anchors } => {
                if anchors.is_empty() {
                    return Err(invalid("action.anchors", "an anchor batch needs at least one anchor"));
                }
                if anchors.len() > MAX_BATCH_ANCHORS {
                    return Err(invalid(
                        "action.anchors",
                        format!("{} anchors, more than the {MAX_BATCH_ANCHORS} allowed in one batch; split the batch", anchors.len()),
                    ));
                }
                let mut seen = std::collections::HashSet::new();
                for (i, record) in anchors.iter().enumerate() {
                    check_anchor(record, &format!("action.anchors[{i}]"))?;
                    if !seen.insert(record.commitment) {
                        return Err(invalid(
                            format!("action.anchors[{i}].commitment"),
                            format!("commitment {} appears twice in the batch", record.commitment),
                        ));
                    }
                }
                Ok(())
            }
            Action::Revoke { .. } => Ok(()),
            Action::Supersede { old, replacement } => {
                check_anchor(replacement, "action.replacement")?;
                if *old == replacement.commitment {
                    return Err(invalid("action.replacement.commitment", "a report cannot supersede itself"));
                }
                Ok(())
            }
        }
    }
}

/// The 32-byte message an account key signs for a transaction id.
fn signing_message(id: &Hash32) -> Hash32 {
    Domain::TransactionSignature.hash(id.as_bytes())
}

impl Transaction {
    pub fn id(&self) -> Hash32 {
        self.payload.id()
    }

    pub fn encoded_len(&self) -> usize {
        codec::encode(self).len()
    }

    /// Checks the chain id, size, field bounds and signature. State checks (roles, replay,
    /// validity window) belong to the ledger.
    pub fn verify(&self, chain_id: &str) -> Result<Hash32, TransactionError> {
        if self.payload.chain_id != chain_id {
            return Err(TransactionError::WrongChain {
                expected: chain_id.to_string(),
                found: self.payload.chain_id.clone(),
            });
        }
        let size = self.encoded_len();
        if size > MAX_TRANSACTION_BYTES {
            return Err(TransactionError::TooLarge { found: size, max: MAX_TRANSACTION_BYTES });
        }
        self.payload.check_well_formed()?;
        let id = self.id();
        self.payload.sender.verify(signing_message(&id).as_bytes(), &self.signature)?;
        Ok(id)
    }
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks a chain id: 1 to 64 characters of lowercase `a-z 0-9 . _ -`.
pub fn check_chain_id(chain_id: &str) -> Result<(), TransactionError> {
    if chain_id.len() > MAX_CHAIN_ID_BYTES || !is_identifier(chain_id) {
        return Err(invalid(
            "chain_id",
            format!("{chain_id:?} must be 1 to {MAX_CHAIN_ID_BYTES} characters of lowercase a-z, 0-9, '.', '_' or '-'"),
        ));
    }
    Ok(())
}

/// Checks a report kind: 1 to 64 characters of lowercase `a-z 0-9 . _ -`.
pub fn check_report_kind(kind: &str) -> Result<(), TransactionError> {
    if kind.len() > MAX_REPORT_KIND_BYTES || !is_identifier(kind) {
        return Err(invalid(
            "kind",
            format!("{kind:?} must be 1 to {MAX_REPORT_KIND_BYTES} characters of lowercase a-z, 0-9, '.', '_' or '-', such as credit.personal"),
        ));
    }
    Ok(())
}

fn check_anchor(record: &AnchorRecord, field: &str) -> Result<(), TransactionError> {
    check_report_kind(&record.kind).map_err(|e| match e {
        TransactionError::InvalidField { reason, .. } => invalid(format!("{field}.kind"), reason),
        other => other,
    })?;
    if let Some(expires) = record.expires_at_ms {
        if expires <= record.issued_at_ms {
            return Err(invalid(
                format!("{field}.expires_at_ms"),
                format!("expiry {expires} is not after the issue time {}", record.issued_at_ms),
            ));
        }
    }
    if record.metadata.len() > MAX_METADATA_ENTRIES {
        return Err(invalid(
            format!("{field}.metadata"),
            format!("{} entries, more than the {MAX_METADATA_ENTRIES} allowed", record.metadata.len()),
        ));
    }
    for (i, entry) in record.metadata.iter().enumerate() {
        if entry.key.len() > MAX_METADATA_KEY_BYTES || !is_identifier(&entry.key) {
            return Err(invalid(
                format!("{field}.metadata[{i}].key"),
                format!("{:?} must be 1 to {MAX_METADATA_KEY_BYTES} characters of lowercase a-z, 0-9, '.', '_' or '-'", entry.key),
            ));
        }
        if entry.value.len() > MAX_METADATA_VALUE_BYTES || entry.value.chars().any(char::is_control) {
            return Err(invalid(
                format!("{field}.metadata[{i}].value"),
                format!("must be at most {MAX_METADATA_VALUE_BYTES} bytes with no control characters"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashbridge_crypto::keys::KeyPurpose;

    pub(crate) fn sample_record(byte: u8) -> AnchorRecord {
        AnchorRecord {
            commitment: Hash32([byte; 32]),
            kind: "credit.personal".into(),
            issued_at_ms: 1_700_000_000_000,
            expires_at_ms: Some(1_800_000_000_000),
            metadata: vec![MetadataEntry { key: "ref".into(), value: "R-1".into() }],
        }
    }

    fn sample_payload(key: &KeyPair) -> TransactionPayload {
        TransactionPayload {
            chain_id: "test-chain".into(),
            sender: key.public_key(),
            nonce: Nonce([1u8; 16]),
            valid_until: 100,
            action: Action::Anchor(sample_record(0xab)),
        }
    }

    #[test]
    fn signed_transaction_verifies() {
        let key = KeyPair::from_seed([1u8; 32], KeyPurpose::Account);
        let tx = sample_payload(&key).sign(&key);
        assert_eq!(tx.verify("test-chain").unwrap(), tx.id());
        assert!(matches!(tx.verify("other-chain"), Err(TransactionError::WrongChain { .. })));
    }

    #[test]
    fn tampered_transaction_fails() {
        let key = KeyPair::from_seed([1u8; 32], KeyPurpose::Account);
        let mut tx = sample_payload(&key).sign(&key);
        tx.payload.valid_until += 1;
        assert!(matches!(tx.verify("test-chain"), Err(TransactionError::BadSignature(_))));
    }

    #[test]
    fn id_ignores_signature() {
        let key = KeyPair::from_seed([1u8; 32], KeyPurpose::Account);
        let mut tx = sample_payload(&key).sign(&key);
        let id = tx.id();
        tx.signature = Signature([0u8; 64]);
        assert_eq!(tx.id(), id);
    }

    #[test]
    fn bounds_are_checked() {
        let key = KeyPair::from_seed([1u8; 32], KeyPurpose::Account);
        let mut payload = sample_payload(&key);
        payload.action = Action::AnchorBatch { anchors: vec![sample_record(1), sample_record(1)] };
        let err = payload.check_well_formed().unwrap_err().to_string();
        assert!(err.contains("appears twice"), "{err}");

        let mut record = sample_record(2);
        record.kind = "Credit Report".into();
        payload.action = Action::Anchor(record);
        let err = payload.check_well_formed().unwrap_err().to_string();
        assert!(err.starts_with("action.kind is invalid"), "{err}");

        let mut record = sample_record(3);
        record.metadata = (0..9).map(|i| MetadataEntry { key: format!("k{i}"), value: "v".into() }).collect();
        payload.action = Action::Anchor(record);
        assert!(payload.check_well_formed().is_err());

        payload.action = Action::Supersede { old: Hash32([4; 32]), replacement: sample_record(4) };
        assert!(payload.check_well_formed().is_err());
    }

    #[test]
    fn json_form_is_tagged() {
        let key = KeyPair::from_seed([1u8; 32], KeyPurpose::Account);
        let tx = sample_payload(&key).sign(&key);
        let json = serde_json::to_value(&tx).unwrap();
        assert_eq!(json["payload"]["action"]["type"], "anchor");
        let back: Transaction = serde_json::from_value(json).unwrap();
        assert_eq!(back, tx);
    }
}
