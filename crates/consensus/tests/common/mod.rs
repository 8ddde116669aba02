//! A harness that drives one core with messages signed by the other validators and
//! describes the returned actions as short strings, so tests can list them in tables.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use hashbridge_consensus::{
    Action, CommittedTip, MessageError, Config, ConsensusMessage, Core, Destination, Ed25519Signer, Ed25519Verifier, Input,
    PreparedCertificate, Record, SignedMessage, Start, Vote,
};
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::{Domain, Hash32, KeyPair, PublicKey, Signature};
use hashbridge_types::block::{transaction_root, ValidatorSignature};
use hashbridge_types::transaction::{AnchorRecord, Nonce};
use hashbridge_types::{
    Block, BlockHeader, CommitCertificate, Transaction, TransactionPayload, Validator, ValidatorSet, VotePhase,
    VoteStatement,
};

pub const CHAIN_ID: &str = "test-chain";
pub const GENESIS_MS: u64 = 1_000_000;
pub const NOW_MS: u64 = 1_000_500;

/// One step of a transition table: the PBFT paper section it follows, the input, and the
/// actions it must produce, in order.
pub struct Step {
    pub section: &'static str,
    pub fact: &'static str,
    pub input: Input,
    pub expected: Vec<&'static str>,
}

pub fn step(section: &'static str, fact: &'static str, input: Input, expected: &[&'static str]) -> Step {
    Step { section, fact, input, expected: expected.to_vec() }
}

pub struct Harness {
    pub keys: Vec<KeyPair>,
    pub validators: ValidatorSet,
    pub me: usize,
    pub core: Core<Ed25519Signer, Ed25519Verifier>,
    pub genesis: CommittedTip,
}

pub fn keys() -> Vec<KeyPair> {
    (0..4u8).map(|i| KeyPair::from_seed([i + 1; 32], KeyPurpose::Node)).collect()
}

pub fn genesis() -> CommittedTip {
    CommittedTip { height: 0, hash: Domain::Genesis.hash(CHAIN_ID.as_bytes()), timestamp_ms: GENESIS_MS }
}

pub fn config(keys: &[KeyPair], me: usize) -> Config {
    let validators = ValidatorSet::new(keys.iter().map(|k| Validator { public_key: k.public_key(), weight: 1 }).collect());
    Config {
        chain_id: CHAIN_ID.into(),
        validators,
        local_key: keys[me].public_key(),
        leader_period: 1,
        consensus_timeout_ms: 1000,
        max_consensus_timeout_ms: 8000,
        checkpoint_interval: 2,
        max_clock_drift_ms: 1000,
        max_block_transactions: 10,
        max_block_bytes: 1 << 20,
    }
}

impl Harness {
    /// A core for validator `me` at genesis with no records; returns its start actions too.
    pub fn new(me: usize) -> (Self, Vec<String>) {
        Harness::restore(me, genesis(), Vec::new(), 0)
    }

    pub fn restore(me: usize, tip: CommittedTip, records: Vec<Record>, vote_floor: u64) -> (Self, Vec<String>) {
        let keys = keys();
        let config = config(&keys, me);
        let validators = config.validators.clone();
        let signer = Ed25519Signer::new(keys[me].clone());
        let (core, actions) = Core::new(config, signer, Ed25519Verifier, Start { tip, records, vote_floor }).unwrap();
        let harness = Harness { keys, validators, me, core, genesis: genesis() };
        let described = harness.describe_all(&actions);
        (harness, described)
    }

    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        self.core.handle(input)
    }

    /// Applies each step and checks its actions, naming the step on failure.
    pub fn run(&mut self, steps: Vec<Step>) {
        for (index, step) in steps.into_iter().enumerate() {
            let actions = self.core.handle(step.input);
            let described = self.describe_all(&actions);
            assert_eq!(
                described, step.expected,
                "step {index} ({}: {}) produced unexpected actions",
                step.section, step.fact
            );
        }
    }

    pub fn key(&self, index: usize) -> PublicKey {
        self.keys[index].public_key()
    }

    pub fn sign(&self, from: usize, message: ConsensusMessage) -> SignedMessage {
        let signature = self.keys[from].sign(message.digest(CHAIN_ID).as_bytes());
        SignedMessage { sender: self.key(from), message, signature }
    }

    pub fn message(&self, from: usize, message: ConsensusMessage) -> Input {
        Input::Message { message: self.sign(from, message), now_ms: NOW_MS }
    }

    pub fn block(&self, height: u64, parent_hash: Hash32, proposer: usize, salt: u8) -> Block {
        let transactions = vec![transaction(salt)];
        let header = BlockHeader {
            height,
            parent_hash,
            timestamp_ms: GENESIS_MS + height * 10 + u64::from(salt),
            proposer: self.key(proposer),
            transaction_root: transaction_root(&transactions),
            transaction_count: 1,
            log_root: Hash32([salt; 32]),
            log_size: height,
            validator_set_hash: self.validators.hash(),
        };
        Block { header, transactions }
    }

    pub fn vote_signature(&self, from: usize, phase: VotePhase, height: u64, view: u64, hash: Hash32) -> ValidatorSignature {
        let digest = VoteStatement { chain_id: CHAIN_ID, phase, height, view, block_hash: hash }.digest();
        ValidatorSignature { validator: self.key(from), signature: self.keys[from].sign(digest.as_bytes()) }
    }

    pub fn prepared(&self, height: u64, view: u64, hash: Hash32, signers: &[usize]) -> PreparedCertificate {
        let prepares = signers.iter().map(|s| self.vote_signature(*s, VotePhase::Prepare, height, view, hash)).collect();
        PreparedCertificate { height, view, block_hash: hash, prepares }
    }

    pub fn commit_certificate(&self, height: u64, view: u64, hash: Hash32, signers: &[usize]) -> CommitCertificate {
        let signatures = signers.iter().map(|s| self.vote_signature(*s, VotePhase::Commit, height, view, hash)).collect();
        CommitCertificate { height, view, block_hash: hash, signatures }
    }

    pub fn prepare(&self, from: usize, height: u64, view: u64, hash: Hash32) -> Input {
        self.message(from, ConsensusMessage::Prepare(Vote { height, view, block_hash: hash }))
    }

    pub fn commit(&self, from: usize, height: u64, view: u64, hash: Hash32) -> Input {
        self.message(from, ConsensusMessage::Commit(Vote { height, view, block_hash: hash }))
    }

    fn name(&self, key: &PublicKey) -> String {
        match self.keys.iter().position(|k| k.public_key() == *key) {
            Some(index) => format!("v{index}"),
            None => key.short(),
        }
    }

    pub fn describe_all(&self, actions: &[Action]) -> Vec<String> {
        actions.iter().map(|a| self.describe(a)).collect()
    }

    pub fn describe(&self, action: &Action) -> String {
        match action {
            Action::Send(out) => format!("send {} to {}", describe_message(&out.message.message), self.destination(&out.to)),
            Action::PersistThenSend { records, message, .. } => format!(
                "persist {} then send {} to {}",
                describe_records(records),
                describe_message(&message.message.message),
                self.destination(&message.to)
            ),
            Action::Persist { records, .. } => format!("persist {}", describe_records(records)),
            Action::PruneRecords { below_height } => format!("prune below h{below_height}"),
            Action::StartTimer { height, view, duration_ms, .. } => format!("start timer h{height} v{view} {duration_ms}ms"),
            Action::CancelTimer { .. } => "cancel timer".into(),
            Action::BuildProposal { height, view, .. } => format!("build h{height} v{view}"),
            Action::ValidateProposal { height, view, .. } => format!("validate h{height} v{view}"),
            Action::CommitBlock { block, certificate } => format!("commit h{} v{}", block.height(), certificate.view),
            Action::FetchBlocks { from_height, peer } => format!("fetch from h{from_height} at {}", self.name(peer)),
            Action::ReportEquivocation(evidence) => format!(
                "evidence {} against {}",
                evidence.second.message.kind(),
                self.name(&evidence.second.sender)
            ),
            Action::Rejected(MessageError::InvalidProposal { reason, .. }) => format!("rejected proposal {}", variant(reason)),
            Action::Rejected(error) => format!("rejected {}", variant(error)),
        }
    }

    fn destination(&self, to: &Destination) -> String {
        match to {
            Destination::Broadcast => "all".into(),
            Destination::Peer(key) => self.name(key),
        }
    }
}

