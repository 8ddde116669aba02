//! The network task: owns the swarm, executes handle commands and turns swarm events into
//! [`NetworkEvent`]s.
//!
//! Nothing here waits on the node. Events go out with `try_send`, one-way messages are
//! acknowledged as soon as they are read, and block replies are awaited in a
//! `FuturesUnordered` next to the swarm, each bounded by the request timeout.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use hashbridge_crypto::PublicKey;
use libp2p::request_response::{self as rr, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::codec::Frame;
use crate::config::{Channel, NetworkTuning};
use crate::dialer::Dialer;
use crate::error::NetworkError;
use crate::handle::{lock, Command, NetworkEvent, Shared};
use crate::members::Members;
use crate::stats::{bump, DropWarnings};

/// How often due redials are checked.
const REDIAL_TICK: Duration = Duration::from_millis(100);

type RrEvent = rr::Event<Frame, Frame>;

/// A block reply from the node, or `None` when the node dropped the reply sender or did not
/// reply in time.
type BlockReply = (PeerId, ResponseChannel<Frame>, Option<Vec<u8>>);

/// A block request sent to a peer and waiting for its response.
struct PendingBlockRequest {
    peer: PublicKey,
    reply: oneshot::Sender<Result<Vec<u8>, NetworkError>>,
}

pub(crate) struct Driver {
    swarm: Swarm<Behaviour>,
    members: Arc<Members>,
    shared: Arc<Shared>,
    events: mpsc::Sender<NetworkEvent>,
    dialer: Dialer,
    tuning: NetworkTuning,
    max_frame_bytes: u32,
    in_flight: HashMap<(PeerId, Channel), usize>,
    block_requests: HashMap<OutboundRequestId, PendingBlockRequest>,
    block_replies: FuturesUnordered<BoxFuture<'static, BlockReply>>,
    inbound_drops: DropWarnings,
    outbound_drops: DropWarnings,
}

impl Driver {
    pub fn new(
        swarm: Swarm<Behaviour>,
        members: Arc<Members>,
        shared: Arc<Shared>,
        events: mpsc::Sender<NetworkEvent>,
        dialer: Dialer,
        tuning: NetworkTuning,
        max_frame_bytes: u32,
    ) -> Self {
        Driver {
            swarm,
            members,
            shared,
            events,
            dialer,
            tuning,
            max_frame_bytes,
            in_flight: HashMap::new(),
            block_requests: HashMap::new(),
            block_replies: FuturesUnordered::new(),
            inbound_drops: DropWarnings::default(),
            outbound_drops: DropWarnings::default(),
        }
    }

    /// Runs until a `Shutdown` command arrives or every handle is dropped.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut redial = tokio::time::interval(REDIAL_TICK);
        redial.set_missed_tick_behavior(MissedTickBehavior::Delay);

        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.recv() => match command {
                    None | Some(Command::Shutdown) => break,
                    Some(command) => self.on_command(command),
                },
                _ = redial.tick() => self.redial(),
                Some(reply) = self.block_replies.next(), if !self.block_replies.is_empty() => {
                    self.send_block_reply(reply);
                }
            }
        }
        tracing::info!("network stopped");
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Send { to, channel, payload } => self.send_message(to, channel, payload),
            Command::Broadcast { channel, payload } => {
                let peers = lock(&self.shared.connected).clone();
                for to in peers {
                    self.send_message(to, channel, payload.clone());
                }
            }
            Command::RequestBlocks { from, payload, reply } => self.request_blocks(from, payload, reply),
            Command::Disconnect { peer, reason } => match self.members.peer_of(&peer) {
                Some(peer_id) => self.punish(peer_id, &reason),
                None => tracing::debug!(peer = %peer.short(), "disconnect of non-member ignored"),
            },
            // `run` handles shutdown before dispatching.
            Command::Shutdown => {}
        }
    }

    fn redial(&mut self) {
        let swarm = &self.swarm;
        let dials = self.dialer.due_dials(Instant::now(), |peer| swarm.is_connected(peer));
        for opts in dials {
            let connection = opts.connection_id();
            if let Err(error) = self.swarm.dial(opts) {
                self.dialer.dial_not_started(connection, &error, Instant::now());
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, .. } => {
                if endpoint.is_dialer() {
                    self.dialer.dial_succeeded(connection_id, peer_id);
                }
                let Some(key) = self.members.key_of(&peer_id) else {
                    return;
                };
                lock(&self.shared.connected).insert(key);
                tracing::info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                self.deliver(NetworkEvent::PeerConnected(key));
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, cause, .. } => {
                self.in_flight.retain(|(peer, _), _| *peer != peer_id);
                self.dialer.peer_disconnected(&peer_id, Instant::now());
                let Some(key) = self.members.key_of(&peer_id) else {
                    return;
                };
                lock(&self.shared.connected).remove(&key);
                let cause = cause.map(|cause| cause.to_string());
                tracing::info!(peer = %peer_id, ?cause, "peer disconnected");
                self.deliver(NetworkEvent::PeerDisconnected(key));
            }
            SwarmEvent::OutgoingConnectionError { connection_id, peer_id, error } => {
                self.dialer.dial_failed(connection_id, peer_id, &error, Instant::now());
            }
            SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                tracing::debug!(addr = %send_back_addr, %error, "inbound connection failed");
            }
            SwarmEvent::ListenerError { error, .. } => tracing::error!(%error, "listener failed"),
            SwarmEvent::ListenerClosed { addresses, reason, .. } => {
                tracing::error!(?addresses, ?reason, "listener closed");
            }
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Admission(never) => match never {},
            BehaviourEvent::Consensus(event) => self.on_message_event(Channel::Consensus, event),
            BehaviourEvent::Transaction(event) => self.on_message_event(Channel::Transaction, event),
            BehaviourEvent::BlockSync(event) => self.on_message_event(Channel::BlockSync, event),
            BehaviourEvent::BlockRequest(event) => self.on_block_request_event(event),
        }
    }

    fn on_message_event(&mut self, channel: Channel, event: RrEvent) {
        match event {
            rr::Event::Message { peer, message: rr::Message::Request { request, channel: ack, .. }, .. } => {
                let request = match request {
                    Frame::Payload(request) => request,
                    Frame::Oversized(too_large) => return self.punish(peer, &too_large.to_string()),
                };
                // The empty response acknowledges receipt. A closed stream only means the
                // sender went away.
                let _ = self.swarm.behaviour_mut().channel(channel).send_response(ack, Frame::Payload(Vec::new()));
                let Some(from) = self.members.key_of(&peer) else {
                    return;
                };
                bump(&self.shared.counters.messages_in);
                tracing::debug!(%peer, %channel, bytes = request.len(), "message received");
                self.deliver(NetworkEvent::Message { from, channel, payload: request });
            }
            rr::Event::Message { peer, message: rr::Message::Response { response, .. }, .. } => {
                self.settle_message(peer, channel);
                if let Frame::Oversized(too_large) = response {
                    self.punish(peer, &too_large.to_string());
                }
            }
            rr::Event::OutboundFailure { peer, error, .. } => {
                self.settle_message(peer, channel);
                self.on_outbound_failure(peer, &error);
            }
            rr::Event::InboundFailure { peer, error, .. } => self.on_inbound_failure(peer, &error),
            rr::Event::ResponseSent { .. } => {}
        }
    }

    fn on_block_request_event(&mut self, event: RrEvent) {
        match event {
            rr::Event::Message { peer, message: rr::Message::Request { request, channel, .. }, .. } => match request {
                Frame::Payload(request) => self.accept_block_request(peer, request, channel),
                Frame::Oversized(too_large) => self.punish(peer, &too_large.to_string()),
            },
            rr::Event::Message { peer, message: rr::Message::Response { request_id, response }, .. } => {
                let result = match response {
                    Frame::Payload(response) => Ok(response),
                    Frame::Oversized(too_large) => {
                        self.punish(peer, &too_large.to_string());
                        Err(too_large.to_string())
                    }
                };
                if let Some(pending) = self.block_requests.remove(&request_id) {
                    let result = result.map_err(|reason| NetworkError::RequestFailed { peer: pending.peer, reason });
                    // The requester may have given up waiting.
                    let _ = pending.reply.send(result);
                }
            }
            rr::Event::OutboundFailure { peer, request_id, error, .. } => {
                self.on_outbound_failure(peer, &error);
                if let Some(pending) = self.block_requests.remove(&request_id) {
                    let error = match error {
                        rr::OutboundFailure::Timeout => {
                            NetworkError::Timeout { peer: pending.peer, timeout: self.tuning.request_timeout }
                        }
                        error => NetworkError::RequestFailed { peer: pending.peer, reason: error.to_string() },
                    };
                    let _ = pending.reply.send(Err(error));
                }
            }
            rr::Event::InboundFailure { peer, error, .. } => self.on_inbound_failure(peer, &error),
            rr::Event::ResponseSent { .. } => {}
        }
    }

    fn send_message(&mut self, to: PublicKey, channel: Channel, payload: Vec<u8>) {
        let Some(peer) = self.members.peer_of(&to) else {
            self.drop_outbound("recipient is not a member");
            return;
        };
        if !self.swarm.is_connected(&peer) {
            bump(&self.shared.counters.dropped_outbound);
            tracing::debug!(%peer, %channel, "message dropped, peer not connected");
            return;
        }
        if payload.len() > self.frame_limit() {
            self.drop_outbound("payload exceeds max_frame_bytes");
            return;
        }

        let in_flight = self.in_flight.entry((peer, channel)).or_default();
        if *in_flight >= self.tuning.peer_queue {
            self.drop_outbound("peer queue full");
            return;
        }
        *in_flight += 1;

        let bytes = payload.len();
        self.swarm.behaviour_mut().channel(channel).send_request(&peer, Frame::Payload(payload));
        bump(&self.shared.counters.messages_out);
        tracing::debug!(%peer, %channel, bytes, "message sent");
    }

    fn settle_message(&mut self, peer: PeerId, channel: Channel) {
        if let Some(in_flight) = self.in_flight.get_mut(&(peer, channel)) {
            *in_flight = in_flight.saturating_sub(1);
        }
    }

    fn request_blocks(
        &mut self,
        from: PublicKey,
        payload: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, NetworkError>>,
    ) {
        let checked = match self.members.peer_of(&from) {
            None => Err(NetworkError::NotMember { peer: from }),
            Some(peer) if !self.swarm.is_connected(&peer) => Err(NetworkError::NotConnected { peer: from }),
            Some(_) if payload.len() > self.frame_limit() => {
                Err(NetworkError::PayloadTooLarge { len: payload.len(), max: self.max_frame_bytes })
            }
            Some(peer) => Ok(peer),
        };
        let peer = match checked {
            Ok(peer) => peer,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };

        let bytes = payload.len();
        let request_id = self.swarm.behaviour_mut().block_request.send_request(&peer, Frame::Payload(payload));
        self.block_requests.insert(request_id, PendingBlockRequest { peer: from, reply });
        bump(&self.shared.counters.block_requests_out);
        tracing::debug!(%peer, bytes, "block request sent");
    }

    fn accept_block_request(&mut self, peer: PeerId, request: Vec<u8>, channel: ResponseChannel<Frame>) {
        let Some(from) = self.members.key_of(&peer) else {
            return;
        };
        bump(&self.shared.counters.block_requests_in);
        if self.block_replies.len() >= self.tuning.pending_block_replies {
            // Dropping `channel` closes the stream, so the requester fails fast.
            self.drop_inbound("too many block requests waiting for a reply");
            return;
        }
        tracing::debug!(%peer, bytes = request.len(), "block request received");

        let (reply, response) = oneshot::channel();
        let timeout = self.tuning.request_timeout;
        let waiting = async move {
            let response = tokio::time::timeout(timeout, response).await.ok().and_then(Result::ok);
            (peer, channel, response)
        };
        self.block_replies.push(waiting.boxed());
        self.deliver(NetworkEvent::BlockRequest { from, payload: request, reply });
    }

    fn send_block_reply(&mut self, (peer, channel, response): BlockReply) {
        let Some(response) = response else {
            tracing::debug!(%peer, "block request got no reply from the node");
            return;
        };
        if response.len() > self.frame_limit() {
            tracing::warn!(%peer, bytes = response.len(), max = self.max_frame_bytes, "block response exceeds max_frame_bytes, not sent");
            return;
        }
        if self.swarm.behaviour_mut().block_request.send_response(channel, Frame::Payload(response)).is_err() {
            tracing::debug!(%peer, "block response not sent, stream closed");
        }
    }

    fn on_inbound_failure(&mut self, peer: PeerId, error: &rr::InboundFailure) {
        tracing::debug!(%peer, %error, "inbound request failed");
    }

    fn on_outbound_failure(&mut self, peer: PeerId, error: &rr::OutboundFailure) {
        tracing::debug!(%peer, %error, "outbound request failed");
    }

    /// Disconnects a misbehaving peer and bans it for `ban_duration`.
    fn punish(&mut self, peer: PeerId, reason: &str) {
        bump(&self.shared.counters.misbehaviour_disconnects);
        tracing::warn!(%peer, reason, "disconnecting misbehaving peer");
        self.swarm.behaviour_mut().admission.ban(peer, self.tuning.ban_duration);
        // An error only means the peer is already disconnected.
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn deliver(&mut self, event: NetworkEvent) {
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.drop_inbound("event queue full"),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!("event dropped, the node closed its receiver");
            }
        }
    }

    fn drop_inbound(&mut self, reason: &'static str) {
        bump(&self.shared.counters.dropped_inbound);
        if let Some(dropped) = self.inbound_drops.record(Instant::now()) {
            tracing::warn!(dropped, reason, "dropped inbound events");
        }
    }

    fn drop_outbound(&mut self, reason: &'static str) {
        bump(&self.shared.counters.dropped_outbound);
        if let Some(dropped) = self.outbound_drops.record(Instant::now()) {
            tracing::warn!(dropped, reason, "dropped outbound messages");
        }
    }

    fn frame_limit(&self) -> usize {
        usize::try_from(self.max_frame_bytes).unwrap_or(usize::MAX)
    }
}
