//! Consensus messages, their canonical encoding and the digests validators sign.
//!
//! Every message travels as a [`SignedMessage`]: the sender's validator key, the message and
//! an ed25519 signature over a 32-byte digest that includes the chain id.
//! - Prepare and Commit votes sign [`VoteStatement::digest`] (domain [`Domain::Vote`]), so a
//!   quorum of Commit signatures is directly a [`hashbridge_types::CommitCertificate`].
//! - Every other message signs the [`Domain::ConsensusMessage`] hash of a compact
//!   [`Statement`]. A PrePrepare signs the block hash rather than the block, because the
//!   header commits to the body through `transaction_root`, which every receiver re-derives.
//!
//! A message never nests another [`SignedMessage`], so decoding has a fixed depth and a
//! forged input cannot exhaust the stack.

use bincode::{Decode, Encode};
use hashbridge_crypto::{Domain, Hash32, PublicKey, Signature};
use hashbridge_types::block::{ValidatorSignature, MAX_BLOCK_BYTES};
use hashbridge_types::codec::{self, Canonical};
use hashbridge_types::{Block, VotePhase, VoteStatement};

/// A Prepare or Commit vote; the phase comes from the message variant that carries it.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Vote {
    pub height: u64,
    pub view: u64,
    pub block_hash: Hash32,
}

/// The leader's proposal for a height and view.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct PrePrepare {
    pub height: u64,
    pub view: u64,
    pub block: Block,
}

/// Proof that a block was prepared: quorum-weight Prepare signatures over
/// `VoteStatement { phase: Prepare, height, view, block_hash }`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct PreparedCertificate {
    pub height: u64,
    pub view: u64,
    pub block_hash: Hash32,
    pub prepares: Vec<ValidatorSignature>,
}

/// A request to move the current height to `view`, carrying the sender's highest prepared
/// certificate at this height and the block it prepared.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct ViewChange {
    pub height: u64,
    pub view: u64,
    pub prepared: Option<PreparedCertificate>,
    /// The block that `prepared` certifies; present exactly when `prepared` is.
    pub block: Option<Block>,
}

/// A ViewChange as the new leader relays it inside a NewView: the block is left out, and the
/// signature still verifies because it covers only the certificate's view and block hash.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct ViewChangeProof {
    pub sender: PublicKey,
    pub prepared: Option<PreparedCertificate>,
    pub signature: Signature,
}

/// The new leader's announcement of `view`, proven by quorum-weight ViewChange messages.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct NewView {
    pub height: u64,
    pub view: u64,
    pub view_changes: Vec<ViewChangeProof>,
}

/// A validator's statement that it committed `block_hash` at `height`, sent every
/// checkpoint interval.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Checkpoint {
    pub height: u64,
    pub block_hash: Hash32,
}

/// The sender's committed height, sent to a peer whose messages show it is behind.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct Status {
    pub committed_height: u64,
    pub committed_hash: Hash32,
}

/// Every message the consensus core sends or receives. Variants are only ever appended.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub enum ConsensusMessage {
    PrePrepare(PrePrepare),
    Prepare(Vote),
    Commit(Vote),
    ViewChange(ViewChange),
    NewView(NewView),
    Checkpoint(Checkpoint),
    Status(Status),
}

/// A message with its sender and the sender's signature.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode)]
pub struct SignedMessage {
    pub sender: PublicKey,
    pub message: ConsensusMessage,
    pub signature: Signature,
}

impl Canonical for SignedMessage {
    /// One block plus room for a NewView's certificates.
    const MAX_ENCODED_BYTES: usize = MAX_BLOCK_BYTES + 4 * 1024 * 1024;
    const NAME: &'static str = "consensus message";
}

