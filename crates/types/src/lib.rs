//! The chain's data model: transactions and their actions, blocks and headers, votes and
//! commit certificates, the validator set and transaction result codes.
//!
//! [`codec`] is the only place that turns these types into bytes. Every type that is
//! hashed, signed, sent or stored implements [`codec::Canonical`], and the golden-byte tests
//! in `tests/golden.rs` pin each encoding so a format change cannot slip in unnoticed.

pub mod block;
pub mod codec;
pub mod ledger;
pub mod receipt;
pub mod status;
pub mod transaction;
pub mod validators;

pub use block::{Block, BlockHeader, CertifiedBlock, CommitCertificate, ValidatorSignature, VotePhase, VoteStatement};
pub use codec::{Canonical, CodecError};
pub use ledger::{AnchorState, AnchorStatus, LogEntry, LogEvent, TransactionLocation};
pub use receipt::{Receipt, ReceiptError};
pub use hashbridge_crypto::{Domain, Hash32, KeyPair, PublicKey, Signature};
pub use status::ResultCode;
pub use transaction::{Action, AnchorRecord, MetadataEntry, Nonce, RevocationReason, Transaction, TransactionPayload};
pub use validators::{Validator, ValidatorSet};
