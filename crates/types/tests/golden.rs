//! Golden-byte tests: the canonical encoding of every hashed, signed, sent or stored type
//! is pinned to a hex file under `tests/golden/`. A change to any encoding fails here.
//! After an intended format change, regenerate the files with `UPDATE_GOLDEN=1` and
//! review the diff.

use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::{Hash32, KeyPair};
use hashbridge_types::codec::{self, Canonical};
use hashbridge_types::*;

fn check<T: Canonical + std::fmt::Debug + PartialEq>(name: &str, value: &T) {
    let bytes = codec::encode(value);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.hex"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{}\n", hex::encode(&bytes))).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(hex::encode(&bytes), expected.trim(), "encoding of {name} changed");
    let decoded: T = codec::decode(&bytes).unwrap();
    assert_eq!(&decoded, value, "{name} does not round-trip");
}

fn key(seed: u8) -> KeyPair {
    KeyPair::from_seed([seed; 32], KeyPurpose::Account)
}

fn record() -> AnchorRecord {
    AnchorRecord {
        commitment: Hash32([0xab; 32]),
        kind: "credit.personal".into(),
        issued_at_ms: 1_764_460_800_000,
        expires_at_ms: Some(1_796_000_000_000),
        metadata: vec![MetadataEntry { key: "ref".into(), value: "SCS-2026-000123".into() }],
    }
}

fn transaction(action: Action) -> Transaction {
    let signer = key(1);
    TransactionPayload { chain_id: "hashbridge-szhk".into(), sender: signer.public_key(), nonce: Nonce([7; 16]), valid_until: 1000, action }.sign(&signer)
}

fn header() -> BlockHeader {
    BlockHeader {
        height: 42,
        parent_hash: Hash32([1; 32]),
        timestamp_ms: 1_764_460_800_123,
        proposer: KeyPair::from_seed([9; 32], KeyPurpose::Node).public_key(),
        transaction_root: Hash32([2; 32]),
        transaction_count: 1,
        log_root: Hash32([3; 32]),
        log_size: 17,
        validator_set_hash: Hash32([4; 32]),
    }
}

fn certificate() -> CommitCertificate {
    let validator = KeyPair::from_seed([9; 32], KeyPurpose::Node);
    CommitCertificate {
        height: 42,
        view: 1,
        block_hash: header().hash(),
        signatures: vec![ValidatorSignature { validator: validator.public_key(), signature: validator.sign(b"golden") }],
    }
}

#[test]
fn transaction_encodings() {
    check("transaction_anchor", &transaction(Action::Anchor(record())));
    check("transaction_anchor_batch", &transaction(Action::AnchorBatch { anchors: vec![record(), AnchorRecord { commitment: Hash32([0xcd; 32]), expires_at_ms: None, metadata: vec![], ..record() }] }));
    check("transaction_revoke", &transaction(Action::Revoke { commitment: Hash32([0xab; 32]), reason: RevocationReason::Withdrawn }));
    check("transaction_supersede", &transaction(Action::Supersede { old: Hash32([0xab; 32]), replacement: AnchorRecord { commitment: Hash32([0xef; 32]), ..record() } }));
}

#[test]
fn transaction_id_is_pinned() {
    let tx = transaction(Action::Anchor(record()));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/transaction_anchor.id");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{}\n", tx.id())).unwrap();
    }
    assert_eq!(tx.id().to_hex(), std::fs::read_to_string(&path).unwrap().trim());
}

#[test]
fn block_encodings() {
    let block = Block { header: header(), transactions: vec![transaction(Action::Anchor(record()))] };
    check("block_header", &header());
    check("block", &block);
    check("commit_certificate", &certificate());
    check("certified_block", &CertifiedBlock { block, certificate: certificate() });
}

#[test]
fn ledger_encodings() {
    check("transaction_location", &TransactionLocation { height: 42, index: 3, result: ResultCode::DuplicateCommitment });
    let state = AnchorState {
        record: record(),
        issuer: "sz-credit".into(),
        sender: key(1).public_key(),
        height: 42,
        block_time_ms: 1_764_460_800_123,
        transaction_id: Hash32([5; 32]),
        log_index: 16,
        status: AnchorStatus::Superseded { by: Hash32([0xef; 32]), height: 50, transaction_id: Hash32([6; 32]) },
    };
    check("anchor_state", &state);
    let entry = LogEntry {
        height: 42,
        block_time_ms: 1_764_460_800_123,
        transaction_id: Hash32([5; 32]),
        event: LogEvent::Anchored { commitment: Hash32([0xab; 32]), issuer: "sz-credit".into(), kind: "credit.personal".into(), issued_at_ms: 1, expires_at_ms: None },
    };
    check("log_entry", &entry);
    check("log_entry_revoked", &LogEntry { event: LogEvent::Revoked { commitment: Hash32([0xab; 32]), reason: RevocationReason::Fraud }, ..entry.clone() });
    check("log_entry_superseded", &LogEntry { event: LogEvent::Superseded { old: Hash32([0xab; 32]), new: Hash32([0xef; 32]) }, ..entry });
}
