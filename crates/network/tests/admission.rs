//! Rejection of non-members, duplicate keys and oversized frames, and reconnection after a
//! restart, over real loopback sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io;
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use futures::{AsyncRead, AsyncWrite, AsyncWriteExt, StreamExt};
use hashbridge_network::{message_protocol, Channel};
use libp2p::request_response::{self as rr, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, StreamProtocol, SwarmBuilder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_member_rejected() {
    init_tracing();
    let (a, b, outsider) = (key(51), key(52), key(53));
    let (net_a, _events_a) = start(config(&a, &[&a, &b], loopback(), vec![])).await;
    // The outsider accepts A, but A does not list the outsider.
    let (net_x, _events_x) = start(config(&outsider, &[&a, &outsider], loopback(), vec![net_a.local_addr()])).await;

    wait_until("A rejects the outsider", || net_a.stats().rejected_non_member >= 1).await;
    assert!(!net_a.connected_peers().contains(&outsider.public_key()));

    // A member still connects after the rejection.
    let (net_b, _events_b) = start(config(&b, &[&a, &b], loopback(), vec![net_a.local_addr()])).await;
    wait_connected(&net_a, b.public_key()).await;
    assert_eq!(net_a.connected_peers(), vec![b.public_key()]);

    net_x.shutdown().await;
    net_b.shutdown().await;
    net_a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_key_rejected() {
    init_tracing();
    let (a, b) = (key(61), key(62));
    let members = [&a, &b];
    let (net_a, _events_a) = start(config(&a, &members, loopback(), vec![])).await;
    let (net_b, mut events_b) = start(config(&b, &members, loopback(), vec![net_a.local_addr()])).await;
    wait_connected(&net_a, b.public_key()).await;

    // A second process presenting B's key.
    let (net_twin, mut events_twin) = start(config(&b, &members, loopback(), vec![net_a.local_addr()])).await;
    wait_until("A rejects the second connection", || net_a.stats().rejected_duplicate >= 1).await;

    // The first connection keeps working and carries A's messages to the original B.
    net_a.send(b.public_key(), Channel::Consensus, b"still here".to_vec());
    assert_eq!(next_message(&mut events_b, a.public_key()).await, (Channel::Consensus, b"still here".to_vec()));
    assert_eq!(net_a.connected_peers(), vec![b.public_key()]);
    assert!(!std::iter::from_fn(|| events_twin.try_recv().ok())
        .any(|event| matches!(event, hashbridge_network::NetworkEvent::Message { .. })));

    net_twin.shutdown().await;
    net_b.shutdown().await;
    net_a.shutdown().await;
}

/// A request codec that announces a frame one byte above the limit and then writes a few bytes.
#[derive(Debug, Clone, Copy)]
struct OversizedCodec;

#[async_trait]
impl rr::Codec for OversizedCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Vec<u8>> {
        Err(io::Error::other("test peer reads no requests"))
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<Vec<u8>> {
        Err(io::Error::other("test peer reads no responses"))
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T, request: Vec<u8>) -> io::Result<()> {
        io.write_all(&(MAX_FRAME + 1).to_be_bytes()).await?;
        io.write_all(&request).await?;
        io.flush().await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(&mut self, _: &StreamProtocol, _: &mut T, _: Vec<u8>) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_disconnects_peer() {
    init_tracing();
    let (a, b, rogue) = (key(71), key(72), key(73));
    let members = [&a, &b, &rogue];
    let (net_a, mut events_a) = start(config(&a, &members, loopback(), vec![])).await;
    let (net_b, mut events_b) = start(config(&b, &members, loopback(), vec![net_a.local_addr()])).await;
    wait_connected(&net_a, b.public_key()).await;

    // The rogue has a member key, so it passes admission, and speaks raw libp2p.
    let protocol = StreamProtocol::try_from_owned(message_protocol(CHAIN_TAG, Channel::Consensus)).unwrap();
    let mut rogue_swarm = SwarmBuilder::with_existing_identity(rogue.libp2p_keypair())
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|_| rr::Behaviour::with_codec(OversizedCodec, [(protocol, ProtocolSupport::Outbound)], rr::Config::default()))
        .unwrap()
        .with_swarm_config(|swarm_config| swarm_config.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let a_addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{}", net_a.local_addr().port()).parse().unwrap();
    rogue_swarm.dial(a_addr).unwrap();

    let closed = async {
        loop {
            match rogue_swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    rogue_swarm.behaviour_mut().send_request(&peer_id, vec![0xAB; 64]);
                }
                SwarmEvent::ConnectionClosed { .. } => return,
                _ => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, closed).await.expect("A closes the rogue connection");

    wait_until("A counts the misbehaviour", || net_a.stats().misbehaviour_disconnects >= 1).await;
    wait_until("A removes the rogue from its peers", || !net_a.connected_peers().contains(&rogue.public_key())).await;
    assert_eq!(net_a.stats().messages_in, 0);

    // A keeps serving B in both directions.
    net_a.send(b.public_key(), Channel::Transaction, b"after the attack".to_vec());
    assert_eq!(next_message(&mut events_b, a.public_key()).await, (Channel::Transaction, b"after the attack".to_vec()));
    net_b.send(a.public_key(), Channel::Consensus, b"reply".to_vec());
    assert_eq!(next_message(&mut events_a, b.public_key()).await, (Channel::Consensus, b"reply".to_vec()));

    net_b.shutdown().await;
    net_a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banned_peer_rejected_after_disconnect() {
    init_tracing();
    let (a, b) = (key(81), key(82));
    let members = [&a, &b];
    let (net_a, _events_a) = start(config(&a, &members, loopback(), vec![])).await;
    let (net_b, _events_b) = start(config(&b, &members, loopback(), vec![net_a.local_addr()])).await;
    wait_connected(&net_a, b.public_key()).await;

    net_a.disconnect(b.public_key(), "invalid vote signature");
    wait_until("A disconnects B", || !net_a.connected_peers().contains(&b.public_key())).await;
    // B redials within a second and is rejected while the ban lasts.
    wait_until("A rejects B's redial", || net_a.stats().rejected_banned >= 1).await;
    assert_eq!(net_a.stats().misbehaviour_disconnects, 1);
    assert!(net_a.connected_peers().is_empty());

    net_b.shutdown().await;
    net_a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_member_reconnects() {
    init_tracing();
    let (a, b) = (key(91), key(92));
    let members = [&a, &b];
    let b_addr = free_addr();
    // A starts first and keeps redialing B's address until B is up.
    let (net_a, mut events_a) = start(config(&a, &members, loopback(), vec![b_addr])).await;
    let (net_b, mut events_b) = start(config(&b, &members, b_addr, vec![])).await;
    wait_connected(&net_a, b.public_key()).await;
    net_a.send(b.public_key(), Channel::Consensus, b"first".to_vec());
    assert_eq!(next_message(&mut events_b, a.public_key()).await, (Channel::Consensus, b"first".to_vec()));

    net_b.shutdown().await;
    drop(events_b);
    next_event(&mut events_a, "B disconnects", |event| {
        matches!(event, hashbridge_network::NetworkEvent::PeerDisconnected(peer) if *peer == b.public_key())
    })
    .await;

    let (net_b, mut events_b) = start(config(&b, &members, b_addr, vec![])).await;
    wait_connected(&net_a, b.public_key()).await;
    net_a.send(b.public_key(), Channel::Consensus, b"second".to_vec());
    assert_eq!(next_message(&mut events_b, a.public_key()).await, (Channel::Consensus, b"second".to_vec()));

    net_b.shutdown().await;
    net_a.shutdown().await;
}
