//! The hash-anchor state machine.
//!
//! Execution is deterministic and free of I/O: it reads chain state through
//! [`StateReader`], applies a block's transactions in order and returns a
//! [`BlockExecution`] holding every change (anchor states, transaction locations, new log
//! entries and the updated log frontier). The storage crate writes that whole result in one
//! atomic batch together with the block and its certificate. A proposer executes to fill
//! the header's `log_root` and `log_size`; every validator executes the same transactions
//! and rejects the proposal unless it reaches the same root.
//!
//! Rules applied to each transaction:
//! - *Inclusion* ([`check_includable`]): chain id, field bounds, signature
//!   (`verify_strict`), not expired, `valid_until` within the validity window, and not
//!   already committed. A block containing a transaction that fails here is invalid.
//! - *Execution* (`execute`): the sender must be an account of an institution with the
//!   issuer role; a commitment already anchored is a duplicate, whatever hex spelling the
//!   client used (commitments are 32 raw bytes here); only the issuer that anchored a
//!   commitment may revoke or supersede it. A failure here is recorded as the
//!   transaction's [`ResultCode`] and changes nothing else.

mod execute;

pub use execute::{check_includable, check_window, execute_block, first_duplicate, BlockExecution, InclusionError, LedgerContext, StateReader, TransactionOutcome};
pub use hashbridge_types::ResultCode;
