//! Generation of a complete chain folder, the engine of `hashbridge chain new`.
//!
//! The folder holds:
//!
//! ```text
//! OUT/genesis.toml                         shared by every node
//! OUT/institutions/<id>/account.key        each institution's transaction signing key
//! OUT/nodes/<name>/node.key                each node's consensus and network key
//! OUT/nodes/<name>/node.toml               each node's config, with distinct ports
//! ```
//!
//! Keys are written with mode 0600. Generation rejects a folder that already contains a
//! chain, so an existing chain's keys are never replaced.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use hashbridge_crypto::keys::{KeyFileError, KeyPurpose};
use hashbridge_crypto::KeyPair;
use serde::Deserialize;
use thiserror::Error;

use crate::genesis::{ConsensusParams, Genesis, GenesisError, Institution, InstitutionRole, NodeEntry, NodeRole, CRYPTO_SUITE_SHA256_ED25519};
use crate::node::{ApiConfig, LogConfig, MempoolConfig, NodeConfig, P2pConfig};

/// Largest chain that can be generated, which bounds the files written.
pub const MAX_GENERATED_NODES: usize = 100;

/// One institution of a chain spec and the nodes it runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstitutionSpec {
    pub id: String,
    pub name: String,
    pub jurisdiction: String,
    pub roles: Vec<InstitutionRole>,
    #[serde(default)]
    pub validators: usize,
    #[serde(default)]
    pub observers: usize,
}

/// Chain to generate, read from a spec file or built from command-line counts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    pub chain_id: String,
    #[serde(default)]
    pub consensus: ConsensusParams,
    pub institutions: Vec<InstitutionSpec>,
    /// First P2P port; node `i` gets `p2p_port_base + i`.
    #[serde(default = "default_p2p_port_base")]
    pub p2p_port_base: u16,
    /// First API port; node `i` gets `api_port_base + i`.
    #[serde(default = "default_api_port_base")]
    pub api_port_base: u16,
    /// Address every node listens on; loopback by default.
    #[serde(default = "default_host")]
    pub host: IpAddr,
}

fn default_p2p_port_base() -> u16 {
    30300
}
fn default_api_port_base() -> u16 {
    20200
}
fn default_host() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

const CN_GD_AGENCIES: [(&str, &str); 2] = [("sz-credit", "Shenzhen Credit Services"), ("qh-credit", "Qianhai Credit Reference")];
const HK_MEMBERS: [(&str, &str); 2] = [("hk-bank", "Harbour Bank of Hong Kong"), ("hk-credit", "Hong Kong Credit Bureau")];

impl ChainSpec {
    /// The default consortium: validators spread over Shenzhen and Hong Kong institutions,
    /// and observers run by a regulator.
    pub fn standard(chain_id: &str, validators: usize, observers: usize) -> Self {
        let mut institutions = Vec::new();
        for i in 0..validators {
            let mainland = i % 2 == 0;
            let pair = i / 2;
            let (id, name, jurisdiction) = match (mainland, CN_GD_AGENCIES.get(pair), HK_MEMBERS.get(pair)) {
                (true, Some((id, name)), _) => (id.to_string(), name.to_string(), "CN-GD"),
                (false, _, Some((id, name))) => (id.to_string(), name.to_string(), "HK"),
                (true, None, _) => (format!("gd-member-{}", pair + 1), format!("Guangdong Member {}", pair + 1), "CN-GD"),
                (false, _, None) => (format!("hk-member-{}", pair + 1), format!("Hong Kong Member {}", pair + 1), "HK"),
            };
            institutions.push(InstitutionSpec {
                id,
                name,
                jurisdiction: jurisdiction.into(),
                roles: vec![InstitutionRole::Issuer, InstitutionRole::Verifier],
                validators: 1,
                observers: 0,
            });
        }
        if observers > 0 {
            institutions.push(InstitutionSpec {
                id: "gba-regulator".into(),
                name: "Greater Bay Area Credit Regulator".into(),
                jurisdiction: "CN-GD".into(),
                roles: vec![InstitutionRole::Regulator],
                validators: 0,
                observers,
            });
        }
        ChainSpec {
            chain_id: chain_id.into(),
            consensus: ConsensusParams::default(),
            institutions,
            p2p_port_base: default_p2p_port_base(),
            api_port_base: default_api_port_base(),
            host: default_host(),
        }
    }

