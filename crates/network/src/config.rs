//! Network configuration, tuning limits and protocol names.

use std::net::SocketAddr;
use std::time::Duration;

use hashbridge_crypto::PublicKey;
use libp2p::identity::Keypair;

use crate::error::NetworkError;

/// Maximum length in bytes of a chain tag.
const MAX_CHAIN_TAG_LEN: usize = 64;

/// Settings the node passes to [`crate::start`].
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// The node's network identity, from `KeyPair::libp2p_keypair()`.
    pub keypair: Keypair,
    /// Address to listen on. Port 0 picks a free port, and [`crate::NetworkHandle::local_addr`]
    /// returns the bound address.
    pub listen: SocketAddr,
    /// Addresses to dial at start and to redial with backoff while disconnected.
    pub peers: Vec<SocketAddr>,
    /// Node keys from the genesis. Only peers holding one of these keys stay connected.
    pub members: Vec<PublicKey>,
    /// Chain identifier placed in every protocol name, for example the first 16 hex digits of
    /// the genesis hash. Nodes with different tags fail protocol negotiation and never
    /// exchange frames.
    pub chain_tag: String,
    /// Largest payload in bytes accepted in one frame, in either direction. A peer that
    /// announces a larger frame is disconnected.
    pub max_frame_bytes: u32,
    /// Queue capacities, timeouts and backoff bounds.
    pub tuning: NetworkTuning,
}

/// Queue capacities, timeouts and backoff bounds. [`Default`] suits a consortium of tens of
/// nodes.
#[derive(Debug, Clone)]
pub struct NetworkTuning {
    /// Capacity of the channel that carries [`crate::NetworkEvent`]s to the node. Events that
    /// arrive while it is full are dropped and counted.
    pub event_queue: usize,
    /// Capacity of the channel from [`crate::NetworkHandle`] to the network task. Sends made
    /// while it is full are dropped and counted.
    pub command_queue: usize,
    /// Maximum number of unacknowledged one-way messages per peer and channel. Further sends
    /// to that peer on that channel are dropped and counted.
    pub peer_queue: usize,
    /// Maximum number of inbound block requests waiting for the node's reply. Further
    /// requests are dropped and counted.
    pub pending_block_replies: usize,
    /// Time allowed for a request, including its acknowledgement or response.
    pub request_timeout: Duration,
    /// First redial delay after a failed dial or a disconnect.
    pub redial_initial: Duration,
    /// Upper bound of the redial delay, which doubles after every failed dial.
    pub redial_max: Duration,
    /// How long a peer disconnected for misbehaviour is rejected on reconnect.
    pub ban_duration: Duration,
}

impl Default for NetworkTuning {
    fn default() -> Self {
        NetworkTuning {
            event_queue: 4096,
            command_queue: 4096,
            peer_queue: 1024,
            pending_block_replies: 256,
            request_timeout: Duration::from_secs(10),
            redial_initial: Duration::from_millis(500),
            redial_max: Duration::from_secs(30),
            ban_duration: Duration::from_secs(30),
        }
    }
}

/// Kind of a one-way message. Each channel is a separate libp2p protocol, so a flood on one
/// channel does not use up the stream limit of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Consensus,
    Transaction,
    /// One-way block sync messages, such as height announcements. Block downloads use
    /// [`crate::NetworkHandle::request_blocks`].
    BlockSync,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Consensus, Channel::Transaction, Channel::BlockSync];

    /// Protocol name segment of the channel.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Consensus => "consensus",
            Channel::Transaction => "transaction",
            Channel::BlockSync => "block-sync",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Protocol name of a one-way message channel, for example `/hashbridge/0a1b/consensus/1`.
pub fn message_protocol(chain_tag: &str, channel: Channel) -> String {
    format!("/hashbridge/{chain_tag}/{}/1", channel.as_str())
}

/// Protocol name of block requests, for example `/hashbridge/0a1b/block-request/1`.
pub fn block_request_protocol(chain_tag: &str) -> String {
    format!("/hashbridge/{chain_tag}/block-request/1")
}

impl NetworkConfig {
    /// Checks the values that `start` cannot repair.
    pub fn validate(&self) -> Result<(), NetworkError> {
        let tag_is_valid = !self.chain_tag.is_empty()
            && self.chain_tag.len() <= MAX_CHAIN_TAG_LEN
            && self.chain_tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !tag_is_valid {
            return Err(NetworkError::InvalidChainTag { tag: self.chain_tag.clone() });
        }
        if self.max_frame_bytes == 0 {
            return Err(NetworkError::InvalidFrameLimit);
        }

        let tuning = &self.tuning;
        let queues = [
            ("event_queue", tuning.event_queue),
            ("command_queue", tuning.command_queue),
            ("peer_queue", tuning.peer_queue),
            ("pending_block_replies", tuning.pending_block_replies),
        ];
        if let Some((name, _)) = queues.iter().find(|(_, capacity)| *capacity == 0) {
            return Err(NetworkError::InvalidTuning { field: name, reason: "must be at least 1" });
        }
        if tuning.request_timeout.is_zero() {
            return Err(NetworkError::InvalidTuning { field: "request_timeout", reason: "must be above zero" });
        }
        if tuning.redial_initial.is_zero() || tuning.redial_max < tuning.redial_initial {
            return Err(NetworkError::InvalidTuning {
                field: "redial_initial",
                reason: "must be above zero and at most redial_max",
            });
        }
        Ok(())
    }
}
