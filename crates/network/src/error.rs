//! Errors returned by the network crate.

use std::net::SocketAddr;
use std::time::Duration;

use hashbridge_crypto::PublicKey;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetworkError {
    #[error("failed to listen on {addr}: {source}; free the port or change the listen address")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("listener on {addr} reported no address within {timeout:?}; check the listen address")]
    ListenTimeout { addr: SocketAddr, timeout: Duration },
    #[error("member key {key} is not a valid ed25519 public key; fix the member list in the genesis")]
    InvalidMember { key: String },
    #[error("chain tag {tag:?} is invalid; use 1 to 64 ASCII letters, digits, '-' or '_'")]
    InvalidChainTag { tag: String },
    #[error("max_frame_bytes is 0; set it to the largest message size in bytes")]
    InvalidFrameLimit,
    #[error("network tuning value {field} {reason}")]
    InvalidTuning { field: &'static str, reason: &'static str },
    #[error("failed to build the libp2p transport: {reason}")]
    Transport { reason: String },
    #[error("payload of {len} bytes exceeds max_frame_bytes {max}; split it or raise the limit on every node")]
    PayloadTooLarge { len: usize, max: u32 },
    #[error("peer {peer} is not connected")]
    NotConnected { peer: PublicKey },
    #[error("peer {peer} is not a member of this chain")]
    NotMember { peer: PublicKey },
    #[error("block request to peer {peer} timed out after {timeout:?}")]
    Timeout { peer: PublicKey, timeout: Duration },
    #[error("block request to peer {peer} failed: {reason}")]
    RequestFailed { peer: PublicKey, reason: String },
    #[error("network command queue is full; the request was dropped, retry later")]
    QueueFull,
    #[error("network task has stopped; restart the network")]
    Stopped,
}