/// The statement a validator signs for a message other than a Prepare or Commit vote.
#[derive(Clone, PartialEq, Eq, Debug, Encode)]
pub enum Statement<'a> {
    PrePrepare { chain_id: &'a str, height: u64, view: u64, block_hash: Hash32 },
    ViewChange { chain_id: &'a str, height: u64, view: u64, prepared: Option<(u64, Hash32)> },
    NewView { chain_id: &'a str, height: u64, view: u64, view_changes_hash: Hash32 },
    Checkpoint { chain_id: &'a str, height: u64, block_hash: Hash32 },
    Status { chain_id: &'a str, committed_height: u64, committed_hash: Hash32 },
}

impl Statement<'_> {
    /// Computes the 32-byte digest that is signed.
    pub fn digest(&self) -> Hash32 {
        Domain::ConsensusMessage.hash(&codec::encode(self))
    }
}

/// Computes the digest a Prepare or Commit vote signs.
pub fn vote_digest(chain_id: &str, phase: VotePhase, vote: &Vote) -> Hash32 {
    VoteStatement { chain_id, phase, height: vote.height, view: vote.view, block_hash: vote.block_hash }.digest()
}

/// Computes the digest a ViewChange signs. A relayed [`ViewChangeProof`] verifies against
/// the same digest.
pub fn view_change_digest(chain_id: &str, height: u64, view: u64, prepared: Option<&PreparedCertificate>) -> Hash32 {
    let prepared = prepared.map(|certificate| (certificate.view, certificate.block_hash));
    Statement::ViewChange { chain_id, height, view, prepared }.digest()
}

impl ConsensusMessage {
    /// Computes the digest the sender signs for this message under `chain_id`.
    pub fn digest(&self, chain_id: &str) -> Hash32 {
        match self {
            ConsensusMessage::PrePrepare(p) => {
                Statement::PrePrepare { chain_id, height: p.height, view: p.view, block_hash: p.block.hash() }.digest()
            }
            ConsensusMessage::Prepare(vote) => vote_digest(chain_id, VotePhase::Prepare, vote),
            ConsensusMessage::Commit(vote) => vote_digest(chain_id, VotePhase::Commit, vote),
            ConsensusMessage::ViewChange(v) => view_change_digest(chain_id, v.height, v.view, v.prepared.as_ref()),
            ConsensusMessage::NewView(n) => {
                let view_changes_hash = Domain::ConsensusMessage.hash(&codec::encode(&n.view_changes));
                Statement::NewView { chain_id, height: n.height, view: n.view, view_changes_hash }.digest()
            }
            ConsensusMessage::Checkpoint(c) => {
                Statement::Checkpoint { chain_id, height: c.height, block_hash: c.block_hash }.digest()
            }
            ConsensusMessage::Status(s) => Statement::Status {
                chain_id,
                committed_height: s.committed_height,
                committed_hash: s.committed_hash,
            }
            .digest(),
        }
    }

    /// Returns the height the message is about.
    pub fn height(&self) -> u64 {
        match self {
            ConsensusMessage::PrePrepare(p) => p.height,
            ConsensusMessage::Prepare(vote) | ConsensusMessage::Commit(vote) => vote.height,
            ConsensusMessage::ViewChange(v) => v.height,
            ConsensusMessage::NewView(n) => n.height,
            ConsensusMessage::Checkpoint(c) => c.height,
            ConsensusMessage::Status(s) => s.committed_height,
        }
    }

    /// Returns the view the message is about. Checkpoints and status messages have none.
    pub fn view(&self) -> Option<u64> {
        match self {
            ConsensusMessage::PrePrepare(p) => Some(p.view),
            ConsensusMessage::Prepare(vote) | ConsensusMessage::Commit(vote) => Some(vote.view),
            ConsensusMessage::ViewChange(v) => Some(v.view),
            ConsensusMessage::NewView(n) => Some(n.view),
            ConsensusMessage::Checkpoint(_) | ConsensusMessage::Status(_) => None,
        }
    }

    /// Returns a short lowercase name for diagnostics.
    pub fn kind(&self) -> &'static str {
        match self {
            ConsensusMessage::PrePrepare(_) => "pre-prepare",
            ConsensusMessage::Prepare(_) => "prepare",
            ConsensusMessage::Commit(_) => "commit",
            ConsensusMessage::ViewChange(_) => "view-change",
            ConsensusMessage::NewView(_) => "new-view",
            ConsensusMessage::Checkpoint(_) => "checkpoint",
            ConsensusMessage::Status(_) => "status",
        }
    }
}

impl SignedMessage {
    /// Encodes the message in its canonical form.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a message strictly: size limit, no trailing bytes, canonical form.
    pub fn decode(bytes: &[u8]) -> Result<Self, codec::CodecError> {
        codec::decode(bytes)
    }
}
