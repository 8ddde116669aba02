//! The PBFT consensus core of Hashbridge.
//!
//! # What it owns
//! [`Core`] decides one block per height with PBFT (Castro and Liskov, "Practical Byzantine
//! Fault Tolerance", OSDI 1999) in the variant FISCO BCOS runs. Quorums go by validator
//! weight (`f = (W - 1) / 3`, quorum `W - f`). The leader is
//! `(height / leader_period + view) mod n` over the genesis validator order, and views count
//! from 0 at each height. The view timer grows 1.5x per failed view up to a cap and runs
//! only while work is waiting. The core
//! owns the vote guard (and through it the signing key), the votes of the height in
//! progress, the view-change state and the checkpoints. It owns no ledger, storage, socket,
//! clock or random source, and it never panics on input.
//!
//! # How inputs become actions
//! The host feeds [`Input`]s to [`Core::handle`] and carries out the returned [`Action`]s
//! in order:
//! 1. Transactions wait: the leader emits [`Action::BuildProposal`]; the host builds the block
//!    (it owns the anchor log, whose root goes into the header) and answers
//!    [`Input::ProposalBuilt`]. The leader broadcasts a PrePrepare.
//! 2. A replica checks the block itself (parent, height, proposer, transaction root,
//!    duplicate ids, size limits, timestamp) and emits [`Action::ValidateProposal`]; the host
//!    re-executes and answers [`Input::ProposalValidated`]. Only then does it send Prepare.
//! 3. Prepares of quorum weight make the block prepared: the replica sends Commit.
//! 4. Commits of quorum weight form a [`hashbridge_types::CommitCertificate`]: the core emits
//!    [`Action::CommitBlock`] and moves to the next height.
//! 5. When the view timer fires, the validator broadcasts a ViewChange with its highest
//!    prepared certificate; the next leader collects a quorum, broadcasts a NewView and
//!    proposes the highest prepared block again, or a new block if there is none.
//!
//! Signing goes through [`Signer`] and signature checks through [`Verifier`], so the host
//! can batch or cache them. Messages encode through `hashbridge_types::codec`.
//!
//! # What is persisted when
//! Each [`Record`] arrives in an [`Action::PersistThenSend`] or [`Action::Persist`]:
//! - a vote (PrePrepare, Prepare or Commit) is recorded by the [`VoteGuard`] before it is
//!   signed, and persisted before the vote is sent;
//! - the prepared certificate is persisted with the Commit vote, before the Commit is sent,
//!   so a restarted validator still carries it into view changes;
//! - the view the validator moves to is persisted before its ViewChange is sent.
//!
//! At restart the host passes the ledger's last block and every completed record in
//! [`Start`]. Records below a stable checkpoint may be deleted ([`Action::PruneRecords`]).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

mod buffer;
mod certificate;
pub mod config;
mod core;
pub mod error;
pub mod guard;
pub mod io;
pub mod message;
mod normal;
mod proposal;
pub mod signer;
mod sync;
mod tally;
mod view_change;

pub use crate::config::{Config, ConfigError};
pub use crate::core::{Core, CoreStatus, Start, WeakenedRule, HEIGHT_WINDOW, VIEW_WINDOW};
pub use crate::error::{MessageError, ProposalError};
pub use crate::guard::{GuardedSignature, VoteGuard, VoteGuardError, VoteKind, VoteRecord};
pub use crate::io::{Action, CommittedTip, Destination, Evidence, Input, Outbound, Record};
pub use crate::message::{
    Checkpoint, ConsensusMessage, NewView, PrePrepare, PreparedCertificate, SignedMessage, Statement, Status,
    ViewChange, ViewChangeProof, Vote,
};
pub use crate::signer::{Ed25519Signer, Ed25519Verifier, Signer, Verifier};
