//! The Hashbridge node: one process per institution.
//!
//! [`run`] loads the node config, genesis and node key, opens the RocksDB store (checking
//! its integrity), starts libp2p networking and the HTTP API, and drives the PBFT core from
//! the event loop in [`runtime`] until SIGINT or SIGTERM.
//!
//! Durability order: consensus records are written with `sync` before the vote that
//! depends on them is sent. A committed block and all its index entries are written in one
//! synced batch before the API reports any of its transactions as committed.
//!
//! A node that starts with an empty data folder first requests its peers' heights.
//! When the chain is already past height 0, it saves a vote floor of the peers' height plus
//! two, syncs, and signs no vote below the floor, because it may have voted at the height in
//! progress before its data was lost.
//!
//! NOTE: the floor is only as good as the peers' answers. If no peer answers within the
//! bootstrap window, or all report height 0, the floor is 0 and a validator wiped while a
//! vote was in flight could sign a conflicting vote.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod backend;
pub mod host;
pub mod mempool;
pub mod runtime;
pub mod shared;
pub mod wire;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hashbridge_api::server::{serve, ServerConfig};
use hashbridge_config::node::LogFormat;
use hashbridge_config::{Genesis, NodeConfig};
use hashbridge_consensus::{CommittedTip, Config as CoreConfig, Core, Ed25519Signer, Ed25519Verifier, Record, Start};
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::KeyPair;
use hashbridge_network::{NetworkConfig, NetworkHandle, NetworkTuning};
use hashbridge_storage::{StorageError, Store};
use hashbridge_types::codec;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::host::Host;
use crate::mempool::{Mempool, MempoolLimits};
use crate::runtime::{fetch_blocks, fetch_head, Inbox, Runtime, RECORD_PREFIX};
use crate::shared::Shared;