/// Returns the variant name of an error, such as `WrongParent`.
fn variant(error: &impl std::fmt::Debug) -> String {
    let text = format!("{error:?}");
    text.split([' ', '{', '(']).next().unwrap_or_default().to_string()
}

fn describe_message(message: &ConsensusMessage) -> String {
    match message.view() {
        Some(view) => format!("{} h{} v{view}", message.kind(), message.height()),
        None => format!("{} h{}", message.kind(), message.height()),
    }
}

fn describe_records(records: &[Record]) -> String {
    let kinds: Vec<&str> = records
        .iter()
        .map(|record| match record {
            Record::Vote(_) => "vote",
            Record::Prepared { .. } => "prepared",
            Record::View { .. } => "view",
        })
        .collect();
    format!("[{}]", kinds.join(", "))
}

pub fn transaction(salt: u8) -> Transaction {
    let payload = TransactionPayload {
        chain_id: CHAIN_ID.into(),
        sender: PublicKey([9; 32]),
        nonce: Nonce([salt; 16]),
        valid_until: 100,
        action: hashbridge_types::Action::Anchor(AnchorRecord {
            commitment: Hash32([salt; 32]),
            kind: "credit.personal".into(),
            issued_at_ms: 1,
            expires_at_ms: None,
            metadata: Vec::new(),
        }),
    };
    Transaction { payload, signature: Signature([0; 64]) }
}
