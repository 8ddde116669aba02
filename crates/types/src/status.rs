//! Result codes the ledger assigns to every executed transaction.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// The outcome of executing one transaction in a committed block.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultCode {
    /// The action took effect.
    Ok,
    /// The sender is not a known account, or its institution lacks the needed role.
    Unauthorized,
    /// A commitment in the action is already anchored.
    DuplicateCommitment,
    /// The commitment to revoke or supersede is not anchored.
    UnknownCommitment,
    /// Only the institution that anchored a commitment may revoke or supersede it.
    NotIssuer,
    /// The commitment is already revoked or superseded.
    AlreadyInactive,
    /// The transaction's `valid_until` height has passed.
    Expired,
    /// `valid_until` is further ahead than the chain's validity window allows.
    ValidityTooLong,
    /// The same transaction id was already executed.
    Replayed,
    /// The transaction failed a stateless check (chain id, signature, bounds).
    Invalid,
}

impl ResultCode {
    pub fn is_ok(self) -> bool {
        self == ResultCode::Ok
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::Ok => "ok",
            ResultCode::Unauthorized => "unauthorized",
            ResultCode::DuplicateCommitment => "duplicate_commitment",
            ResultCode::UnknownCommitment => "unknown_commitment",
            ResultCode::NotIssuer => "not_issuer",
            ResultCode::AlreadyInactive => "already_inactive",
            ResultCode::Expired => "expired",
            ResultCode::ValidityTooLong => "validity_too_long",
            ResultCode::Replayed => "replayed",
            ResultCode::Invalid => "invalid",
        }
    }
}
