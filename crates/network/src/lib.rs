//! Peer-to-peer transport for Hashbridge nodes.
//!
//! The crate owns the libp2p swarm: TCP with noise authentication and yamux multiplexing on
//! tokio. It carries opaque byte payloads and does not depend on consensus types, so the
//! node encodes and decodes them.
//!
//! Data flow: [`start`] binds the listener, spawns one task that owns the swarm, and returns
//! a [`NetworkHandle`] and a bounded receiver of [`NetworkEvent`]s. Handle calls become
//! commands on a bounded queue to the task. The task delivers inbound frames as events with
//! `try_send`, so a slow node loses events (counted in [`NetworkStats`]) but never stalls
//! the swarm.
//!
//! Protocols, each carrying one length-prefixed frame per stream (see [`codec`]):
//! - `/hashbridge/<chain_tag>/{consensus,transaction,block-sync}/1`: one-way messages, acknowledged
//!   with an empty frame as soon as they are read.
//! - `/hashbridge/<chain_tag>/block-request/1`: block requests answered by the node.
//!
//! Admission runs after the noise handshake (see [`admission`]): only member keys, at most
//! one established connection per peer, and a temporary ban after misbehaviour.
//!
//! Configured peer addresses are dialed at start and redialed with capped exponential
//! backoff while disconnected.
//!
//! The crate persists nothing.

pub mod admission;
mod behaviour;
pub mod codec;
mod config;
mod dialer;
mod driver;
mod error;
mod handle;
mod members;
mod stats;

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

pub use config::{block_request_protocol, message_protocol, Channel, NetworkConfig, NetworkTuning};
pub use error::NetworkError;
pub use handle::{NetworkEvent, NetworkHandle};
pub use stats::NetworkStats;

use crate::behaviour::{build_swarm, listen, to_multiaddr};
use crate::dialer::Dialer;
use crate::driver::Driver;
use crate::handle::Shared;
use crate::members::Members;

/// Binds the listener, starts the network task and dials the configured peers.
///
/// Returns once the listener is bound. Must be called inside a tokio runtime.
pub async fn start(config: NetworkConfig) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
    config.validate()?;
    let members = Arc::new(Members::new(&config.members)?);
    let shared = Arc::new(Shared::default());

    let mut swarm = build_swarm(&config, members.clone(), shared.clone())?;
    let local_addr = listen(&mut swarm, config.listen).await?;
    tracing::info!(peer = %swarm.local_peer_id(), %local_addr, members = config.members.len(), "network started");

    let tuning = config.tuning.clone();
    let (event_sender, events) = mpsc::channel(tuning.event_queue);
    let (commands, command_receiver) = mpsc::channel(tuning.command_queue);
    let peers = config.peers.iter().copied().map(to_multiaddr).collect();
    let dialer = Dialer::new(peers, tuning.redial_initial, tuning.redial_max);

    let request_timeout = tuning.request_timeout;
    let driver = Driver::new(swarm, members, shared.clone(), event_sender, dialer, tuning, config.max_frame_bytes);
    let task = tokio::spawn(driver.run(command_receiver));

    let handle = NetworkHandle { commands, shared, task: Arc::new(Mutex::new(Some(task))), local_addr, request_timeout };
    Ok((handle, events))
}
