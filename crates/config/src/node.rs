//! The node config file: what one node needs to run, beside the shared genesis.
//!
//! Relative paths are resolved against the folder holding the config file, so a chain
//! folder written by `hashbridge chain new` can be moved as a whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest node config file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Path of the genesis file.
    pub genesis: PathBuf,
    /// Folder for the node's RocksDB store.
    pub data_dir: PathBuf,
    /// Path of the node's key file.
    pub node_key: PathBuf,
    pub p2p: P2pConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub mempool: MempoolConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pConfig {
    /// Address the node accepts peer connections on.
    pub listen: SocketAddr,
    /// Addresses of the other nodes to dial.
    #[serde(default)]
    pub peers: Vec<SocketAddr>,
    /// Largest network frame accepted from a peer, in bytes.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: u32,
}

fn default_max_frame_bytes() -> u32 {
    16 * 1024 * 1024
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Address of the HTTP API. Loopback by default: expose it only behind the
    /// institution's own access control.
    #[serde(default = "default_api_listen")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
}

fn default_api_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 20200))
}

fn default_max_body_bytes() -> usize {
    4 * 1024 * 1024
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { listen: default_api_listen(), max_body_bytes: default_max_body_bytes() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,hashbridge_network=debug`.
    #[serde(default = "default_log_level")]
    pub level: String,
}

fn default_log_level() -> String {
    "info".into()
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: LogFormat::Text, level: default_log_level() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most transactions waiting for a block.
    #[serde(default = "default_mempool_transactions")]
    pub max_transactions: usize,
    /// Most encoded bytes of transactions waiting for a block.
    #[serde(default = "default_mempool_bytes")]
    pub max_bytes: usize,
    /// How long a transaction may wait before it is dropped.
    #[serde(default = "default_mempool_expiry", with = "humantime_serde")]
    pub expiry: Duration,
}

fn default_mempool_transactions() -> usize {
    15_000
}
fn default_mempool_bytes() -> usize {
    64 * 1024 * 1024
}
fn default_mempool_expiry() -> Duration {
    Duration::from_secs(600)
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_transactions: default_mempool_transactions(),
            max_bytes: default_mempool_bytes(),
            expiry: default_mempool_expiry(),
        }
    }
}

/// Reason a node config file is unusable.
#[derive(Debug, Error)]
pub enum NodeConfigError {
    #[error("cannot read node config {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("node config {path} is invalid: {reason}")]
    Invalid { path: String, reason: String },
}

impl NodeConfig {
    /// Reads, parses and validates a node config, resolving relative paths against its folder.
    pub fn load(path: &Path) -> Result<Self, NodeConfigError> {
        let shown = path.display().to_string();
        let invalid = |reason: String| NodeConfigError::Invalid { path: shown.clone(), reason };
        let io_error = |source| NodeConfigError::Io { path: shown.clone(), source };

        let size = std::fs::metadata(path).map_err(io_error)?.len();
        if size > MAX_CONFIG_BYTES {
            return Err(invalid(format!("the file is {size} bytes, more than the {MAX_CONFIG_BYTES} a config can be")));
        }
        let text = std::fs::read_to_string(path).map_err(io_error)?;
        let mut config: NodeConfig = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;

        let base = path.parent().unwrap_or_else(|| Path::new("."));
        config.genesis = base.join(&config.genesis);
        config.data_dir = base.join(&config.data_dir);
        config.node_key = base.join(&config.node_key);
        config.validate().map_err(invalid)?;
        Ok(config)
    }

    /// Checks the values that serde cannot; returns the reason on failure.
    pub fn validate(&self) -> Result<(), String> {
        if self.p2p.peers.contains(&self.p2p.listen) {
            return Err(format!("p2p.peers contains this node's own listen address {}; remove it", self.p2p.listen));
        }
        if self.p2p.max_frame_bytes < 64 * 1024 {
            return Err("p2p.max_frame_bytes must be at least 65536".into());
        }
        if self.api.max_body_bytes < 1024 {
            return Err("api.max_body_bytes must be at least 1024".into());
        }
        if self.mempool.max_transactions == 0 || self.mempool.max_bytes == 0 {
            return Err("mempool.max_transactions and mempool.max_bytes must be at least 1".into());
        }
        if self.log.format == LogFormat::Text && self.log.level.trim().is_empty() {
            return Err("log.level must not be empty; use info".into());
        }
        Ok(())
    }
}