    /// Reads a spec file.
    pub fn load(path: &Path) -> Result<Self, GenerateError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenerateError::Io { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|e| GenerateError::Spec { path: path.to_path_buf(), reason: e.to_string() })
    }
}

/// Reason a chain could not be generated.
#[derive(Debug, Error)]
pub enum GenerateError {
    #[error("{path} already holds a chain (genesis.toml or nodes/ exists); choose another --out folder or remove it first")]
    AlreadyExists { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("chain spec {path} is invalid: {reason}")]
    Spec { path: PathBuf, reason: String },
    #[error("a chain of {0} nodes is more than the {MAX_GENERATED_NODES} this command generates")]
    TooManyNodes(usize),
    #[error("port {base} + {count} nodes goes past port 65535; choose a lower port base")]
    PortOverflow { base: u16, count: usize },
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("the generated genesis is invalid: {0}")]
    Genesis(#[from] GenesisError),
    #[error("cannot render TOML: {0}")]
    Render(String),
}

/// A node written by [`generate`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct GeneratedNode {
    pub name: String,
    pub institution: String,
    pub role: NodeRole,
    pub public_key: String,
    pub peer_id: String,
    pub config: PathBuf,
    pub p2p_listen: SocketAddr,
    pub api_listen: SocketAddr,
}

/// Files and nodes that [`generate`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GeneratedChain {
    pub chain_id: String,
    pub genesis_hash: String,
    pub genesis: PathBuf,
    pub nodes: Vec<GeneratedNode>,
    pub account_keys: Vec<(String, PathBuf)>,
}

struct PlannedNode {
    name: String,
    institution: String,
    role: NodeRole,
    key: KeyPair,
    p2p: SocketAddr,
    api: SocketAddr,
}

/// Writes a complete chain folder for `spec` under `out`.
pub fn generate(spec: &ChainSpec, out: &Path) -> Result<GeneratedChain, GenerateError> {
    if out.join("genesis.toml").exists() || out.join("nodes").exists() {
        return Err(GenerateError::AlreadyExists { path: out.to_path_buf() });
    }
    let total: usize = spec.institutions.iter().map(|i| i.validators + i.observers).sum();
    if total > MAX_GENERATED_NODES {
        return Err(GenerateError::TooManyNodes(total));
    }
    for base in [spec.p2p_port_base, spec.api_port_base] {
        if usize::from(base) + total > usize::from(u16::MAX) {
            return Err(GenerateError::PortOverflow { base, count: total });
        }
    }

    let (institutions, account_keys) = plan_institutions(spec);
    let nodes = plan_nodes(spec);
    let genesis = Genesis {
        chain_id: spec.chain_id.clone(),
        crypto_suite: CRYPTO_SUITE_SHA256_ED25519.into(),
        consensus: spec.consensus.clone(),
        institutions,
        nodes: nodes
            .iter()
            .map(|n| NodeEntry {
                name: n.name.clone(),
                public_key: n.key.public_key(),
                institution: n.institution.clone(),
                role: n.role,
                weight: u64::from(n.role == NodeRole::Validator),
            })
            .collect(),
    };
    genesis.validate()?;

    write_chain(out, &genesis, &account_keys, &nodes)
}

fn plan_institutions(spec: &ChainSpec) -> (Vec<Institution>, Vec<(String, KeyPair)>) {
    let mut institutions = Vec::new();
    let mut keys = Vec::new();
    for inst in &spec.institutions {
        let key = KeyPair::generate(KeyPurpose::Account);
        institutions.push(Institution {
            id: inst.id.clone(),
            name: inst.name.clone(),
            jurisdiction: inst.jurisdiction.clone(),
            roles: inst.roles.clone(),
            account_keys: vec![key.public_key()],
        });
        keys.push((inst.id.clone(), key));
    }
    (institutions, keys)
}

