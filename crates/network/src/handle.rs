//! The node-facing handle and the events the network delivers.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hashbridge_crypto::PublicKey;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::Channel;
use crate::error::NetworkError;
use crate::stats::{bump, Counters, DropWarnings, NetworkStats};

/// An event for the node.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A one-way message from a connected member.
    Message { from: PublicKey, channel: Channel, payload: Vec<u8> },
    /// A block request from a connected member. Sending the response through `reply` returns
    /// it to the peer. Dropping `reply`, or not replying within the request timeout, closes
    /// the request stream without a response.
    BlockRequest { from: PublicKey, payload: Vec<u8>, reply: oneshot::Sender<Vec<u8>> },
    PeerConnected(PublicKey),
    PeerDisconnected(PublicKey),
}

/// A request from the handle to the network task.
#[derive(Debug)]
pub(crate) enum Command {
    Send { to: PublicKey, channel: Channel, payload: Vec<u8> },
    Broadcast { channel: Channel, payload: Vec<u8> },
    RequestBlocks { from: PublicKey, payload: Vec<u8>, reply: oneshot::Sender<Result<Vec<u8>, NetworkError>> },
    Disconnect { peer: PublicKey, reason: String },
    Shutdown,
}

/// State shared by the handle and the network task.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub counters: Counters,
    pub connected: Mutex<BTreeSet<PublicKey>>,
    pub command_drops: Mutex<DropWarnings>,
}

/// Locks a mutex, recovering the data if a thread panicked while holding it. The guarded
/// values are plain sets and counters that stay consistent across a panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Cloneable handle to the network task. `send`, `broadcast` and `disconnect` never block.
/// When the command queue is full they drop the command and count it in
/// [`NetworkStats::dropped_outbound`].
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) task: Arc<Mutex<Option<JoinHandle<()>>>>,
    pub(crate) local_addr: SocketAddr,
    pub(crate) request_timeout: Duration,
}

impl NetworkHandle {
    /// Address the listener is bound to, with the actual port when the configured port was 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Queues a one-way message to one connected member.
    pub fn send(&self, to: PublicKey, channel: Channel, payload: Vec<u8>) {
        self.enqueue(Command::Send { to, channel, payload });
    }

    /// Queues a one-way message to every connected member.
    pub fn broadcast(&self, channel: Channel, payload: Vec<u8>) {
        self.enqueue(Command::Broadcast { channel, payload });
    }

    /// Sends a block request to `from` and waits for its response, at most the configured
    /// request timeout.
    pub async fn request_blocks(&self, from: PublicKey, payload: Vec<u8>) -> Result<Vec<u8>, NetworkError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .try_send(Command::RequestBlocks { from, payload, reply })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => NetworkError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => NetworkError::Stopped,
            })?;

        // libp2p enforces the request timeout, and this outer bound covers a stalled task.
        let limit = self.request_timeout.saturating_add(Duration::from_secs(1));
        match tokio::time::timeout(limit, response).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(NetworkError::Stopped),
            Err(_) => Err(NetworkError::Timeout { peer: from, timeout: self.request_timeout }),
        }
    }

    /// Members with an established connection.
    pub fn connected_peers(&self) -> Vec<PublicKey> {
        lock(&self.shared.connected).iter().copied().collect()
    }

    /// Disconnects a peer that sent invalid data and bans it for the configured duration.
    /// The network logs `reason` at warn.
    pub fn disconnect(&self, peer: PublicKey, reason: &str) {
        self.enqueue(Command::Disconnect { peer, reason: reason.to_owned() });
    }

    /// Counters since `start`.
    pub fn stats(&self) -> NetworkStats {
        self.shared.counters.snapshot()
    }

    /// Stops the network task, closing the listener and every connection, and waits for it.
    pub async fn shutdown(self) {
        // A closed channel means the task has already stopped.
        let _ = self.commands.send(Command::Shutdown).await;
        let task = lock(&self.task).take();
        if let Some(task) = task {
            if let Err(error) = task.await {
                tracing::warn!(%error, "network task ended abnormally");
            }
        }
    }

    fn enqueue(&self, command: Command) {
        let Err(error) = self.commands.try_send(command) else {
            return;
        };
        bump(&self.shared.counters.dropped_outbound);
        let reason = match error {
            mpsc::error::TrySendError::Full(_) => "command queue full",
            mpsc::error::TrySendError::Closed(_) => "network stopped",
        };
        if let Some(dropped) = lock(&self.shared.command_drops).record(Instant::now()) {
            tracing::warn!(dropped, reason, "dropped outbound messages");
        }
    }
}
