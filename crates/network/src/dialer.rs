//! Dialing of configured peer addresses with capped exponential backoff.
//!
//! Each configured address is a target. The peer id behind an address is unknown until the
//! first handshake, so the first dial goes to the bare address. Once the peer id is learned,
//! later dials name it, which lets the swarm skip a peer that is already connected and
//! reject an address that now presents a different key.

use std::time::{Duration, Instant};

use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, DialError};
use libp2p::{Multiaddr, PeerId};
use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetState {
    /// Waiting until `next_attempt`, or connected if the peer is known and connected.
    Idle,
    Dialing(ConnectionId),
    /// The address is this node's own, so it is never dialed again.
    Own,
}

#[derive(Debug)]
struct Target {
    addr: Multiaddr,
    peer: Option<PeerId>,
    state: TargetState,
    failures: u32,
    next_attempt: Instant,
}

#[derive(Debug)]
pub(crate) struct Dialer {
    targets: Vec<Target>,
    initial: Duration,
    max: Duration,
}

/// Action on a target after a dial failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureAction {
    Retry,
    ForgetPeer,
    Stop,
}

impl Dialer {
    pub fn new(addrs: Vec<Multiaddr>, initial: Duration, max: Duration) -> Self {
        let now = Instant::now();
        let targets = addrs
            .into_iter()
            .map(|addr| Target { addr, peer: None, state: TargetState::Idle, failures: 0, next_attempt: now })
            .collect();
        Dialer { targets, initial, max }
    }

    /// Returns the dials that are due now. `is_connected` reports whether a known peer already
    /// has a connection, in which case its target is skipped.
    pub fn due_dials(&mut self, now: Instant, is_connected: impl Fn(&PeerId) -> bool) -> Vec<DialOpts> {
        let mut dials = Vec::new();
        for target in &mut self.targets {
            if target.state != TargetState::Idle || target.next_attempt > now {
                continue;
            }
            if target.peer.as_ref().is_some_and(&is_connected) {
                continue;
            }
            let opts = match target.peer {
                Some(peer) => DialOpts::peer_id(peer)
                    .addresses(vec![target.addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None => DialOpts::unknown_peer_id().address(target.addr.clone()).build(),
            };
            target.state = TargetState::Dialing(opts.connection_id());
            dials.push(opts);
        }
        dials
    }

    /// Records that `swarm.dial` rejected a dial before it started.
    pub fn dial_not_started(&mut self, connection: ConnectionId, error: &DialError, now: Instant) {
        self.dial_failed(connection, None, error, now);
    }

    /// Records a failed dial and schedules the next attempt.
    pub fn dial_failed(&mut self, connection: ConnectionId, peer: Option<PeerId>, error: &DialError, now: Instant) {
        let (initial, max) = (self.initial, self.max);
        let Some(target) = self.target_dialing(connection) else {
            return;
        };

        match failure_action(error) {
            FailureAction::Stop => {
                tracing::info!(addr = %target.addr, "not dialing own address");
                target.state = TargetState::Own;
                return;
            }
            FailureAction::ForgetPeer => target.peer = None,
            FailureAction::Retry => {
                if let (DialError::Denied { .. }, Some(peer)) = (error, peer) {
                    target.peer = Some(peer);
                }
            }
        }

        target.failures = target.failures.saturating_add(1);
        let delay = backoff(initial, max, target.failures);
        target.state = TargetState::Idle;
        target.next_attempt = now + delay;
        tracing::debug!(addr = %target.addr, %error, retry_in = ?delay, "dial failed");
    }

    /// Records an established outbound connection and learns the peer id of its address.
    pub fn dial_succeeded(&mut self, connection: ConnectionId, peer: PeerId) {
        if let Some(target) = self.target_dialing(connection) {
            target.peer = Some(peer);
            target.state = TargetState::Idle;
            target.failures = 0;
        }
    }

    /// Schedules a redial of every target of `peer` after it disconnected.
    pub fn peer_disconnected(&mut self, peer: &PeerId, now: Instant) {
        let delay = backoff(self.initial, self.max, 1);
        for target in self.targets.iter_mut().filter(|target| target.peer.as_ref() == Some(peer)) {
            if target.state == TargetState::Idle {
                target.next_attempt = now + delay;
            }
        }
    }

    fn target_dialing(&mut self, connection: ConnectionId) -> Option<&mut Target> {
        self.targets.iter_mut().find(|target| target.state == TargetState::Dialing(connection))
    }
}

fn failure_action(error: &DialError) -> FailureAction {
    match error {
        DialError::LocalPeerId { .. } => FailureAction::Stop,
        DialError::WrongPeerId { .. } => FailureAction::ForgetPeer,
        _ => FailureAction::Retry,
    }
}

/// Returns `initial * 2^(failures - 1)`, capped at `max`, plus up to half of `initial` of
/// random jitter. The jitter breaks the tie when two nodes dial each other at the same time
/// and each rejects the other's connection as a duplicate.
fn backoff(initial: Duration, max: Duration, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let base = initial.saturating_mul(1u32 << exponent).min(max);
    let jitter_ms = u64::try_from(initial.as_millis() / 2).unwrap_or(0);
    let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms));
    base + jitter
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let initial = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let first = backoff(initial, max, 1);
        assert!(first >= initial);
        assert!(first <= initial + initial / 2);
        let third = backoff(initial, max, 3);
        assert!(third >= initial * 4);
        assert!(third <= initial * 4 + initial / 2);
        let capped = backoff(initial, max, 40);
        assert!(capped >= max);
        assert!(capped <= max + initial / 2);
    }

    #[test]
    fn connected_peer_not_redialed() {
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let mut dialer = Dialer::new(vec![addr], Duration::from_millis(10), Duration::from_millis(50));
        let now = Instant::now();
        let dials = dialer.due_dials(now, |_| false);
        assert_eq!(dials.len(), 1);

        let peer = PeerId::random();
        dialer.dial_succeeded(dials[0].connection_id(), peer);
        assert!(dialer.due_dials(now + Duration::from_secs(1), |_| true).is_empty());
        assert_eq!(dialer.due_dials(now + Duration::from_secs(1), |_| false).len(), 1);
    }
}