fn plan_nodes(spec: &ChainSpec) -> Vec<PlannedNode> {
    let mut nodes = Vec::new();
    for inst in &spec.institutions {
        let roles = std::iter::repeat_n(NodeRole::Validator, inst.validators).chain(std::iter::repeat_n(NodeRole::Observer, inst.observers));
        for (k, role) in roles.enumerate() {
            let index = nodes.len() as u16;
            let name = if inst.validators + inst.observers == 1 { format!("{}-node", inst.id) } else { format!("{}-node{}", inst.id, k + 1) };
            nodes.push(PlannedNode {
                name,
                institution: inst.id.clone(),
                role,
                key: KeyPair::generate(KeyPurpose::Node),
                p2p: SocketAddr::new(spec.host, spec.p2p_port_base + index),
                api: SocketAddr::new(spec.host, spec.api_port_base + index),
            });
        }
    }
    nodes
}

fn write_chain(out: &Path, genesis: &Genesis, account_keys: &[(String, KeyPair)], nodes: &[PlannedNode]) -> Result<GeneratedChain, GenerateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GenerateError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;

    let genesis_path = out.join("genesis.toml");
    let genesis_text = genesis.to_toml().map_err(|e| GenerateError::Render(e.to_string()))?;
    std::fs::write(&genesis_path, genesis_text).map_err(io(&genesis_path))?;

    let mut written_accounts = Vec::new();
    for (id, key) in account_keys {
        let dir = out.join("institutions").join(id);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join("account.key");
        key.write_file(&path)?;
        written_accounts.push((id.clone(), path));
    }

    let mut written_nodes = Vec::new();
    for node in nodes {
        let dir = out.join("nodes").join(&node.name);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        node.key.write_file(&dir.join("node.key"))?;

        let config = NodeConfig {
            genesis: PathBuf::from("../../genesis.toml"),
            data_dir: PathBuf::from("data"),
            node_key: PathBuf::from("node.key"),
            p2p: P2pConfig {
                listen: node.p2p,
                peers: nodes.iter().filter(|n| n.name != node.name).map(|n| n.p2p).collect(),
                max_frame_bytes: 16 * 1024 * 1024,
            },
            api: ApiConfig { listen: node.api, ..ApiConfig::default() },
            log: LogConfig::default(),
            mempool: MempoolConfig::default(),
        };
        let config_path = dir.join("node.toml");
        let body = toml::to_string_pretty(&config).map_err(|e| GenerateError::Render(e.to_string()))?;
        let text = format!(
            "# Hashbridge node config for {name} ({role:?} of {institution}).\n\
             # Start it with: hashbridge node run --config {path}\n\
             # Relative paths are resolved against this file's folder.\n\n{body}",
            name = node.name,
            role = node.role,
            institution = node.institution,
            path = config_path.display(),
        );
        std::fs::write(&config_path, text).map_err(io(&config_path))?;

        let public_key = node.key.public_key();
        written_nodes.push(GeneratedNode {
            name: node.name.clone(),
            institution: node.institution.clone(),
            role: node.role,
            public_key: public_key.to_hex(),
            peer_id: public_key.peer_id().map(|p| p.to_string()).unwrap_or_default(),
            config: config_path,
            p2p_listen: node.p2p,
            api_listen: node.api,
        });
    }

    Ok(GeneratedChain {
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash().to_hex(),
        genesis: genesis_path,
        nodes: written_nodes,
        account_keys: written_accounts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_chain_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let spec = ChainSpec::standard("test-chain", 4, 1);
        let chain = generate(&spec, dir.path()).unwrap();
        assert_eq!(chain.nodes.len(), 5);

        let genesis = Genesis::load(&chain.genesis).unwrap();
        assert_eq!(genesis.hash().to_hex(), chain.genesis_hash);
        assert_eq!(genesis.validator_set().len(), 4);
        let jurisdictions: Vec<&str> = genesis.institutions.iter().map(|i| i.jurisdiction.as_str()).collect();
        assert_eq!(jurisdictions, ["CN-GD", "HK", "CN-GD", "HK", "CN-GD"]);

        for node in &chain.nodes {
            let config = NodeConfig::load(&node.config).unwrap();
            assert_eq!(config.p2p.peers.len(), 4);
            assert!(config.node_key.exists());
        }
        assert!(matches!(generate(&spec, dir.path()), Err(GenerateError::AlreadyExists { .. })));
    }
}
