//! Golden bytes: the canonical encoding of every consensus message and record, and the
//! digests validators sign. A change here is a wire-format change and breaks mixed-version
//! networks, so it must be deliberate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use hashbridge_consensus::message::{view_change_digest, vote_digest};
use hashbridge_consensus::{
    Checkpoint, ConsensusMessage, NewView, PrePrepare, PreparedCertificate, Record, SignedMessage, Statement, Status,
    ViewChange, ViewChangeProof, Vote, VoteKind, VoteRecord,
};
use hashbridge_crypto::{Hash32, PublicKey, Signature};
use hashbridge_types::block::ValidatorSignature;
use hashbridge_types::codec;
use hashbridge_types::{Block, BlockHeader, VotePhase};

const KEY: PublicKey = PublicKey([0x11; 32]);
const SIGNATURE: Signature = Signature([0xaa; 64]);
const HASH: Hash32 = Hash32([0x22; 32]);

fn block() -> Block {
    Block {
        header: BlockHeader {
            height: 3,
            parent_hash: Hash32([0x33; 32]),
            timestamp_ms: 1_700_000_000_000,
            proposer: KEY,
            transaction_root: Hash32([0x44; 32]),
            transaction_count: 0,
            log_root: Hash32([0x55; 32]),
            log_size: 7,
            validator_set_hash: Hash32([0x66; 32]),
        },
        transactions: Vec::new(),
    }
}

fn certificate() -> PreparedCertificate {
    PreparedCertificate {
        height: 3,
        view: 1,
        block_hash: HASH,
        prepares: vec![ValidatorSignature { validator: KEY, signature: SIGNATURE }],
    }
}

fn signed(message: ConsensusMessage) -> SignedMessage {
    SignedMessage { sender: KEY, message, signature: SIGNATURE }
}

/// Hex of the encoding with runs of the fixed filler bytes shortened, so the table stays
/// readable: `11*32` is 32 bytes of 0x11.
fn pinned<T: bincode::Encode>(value: &T) -> String {
    let hex = hex::encode(codec::encode(value));
    let mut out = String::new();
    let bytes: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    let mut i = 0;
    while i < bytes.len() {
        let mut run = 1;
        while i + run < bytes.len() && bytes[i + run] == bytes[i] {
            run += 1;
        }
        if run >= 8 {
            out.push_str(&format!("[{}*{run}]", bytes[i]));
        } else {
            for _ in 0..run {
                out.push_str(bytes[i]);
            }
        }
        i += run;
    }
    out
}

#[test]
fn message_encodings_are_pinned() {
    let cases: Vec<(&str, SignedMessage, &str)> = vec![
        ("pre-prepare", signed(ConsensusMessage::PrePrepare(PrePrepare { height: 3, view: 1, block: block() })), "[11*32]00030103[33*32]fd0068e5cf8b010000[11*32][44*32]00[55*32]07[66*32]00[aa*64]"),
        ("prepare", signed(ConsensusMessage::Prepare(Vote { height: 3, view: 1, block_hash: HASH })), "[11*32]010301[22*32][aa*64]"),
        ("commit", signed(ConsensusMessage::Commit(Vote { height: 3, view: 1, block_hash: HASH })), "[11*32]020301[22*32][aa*64]"),
        ("view-change", signed(ConsensusMessage::ViewChange(ViewChange { height: 3, view: 2, prepared: Some(certificate()), block: Some(block()) })), "[11*32]030302010301[22*32]01[11*32][aa*64]0103[33*32]fd0068e5cf8b010000[11*32][44*32]00[55*32]07[66*32]00[aa*64]"),
        ("empty view-change", signed(ConsensusMessage::ViewChange(ViewChange { height: 3, view: 2, prepared: None, block: None })), "[11*32]0303020000[aa*64]"),
        ("new-view", signed(ConsensusMessage::NewView(NewView { height: 3, view: 2, view_changes: vec![ViewChangeProof { sender: KEY, prepared: Some(certificate()), signature: SIGNATURE }] })), "[11*32]04030201[11*32]010301[22*32]01[11*32][aa*192]"),
        ("checkpoint", signed(ConsensusMessage::Checkpoint(Checkpoint { height: 300, block_hash: HASH })), "[11*32]05fb2c01[22*32][aa*64]"),
        ("status", signed(ConsensusMessage::Status(Status { committed_height: 70_000, committed_hash: HASH })), "[11*32]06fc70110100[22*32][aa*64]"),
    ];
    for (name, message, expected) in cases {
        let actual = pinned(&message);
        assert_eq!(actual, expected, "encoding of {name} changed");
        let decoded = SignedMessage::decode(&message.encode()).unwrap();
        assert_eq!(decoded, message, "{name} round-trips");
    }
}

#[test]
fn record_encodings_are_pinned() {
    let cases: Vec<(&str, Record, &str)> = vec![
        ("vote", Record::Vote(VoteRecord { height: 3, view: 1, kind: VoteKind::Commit, block_hash: HASH }), "00030102[22*32]"),
        ("prepared", Record::Prepared { certificate: certificate(), block: block() }, "010301[22*32]01[11*32][aa*64]03[33*32]fd0068e5cf8b010000[11*32][44*32]00[55*32]07[66*32]00"),
        ("view", Record::View { height: 3, view: u64::MAX }, "0203fd[ff*8]"),
    ];
    for (name, record, expected) in cases {
        let actual = pinned(&record);
        assert_eq!(actual, expected, "encoding of record {name} changed");
        assert_eq!(codec::decode::<Record>(&codec::encode(&record)).unwrap(), record);
    }
}

#[test]
fn signed_digests_are_pinned() {
    let chain_id = "test-chain";
    let vote = Vote { height: 3, view: 1, block_hash: HASH };
    let cases: Vec<(&str, Hash32, &str)> = vec![
        ("prepare", vote_digest(chain_id, VotePhase::Prepare, &vote), "0acbbe9bdd121c8f4074b0a6af4f63bd724bad0a79faa459dc7cc548bae517de"),
        ("commit", vote_digest(chain_id, VotePhase::Commit, &vote), "c35610787c60a773aa99fa95f921eda3e84c9c4d31b0f032d880d4f673614840"),
        ("pre-prepare", Statement::PrePrepare { chain_id, height: 3, view: 1, block_hash: HASH }.digest(), "08dbc8ff97be13855a3e0e2d87a98bd9f7d5aa697d914c77abbfbfdb82040f4f"),
        ("view-change", view_change_digest(chain_id, 3, 2, Some(&certificate())), "8704b0dd89306a413ddad1e7f020fa11eb54604bd08402a55315d7089e82fc67"),
        ("checkpoint", Statement::Checkpoint { chain_id, height: 300, block_hash: HASH }.digest(), "c124a844783e9e4a1c0ba15b211210c050a340893e133a6e7d05b048be1c7dfc"),
    ];
    for (name, digest, expected) in cases {
        assert_eq!(digest.to_hex(), expected, "digest of {name} changed");
    }
    assert_ne!(vote_digest("other-chain", VotePhase::Commit, &vote), vote_digest(chain_id, VotePhase::Commit, &vote));
}

#[test]
fn malformed_bytes_never_decode_to_other_messages() {
    let message = signed(ConsensusMessage::Commit(Vote { height: 3, view: 1, block_hash: HASH }));
    let bytes = message.encode();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(SignedMessage::decode(&trailing).is_err());
    for cut in 0..bytes.len() {
        assert!(SignedMessage::decode(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    let mut unknown_variant = bytes.clone();
    unknown_variant[32] = 200;
    assert!(SignedMessage::decode(&unknown_variant).is_err());
}