/// The reason the node could not start or had to stop.
#[derive(Debug, Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] hashbridge_config::NodeConfigError),
    #[error(transparent)]
    Genesis(#[from] hashbridge_config::GenesisError),
    #[error(transparent)]
    Key(#[from] hashbridge_crypto::KeyFileError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("network: {0}")]
    Network(#[from] hashbridge_network::NetworkError),
    #[error("cannot listen for the API on {address}: {source}; choose a free port in [api] listen")]
    ApiListen { address: std::net::SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Setup(String),
    #[error("{0}")]
    Fatal(String),
}

/// Sets up `tracing` output with the format and filter from the node config.
pub fn init_logging(config: &hashbridge_config::node::LogConfig) -> Result<(), NodeError> {
    // A bare word is a target name to `EnvFilter`, so `level = "chatty"` would silence every
    // other target; each directive without `=` must therefore be a level.
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let bare_word = config.level.split(',').map(str::trim).find(|d| !d.contains('=') && !LEVELS.contains(&d.to_ascii_lowercase().as_str()));
    if let Some(word) = bare_word {
        return Err(NodeError::Setup(format!(
            "[log] level {:?} contains {word:?}, which is not a level; use trace, debug, info, warn or error, or target=level such as hashbridge_network=debug",
            config.level
        )));
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&config.level).map_err(|e| {
        NodeError::Setup(format!("[log] level {:?} is not a valid filter ({e}); use a level such as info or debug, or a directive such as info,hashbridge_network=debug", config.level))
    })?;
    // Colour codes only when a person is watching; log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let _ = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}

/// Loads everything a node needs from its config file.
pub fn load(config_path: &Path) -> Result<(NodeConfig, Genesis, KeyPair), NodeError> {
    let config = NodeConfig::load(config_path)?;
    let genesis = Genesis::load(&config.genesis)?;
    let key = KeyPair::read_file(&config.node_key, Some(KeyPurpose::Node))?;
    if genesis.node(&key.public_key()).is_none() {
        return Err(NodeError::Setup(format!(
            "node key {} ({}) is not listed under [[nodes]] in genesis {}; use the key generated for this chain",
            key.public_key(),
            config.node_key.display(),
            config.genesis.display()
        )));
    }
    Ok((config, genesis, key))
}

/// Runs a node until SIGINT or SIGTERM.
pub async fn run(config_path: &Path) -> Result<(), NodeError> {
    let (config, genesis, key) = load(config_path)?;
    let (shutdown_tx, shutdown_rx) = oneshot::channel();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutdown requested");
        let _ = shutdown_tx.send(());
    });
    run_with_shutdown(config, genesis, key, shutdown_rx).await
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs a node until `shutdown` resolves.
pub async fn run_with_shutdown(config: NodeConfig, genesis: Genesis, key: KeyPair, shutdown: oneshot::Receiver<()>) -> Result<(), NodeError> {
    let public_key = key.public_key();
    let genesis_hash = genesis.hash();
    std::fs::create_dir_all(&config.data_dir).map_err(|e| NodeError::Setup(format!("cannot create data folder {}: {e}", config.data_dir.display())))?;
    let store = Arc::new(open_store(&config.data_dir, genesis_hash)?);
    info!(node = %public_key.short(), chain = %genesis.chain_id, genesis = %genesis_hash, height = store.height(), data = %config.data_dir.display(), "store opened");

    let network_config = NetworkConfig {
        keypair: key.libp2p_keypair(),
        listen: config.p2p.listen,
        peers: config.p2p.peers.clone(),
        members: genesis.nodes.iter().map(|n| n.public_key).collect(),
        chain_tag: genesis_hash.to_hex().chars().take(16).collect(),
        max_frame_bytes: config.p2p.max_frame_bytes,
        tuning: NetworkTuning::default(),
    };
    let (network, events) = hashbridge_network::start(network_config).await?;

    let limits = MempoolLimits { max_transactions: config.mempool.max_transactions, max_bytes: config.mempool.max_bytes, expiry: config.mempool.expiry };
    let (new_tx_sender, new_tx_receiver) = mpsc::channel(16_384);
    let shared = Arc::new(Shared::new(genesis, config.clone(), public_key, store.clone(), Mempool::new(limits), new_tx_sender));

    let listener = tokio::net::TcpListener::bind(config.api.listen).await.map_err(|source| NodeError::ApiListen { address: config.api.listen, source })?;
    let (api_stop_tx, api_stop_rx) = oneshot::channel::<()>();
    let backend = backend::NodeBackend::new(shared.clone());
    let server_config = ServerConfig { max_body_bytes: config.api.max_body_bytes, ..ServerConfig::default() };
    let api_task = tokio::spawn(async move {
        if let Err(e) = serve(listener, backend, server_config, async move {
            let _ = api_stop_rx.await;
        })
        .await
        {
            warn!(error = %e, "API server stopped with an error");
        }
    });
    info!(api = %config.api.listen, p2p = %network.local_addr(), "listening");

    let mut host = Host::new(shared.clone());
    let vote_floor = bootstrap(&shared, &network, &mut host).await?;
    let (core, initial, record_counter) = start_core(&shared, key, vote_floor)?;

    let (sync_tx, sync_rx) = mpsc::channel(16);
    let runtime = Runtime::new(shared.clone(), core, host, network.clone(), record_counter, sync_tx);
    let inbox = Inbox { events, new_transactions: new_tx_receiver, sync_results: sync_rx, shutdown };
    let result = runtime.run(initial, inbox).await;

    shared.update_snapshot(|s| s.running = false);
    let _ = api_stop_tx.send(());
    let _ = api_task.await;
    network.shutdown().await;
    match &result {
        Ok(()) => info!(height = store.height(), "node stopped"),
        Err(e) => tracing::error!(error = %e, "node stopped on a fatal error"),
    }
    result
}

/// Opens the store and reports a data folder that RocksDB cannot read as corrupt, with the
/// recovery steps of [`StorageError::Corrupt`].
fn open_store(data_dir: &Path, genesis_hash: hashbridge_crypto::Hash32) -> Result<Store, StorageError> {
    // RocksDB treats a folder without CURRENT as a new database. When that open fails on
    // the files already there, it still leaves a new CURRENT behind, so the next start
    // would open an empty store and silently drop the old one.
    let has_files = std::fs::read_dir(data_dir).is_ok_and(|mut entries| entries.next().is_some());
    if has_files && !data_dir.join("CURRENT").exists() {
        let detail = "the RocksDB CURRENT file is missing, but the folder contains other files".to_string();
        return Err(StorageError::Corrupt { path: data_dir.to_path_buf(), detail });
    }
    Store::open(data_dir, genesis_hash).map_err(|error| match error {
        StorageError::Rocks { path, source } if is_unreadable_store(&source.to_string()) => StorageError::Corrupt { path, detail: source.to_string() },
        other => other,
    })
}

/// Whether a RocksDB open error means damaged or missing store files. The check reads the
/// RocksDB status text, because a held lock is also an "IO error" and must not be reported
/// as corruption.
fn is_unreadable_store(message: &str) -> bool {
    message.starts_with("Corruption:") || message.starts_with("IO error: No such file or directory")
}

/// Builds the consensus core from the store's head and persisted records.
fn start_core(shared: &Arc<Shared>, key: KeyPair, vote_floor: u64) -> Result<(Core<Ed25519Signer, Ed25519Verifier>, Vec<hashbridge_consensus::Action>, u64), NodeError> {
    let store = &shared.store;
    let mut records = Vec::new();
    let mut counter = 0u64;
    for (key_bytes, value) in store.consensus_records(RECORD_PREFIX)? {
        let record: Record = codec::decode(&value).map_err(|e| StorageError::Corrupt { path: store.path().to_path_buf(), detail: format!("consensus record: {e}") })?;
        if let Some(tail) = key_bytes.get(9..17).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            counter = counter.max(u64::from_be_bytes(tail));
        }
        records.push(record);
    }
    let head = store.head();
    let tip = CommittedTip {
        height: head.map_or(0, |h| h.height),
        hash: head.map_or(shared.genesis_hash, |h| h.hash),
        timestamp_ms: head.map_or(0, |h| h.timestamp_ms),
    };
    let c = &shared.genesis.consensus;
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let config = CoreConfig {
        chain_id: shared.genesis.chain_id.clone(),
        validators: shared.genesis.validator_set(),
        local_key: key.public_key(),
        leader_period: c.leader_period,
        consensus_timeout_ms: millis(c.consensus_timeout),
        max_consensus_timeout_ms: millis(c.max_consensus_timeout),
        checkpoint_interval: c.checkpoint_interval,
        max_clock_drift_ms: millis(c.max_clock_drift),
        max_block_transactions: c.max_block_transactions as usize,
        max_block_bytes: usize::try_from(c.max_block_bytes).unwrap_or(usize::MAX),
    };
    info!(height = tip.height, records = records.len(), vote_floor, "starting consensus");
    let (core, actions) = Core::new(config, Ed25519Signer::new(key), Ed25519Verifier, Start { tip, records, vote_floor })
        .map_err(|e| NodeError::Setup(format!("consensus configuration is invalid: {e}")))?;
    Ok((core, actions, counter))
}

/// Key of the persisted vote floor in the consensus column family.
const VOTE_FLOOR_KEY: &[u8] = b"vote_floor";

fn stored_vote_floor(store: &Store) -> Result<u64, NodeError> {
    let bytes = store.get_consensus(VOTE_FLOOR_KEY)?;
    Ok(bytes.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok()).map_or(0, u64::from_be_bytes))
}

/// Finds the vote floor. On an empty data folder it requests the peers' heights. If the
/// chain has progressed, it saves the floor (with `sync`) before syncing to that height.
/// A saved floor is kept across restarts, so a second restart cannot lower it.
async fn bootstrap(shared: &Arc<Shared>, network: &NetworkHandle, host: &mut Host) -> Result<u64, NodeError> {
    let store = &shared.store;
    let saved = stored_vote_floor(store)?;
    if store.height() > 0 || saved > 0 || !store.consensus_records(RECORD_PREFIX)?.is_empty() {
        return Ok(saved);
    }
    let wait = shared.genesis.consensus.consensus_timeout.min(Duration::from_secs(5));
    let deadline = tokio::time::Instant::now() + wait;
    let mut best: Option<(u64, hashbridge_crypto::PublicKey)> = None;
    let mut asked = std::collections::BTreeSet::new();
    // Head requests run concurrently and end at the deadline. A peer that is still in its
    // own bootstrap does not serve requests, so asking peers one after another would delay
    // the start by the network request timeout for each such peer.
    let mut requests = tokio::task::JoinSet::new();
    while tokio::time::Instant::now() < deadline {
        for peer in network.connected_peers() {
            if asked.insert(peer) {
                let network = network.clone();
                requests.spawn(async move { (peer, fetch_head(&network, peer).await) });
            }
        }
        let tick = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(tick);
        loop {
            tokio::select! {
                Some(Ok((peer, Ok((height, _))))) = requests.join_next() => {
                    if best.is_none_or(|(h, _)| height > h) {
                        best = Some((height, peer));
                    }
                }
                () = &mut tick => break,
            }
        }
    }
    requests.abort_all();
    let Some((best_height, peer)) = best.filter(|(h, _)| *h > 0) else {
        return Ok(0);
    };
    let floor = best_height + 2;
    store.put_consensus(VOTE_FLOOR_KEY, &floor.to_be_bytes())?;
    info!(peers_height = best_height, vote_floor = floor, "data folder is empty but the chain has progressed: syncing, and signing no vote below the floor");

    while store.height() < best_height {
        let from = store.height() + 1;
        let blocks = fetch_blocks(network, peer, from).await.map_err(|e| NodeError::Fatal(format!("initial sync from {} failed: {e}", peer.short())))?;
        if blocks.is_empty() {
            break;
        }
        for (block, certificate) in blocks {
            host.commit(block, certificate).map_err(|e| NodeError::Fatal(format!("initial sync: {e}")))?;
        }
    }
    shared.update_snapshot(|s| s.best_known_height = best_height);
    Ok(floor)
}
