//! Helpers shared by the network tests: keys, configs and polling with generous timeouts.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::time::Duration;

use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::{KeyPair, PublicKey};
use hashbridge_network::{NetworkConfig, NetworkEvent, NetworkHandle, NetworkTuning};
use tokio::sync::mpsc;

pub const CHAIN_TAG: &str = "testchain";
pub const MAX_FRAME: u32 = 64 * 1024;

/// Upper bound for any condition a test waits for. Conditions normally hold within a second.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn key(seed: u8) -> KeyPair {
    KeyPair::from_seed([seed; 32], KeyPurpose::Node)
}

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub fn config(key: &KeyPair, members: &[&KeyPair], listen: SocketAddr, peers: Vec<SocketAddr>) -> NetworkConfig {
    NetworkConfig {
        keypair: key.libp2p_keypair(),
        listen,
        peers,
        members: members.iter().map(|member| member.public_key()).collect(),
        chain_tag: CHAIN_TAG.to_owned(),
        max_frame_bytes: MAX_FRAME,
        tuning: NetworkTuning {
            redial_initial: Duration::from_millis(100),
            redial_max: Duration::from_secs(1),
            request_timeout: Duration::from_secs(5),
            ..NetworkTuning::default()
        },
    }
}

pub async fn start(config: NetworkConfig) -> (NetworkHandle, mpsc::Receiver<NetworkEvent>) {
    hashbridge_network::start(config).await.expect("network starts")
}

/// Polls `condition` every 20 ms until it holds, failing the test after `PATIENCE`.
pub async fn wait_until(description: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {description}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn wait_connected(handle: &NetworkHandle, peer: PublicKey) {
    wait_until(&format!("peer {} is connected", peer.short()), || handle.connected_peers().contains(&peer)).await;
}

/// Returns the next event that `matches` accepts, skipping others, failing after `PATIENCE`.
pub async fn next_event(
    events: &mut mpsc::Receiver<NetworkEvent>,
    description: &str,
    mut matches: impl FnMut(&NetworkEvent) -> bool,
) -> NetworkEvent {
    let found = async {
        loop {
            let event = events.recv().await.expect("event channel open");
            if matches(&event) {
                return event;
            }
        }
    };
    tokio::time::timeout(PATIENCE, found).await.unwrap_or_else(|_| panic!("timed out waiting for {description}"))
}

/// Waits for a one-way message and returns its channel and payload.
pub async fn next_message(events: &mut mpsc::Receiver<NetworkEvent>, from: PublicKey) -> (hashbridge_network::Channel, Vec<u8>) {
    let event = next_event(events, "a message", |event| matches!(event, NetworkEvent::Message { from: sender, .. } if *sender == from)).await;
    match event {
        NetworkEvent::Message { channel, payload, .. } => (channel, payload),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Returns a loopback address whose port was free a moment ago.
pub fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind(loopback()).expect("bind an ephemeral port");
    listener.local_addr().expect("local address")
}
