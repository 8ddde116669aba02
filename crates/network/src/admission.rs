//! Connection admission: members only, one established connection per peer, and a
//! temporary ban after misbehaviour.
//!
//! The checks run in `handle_established_*_connection`, right after the noise handshake has
//! authenticated the remote peer id and before any protocol stream opens. A rejected
//! connection is closed by the swarm.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use thiserror::Error;

use crate::handle::Shared;
use crate::members::Members;
use crate::stats::bump;

/// Reason a connection was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Rejection {
    #[error("peer is not a member")]
    NotMember,
    #[error("peer already has an established connection")]
    Duplicate,
    #[error("peer is banned after misbehaving")]
    Banned,
}

/// Direction of a connection, for logs.
#[derive(Debug, Clone, Copy)]
enum Direction {
    Inbound,
    Outbound,
}

pub(crate) struct Admission {
    members: Arc<Members>,
    shared: Arc<Shared>,
    established: HashMap<PeerId, ConnectionId>,
    banned_until: HashMap<PeerId, Instant>,
}

impl Admission {
    pub fn new(members: Arc<Members>, shared: Arc<Shared>) -> Self {
        Admission { members, shared, established: HashMap::new(), banned_until: HashMap::new() }
    }

    /// Rejects connections from `peer` for `duration`.
    pub fn ban(&mut self, peer: PeerId, duration: Duration) {
        if let Some(until) = Instant::now().checked_add(duration) {
            self.banned_until.insert(peer, until);
        }
    }

    fn is_banned(&mut self, peer: &PeerId) -> bool {
        let now = Instant::now();
        self.banned_until.retain(|_, until| *until > now);
        self.banned_until.contains_key(peer)
    }

    fn check(&mut self, peer: PeerId, addr: &Multiaddr, direction: Direction) -> Result<(), ConnectionDenied> {
        let rejection = if !self.members.contains(&peer) {
            bump(&self.shared.counters.rejected_non_member);
            Rejection::NotMember
        } else if self.established.contains_key(&peer) {
            bump(&self.shared.counters.rejected_duplicate);
            Rejection::Duplicate
        } else if self.is_banned(&peer) {
            bump(&self.shared.counters.rejected_banned);
            Rejection::Banned
        } else {
            return Ok(());
        };

        match direction {
            Direction::Inbound => {
                tracing::warn!(%peer, %addr, reason = %rejection, "rejected inbound connection");
            }
            // Our own redial reaching a peer that is already connected inbound is expected.
            Direction::Outbound => {
                tracing::debug!(%peer, %addr, reason = %rejection, "rejected outbound connection");
            }
        }
        Err(ConnectionDenied::new(rejection))
    }
}

impl NetworkBehaviour for Admission {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(peer, remote_addr, Direction::Inbound)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(peer, addr, Direction::Outbound)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(established) => {
                self.established.insert(established.peer_id, established.connection_id);
            }
            FromSwarm::ConnectionClosed(ConnectionClosed { peer_id, connection_id, .. })
                if self.established.get(&peer_id) == Some(&connection_id) =>
            {
                self.established.remove(&peer_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(&mut self, _: PeerId, _: ConnectionId, event: THandlerOutEvent<Self>) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
