//! Members connecting and exchanging messages and block requests over real loopback sockets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use hashbridge_network::{Channel, NetworkError, NetworkEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_exchange_every_channel() {
    init_tracing();
    let (a, b, c) = (key(1), key(2), key(3));
    let members = [&a, &b, &c];
    let (net_a, mut events_a) = start(config(&a, &members, loopback(), vec![])).await;
    let (net_b, mut events_b) = start(config(&b, &members, loopback(), vec![net_a.local_addr()])).await;
    let peers_c = vec![net_a.local_addr(), net_b.local_addr()];
    let (net_c, mut events_c) = start(config(&c, &members, loopback(), peers_c)).await;

    wait_connected(&net_a, b.public_key()).await;
    wait_connected(&net_a, c.public_key()).await;
    wait_connected(&net_b, c.public_key()).await;
    wait_connected(&net_c, a.public_key()).await;

    for channel in Channel::ALL {
        let payload = format!("a to b on {channel}").into_bytes();
        net_a.send(b.public_key(), channel, payload.clone());
        assert_eq!(next_message(&mut events_b, a.public_key()).await, (channel, payload));

        let payload = format!("c to all on {channel}").into_bytes();
        net_c.broadcast(channel, payload.clone());
        assert_eq!(next_message(&mut events_a, c.public_key()).await, (channel, payload.clone()));
        assert_eq!(next_message(&mut events_b, c.public_key()).await, (channel, payload));
    }

    let stats_c = net_c.stats();
    assert_eq!(stats_c.messages_out, 6);
    assert_eq!(stats_c.dropped_outbound, 0);
    assert_eq!(net_b.stats().messages_in, 6);
    assert_eq!(net_a.stats().rejected_non_member, 0);

    // Drain C's events so nothing is left unread when the nodes stop.
    while events_c.try_recv().is_ok() {}
    net_a.shutdown().await;
    net_b.shutdown().await;
    net_c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_request_returns_response() {
    init_tracing();
    let (a, b) = (key(11), key(12));
    let members = [&a, &b];
    let (net_a, mut events_a) = start(config(&a, &members, loopback(), vec![])).await;
    let (net_b, _events_b) = start(config(&b, &members, loopback(), vec![net_a.local_addr()])).await;
    wait_connected(&net_b, a.public_key()).await;

    // A replies to every block request with the payload reversed, except "ignore", whose reply it drops.
    let responder = tokio::spawn(async move {
        while let Some(event) = events_a.recv().await {
            if let NetworkEvent::BlockRequest { payload, reply, .. } = event {
                if payload != b"ignore" {
                    let _ = reply.send(payload.iter().rev().copied().collect());
                }
            }
        }
    });

    let response = net_b.request_blocks(a.public_key(), b"height 7..9".to_vec()).await;
    assert_eq!(response.unwrap(), b"9..7 thgieh".to_vec());

    let unanswered = net_b.request_blocks(a.public_key(), b"ignore".to_vec()).await;
    assert!(matches!(unanswered, Err(NetworkError::RequestFailed { .. })), "got {unanswered:?}");

    let stranger = key(13).public_key();
    let not_member = net_b.request_blocks(stranger, b"x".to_vec()).await;
    assert!(matches!(not_member, Err(NetworkError::NotMember { .. })), "got {not_member:?}");

    let too_large = net_b.request_blocks(a.public_key(), vec![0u8; MAX_FRAME as usize + 1]).await;
    assert!(matches!(too_large, Err(NetworkError::PayloadTooLarge { .. })), "got {too_large:?}");

    assert_eq!(net_a.stats().block_requests_in, 2);
    net_b.shutdown().await;
    net_a.shutdown().await;
    responder.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_request_to_disconnected_peer_fails() {
    init_tracing();
    let (a, b) = (key(21), key(22));
    let (net_a, _events_a) = start(config(&a, &[&a, &b], loopback(), vec![])).await;

    let result = net_a.request_blocks(b.public_key(), b"1".to_vec()).await;
    assert!(matches!(result, Err(NetworkError::NotConnected { .. })), "got {result:?}");
    net_a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_on_used_port_names_address() {
    init_tracing();
    let a = key(31);
    let (net_a, _events_a) = start(config(&a, &[&a], loopback(), vec![])).await;
    let used = net_a.local_addr();

    let error = hashbridge_network::start(config(&key(32), &[&a], used, vec![])).await.expect_err("bind fails");
    assert!(matches!(error, NetworkError::Listen { addr, .. } if addr == used), "got {error:?}");
    assert!(error.to_string().contains(&used.to_string()), "message: {error}");
    net_a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_chain_tags_never_exchange() {
    init_tracing();
    let (a, b) = (key(41), key(42));
    let members = [&a, &b];
    let (net_a, mut events_a) = start(config(&a, &members, loopback(), vec![])).await;
    let mut other_chain = config(&b, &members, loopback(), vec![net_a.local_addr()]);
    other_chain.chain_tag = "otherchain".to_owned();
    let (net_b, _events_b) = start(other_chain).await;
    wait_connected(&net_b, a.public_key()).await;

    // The consensus protocol names differ, so negotiation fails and A receives nothing.
    net_b.send(a.public_key(), Channel::Consensus, b"wrong chain".to_vec());
    let result = net_b.request_blocks(a.public_key(), b"1".to_vec()).await;
    assert!(matches!(result, Err(NetworkError::RequestFailed { .. })), "got {result:?}");
    assert!(
        !std::iter::from_fn(|| events_a.try_recv().ok()).any(|event| matches!(event, NetworkEvent::Message { .. })),
        "A received a message from another chain"
    );
    assert_eq!(net_a.stats().messages_in, 0);
    net_a.shutdown().await;
    net_b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_dial_settles_on_one_connection() {
    init_tracing();
    let (a, b) = (key(101), key(102));
    let members = [&a, &b];
    let (a_addr, b_addr) = (free_addr(), free_addr());
    // Each node lists the other, so both dial at start and one of the two connections is rejected.
    let (start_a, start_b) = tokio::join!(
        start(config(&a, &members, a_addr, vec![b_addr])),
        start(config(&b, &members, b_addr, vec![a_addr])),
    );
    let ((net_a, mut events_a), (net_b, mut events_b)) = (start_a, start_b);
    wait_connected(&net_a, b.public_key()).await;
    wait_connected(&net_b, a.public_key()).await;

    net_a.send(b.public_key(), Channel::Consensus, b"from a".to_vec());
    assert_eq!(next_message(&mut events_b, a.public_key()).await, (Channel::Consensus, b"from a".to_vec()));
    net_b.send(a.public_key(), Channel::Consensus, b"from b".to_vec());
    assert_eq!(next_message(&mut events_a, b.public_key()).await, (Channel::Consensus, b"from b".to_vec()));
    assert_eq!(net_a.connected_peers(), vec![b.public_key()]);
    assert_eq!(net_b.connected_peers(), vec![a.public_key()]);

    net_a.shutdown().await;
    net_b.shutdown().await;
}
