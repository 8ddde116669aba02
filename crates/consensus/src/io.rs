//! The core's inputs, the actions it returns and the records the host must persist.

use bincode::{Decode, Encode};
use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_types::codec::Canonical;
use hashbridge_types::block::MAX_BLOCK_BYTES;
use hashbridge_types::{Block, CommitCertificate};

use crate::error::MessageError;
use crate::guard::VoteRecord;
use crate::message::{PreparedCertificate, SignedMessage};

/// Everything that can happen to the core. `now_ms` is the caller's clock in milliseconds
/// since the Unix epoch; the core reads no clock of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A decoded message from a peer. The core checks the signature.
    Message { message: SignedMessage, now_ms: u64 },
    /// The timer started by [`Action::StartTimer`] with this `timer_id` fired.
    TimerFired { timer_id: u64, height: u64, view: u64, now_ms: u64 },
    /// The number of transactions waiting in the pool. The host sends it whenever the count
    /// changes between zero and non-zero, and after every [`Action::CommitBlock`].
    PendingTransactions { count: u64, now_ms: u64 },
    /// The block the host built in reply to [`Action::BuildProposal`].
    ProposalBuilt { height: u64, view: u64, block: Block, now_ms: u64 },
    /// The host's verdict after re-executing a block from [`Action::ValidateProposal`].
    ProposalValidated { height: u64, view: u64, block_hash: Hash32, valid: bool, now_ms: u64 },
    /// The persist action with this sequence number is durable.
    PersistCompleted { sequence: u64 },
    /// A committed block with its certificate, fetched from a peer after
    /// [`Action::FetchBlocks`]. Blocks must arrive in height order.
    SyncedBlock { block: Block, certificate: CommitCertificate, now_ms: u64 },
}

/// The destination of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Broadcast,
    Peer(PublicKey),
}

/// A signed message and its destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    pub to: Destination,
    pub message: SignedMessage,
}

/// State that must survive a restart, persisted in the order the actions list it.
// A record is written once and dropped, so the inline block costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Record {
    /// A vote the guard signed; restores the guard so it never signs a conflicting vote.
    Vote(VoteRecord),
    /// The highest prepared certificate at its height, with the block it certifies. A
    /// validator carries it into view changes so that a block that may have committed
    /// elsewhere is proposed again.
    Prepared { certificate: PreparedCertificate, block: Block },
    /// The view the node moved to at `height`; keeps views monotonic across restarts.
    View { height: u64, view: u64 },
}

impl Canonical for Record {
    const MAX_ENCODED_BYTES: usize = MAX_BLOCK_BYTES + 1024 * 1024;
    const NAME: &'static str = "consensus record";
}

impl Record {
    /// Returns the height the record belongs to.
    pub fn height(&self) -> u64 {
        match self {
            Record::Vote(vote) => vote.height,
            Record::Prepared { certificate, .. } => certificate.height,
            Record::View { height, .. } => *height,
        }
    }
}

/// Two signed messages from one validator that conflict for one (height, view, phase).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub first: SignedMessage,
    pub second: SignedMessage,
}

/// The last committed block, as stored in the host's ledger. At genesis it is height 0 with
/// the genesis hash and genesis time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommittedTip {
    pub height: u64,
    pub hash: Hash32,
    pub timestamp_ms: u64,
}

/// An action the host carries out for the core.
// Actions are moved to the runtime once, so inline blocks cost nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a message that needs nothing durable first.
    Send(Outbound),
    /// Persist `records`, then send `message`.
    ///
    /// The runtime must finish writing the records (fsync included) before the message
    /// leaves the node, then report [`Input::PersistCompleted`] with `sequence`. Sending first
    /// could let a node that crashes in between vote twice after its restart.
    PersistThenSend { sequence: u64, records: Vec<Record>, message: Outbound },
    /// Persist `records`; nothing waits on them, but they must be durable before any later
    /// persist action completes.
    Persist { sequence: u64, records: Vec<Record> },
    /// Records for heights below `height` are no longer needed and may be deleted.
    PruneRecords { below_height: u64 },
    /// Start the view timer, replacing any running one. When it fires, send
    /// [`Input::TimerFired`] with the same `timer_id`, `height` and `view`.
    StartTimer { timer_id: u64, height: u64, view: u64, duration_ms: u64 },
    /// Stop the view timer with this id.
    CancelTimer { timer_id: u64 },
    /// Build a block on `parent_hash` with a timestamp of at least `min_timestamp_ms` and
    /// reply with [`Input::ProposalBuilt`].
    BuildProposal { height: u64, view: u64, parent_hash: Hash32, min_timestamp_ms: u64 },
    /// Re-execute the block and reply with [`Input::ProposalValidated`].
    ValidateProposal { height: u64, view: u64, block: Block },
    /// Append the block to the ledger. Its certificate passes [`CommitCertificate::verify`].
    CommitBlock { block: Block, certificate: CommitCertificate },
    /// Fetch committed blocks with their certificates from `from_height` on, from `peer`,
    /// and feed them back as [`Input::SyncedBlock`].
    FetchBlocks { from_height: u64, peer: PublicKey },
    /// A validator signed two conflicting messages.
    ReportEquivocation(Evidence),
    /// A peer's message or a synced block was rejected; the runtime may log it and score
    /// the peer.
    Rejected(MessageError),
}
