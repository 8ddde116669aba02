//! The genesis file: the chain's fixed parameters and founding members.
//!
//! The genesis hash is the domain-tagged hash of the canonical encoding of the parsed file,
//! not of its text, so comments and formatting do not change it while every parameter does.
//! It identifies the chain and is the parent hash of block 1.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use bincode::Encode;
use hashbridge_crypto::{Domain, Hash32, PublicKey};
use hashbridge_types::transaction::check_chain_id;
use hashbridge_types::{codec, Validator, ValidatorSet};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest genesis file read.
const MAX_GENESIS_BYTES: u64 = 4 * 1024 * 1024;

pub const CRYPTO_SUITE_SHA256_ED25519: &str = "sha256-ed25519";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: String,
    /// Hash and signature algorithms, fixed for the life of the chain.
    pub crypto_suite: String,
    pub consensus: ConsensusParams,
    pub institutions: Vec<Institution>,
    pub nodes: Vec<NodeEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusParams {
    /// Maximum number of transactions in one block.
    #[serde(default = "default_max_block_transactions")]
    pub max_block_transactions: u32,
    /// Maximum encoded bytes of transactions in one block.
    #[serde(default = "default_max_block_bytes")]
    pub max_block_bytes: u64,
    /// View timeout of the first view at a height.
    #[serde(default = "default_consensus_timeout", with = "humantime_serde")]
    pub consensus_timeout: Duration,
    /// Cap on the view timeout, which grows 1.5x per failed view.
    #[serde(default = "default_max_consensus_timeout", with = "humantime_serde")]
    pub max_consensus_timeout: Duration,
    /// Consecutive heights each leader proposes before the role moves on.
    #[serde(default = "default_leader_period")]
    pub leader_period: u64,
    /// Heights between checkpoints.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: u64,
    /// How far a proposal's timestamp may be ahead of a validator's clock.
    #[serde(default = "default_max_clock_drift", with = "humantime_serde")]
    pub max_clock_drift: Duration,
    /// Furthest ahead of the current height a transaction's `valid_until` may be.
    #[serde(default = "default_validity_window")]
    pub transaction_validity_window: u64,
}

fn default_max_block_transactions() -> u32 {
    1000
}
fn default_max_block_bytes() -> u64 {
    8 * 1024 * 1024
}
fn default_consensus_timeout() -> Duration {
    Duration::from_millis(3000)
}
fn default_max_consensus_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_leader_period() -> u64 {
    1
}
fn default_checkpoint_interval() -> u64 {
    100
}
fn default_max_clock_drift() -> Duration {
    Duration::from_secs(5)
}
fn default_validity_window() -> u64 {
    1000
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            max_block_transactions: default_max_block_transactions(),
            max_block_bytes: default_max_block_bytes(),
            consensus_timeout: default_consensus_timeout(),
            max_consensus_timeout: default_max_consensus_timeout(),
            leader_period: default_leader_period(),
            checkpoint_interval: default_checkpoint_interval(),
            max_clock_drift: default_max_clock_drift(),
            transaction_validity_window: default_validity_window(),
        }
    }
}

/// Role of an institution on the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Encode)]
#[serde(rename_all = "lowercase")]
pub enum InstitutionRole {
    /// Anchors, revokes and supersedes report commitments.
    Issuer,
    /// Checks reports against the chain.
    Verifier,
    /// Reads everything and runs observer nodes for audit.
    Regulator,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Institution {
    /// Short identifier, lowercase `a-z 0-9 . _ -`.
    pub id: String,
    pub name: String,
    /// ISO 3166 code of the institution's jurisdiction, such as `CN-GD`, `HK` or `MO`.
    pub jurisdiction: String,
    pub roles: Vec<InstitutionRole>,
    /// Account public keys that sign this institution's transactions.
    #[serde(default)]
    pub account_keys: Vec<PublicKey>,
}

impl Institution {
    pub fn has_role(&self, role: InstitutionRole) -> bool {
        self.roles.contains(&role)
    }
}

/// Whether a node votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Encode)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Validator,
    Observer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    /// A readable name for logs and status output.
    pub name: String,
    /// The node's ed25519 key: its consensus identity and its libp2p peer id.
    pub public_key: PublicKey,
    /// The id of the institution that runs the node.
    pub institution: String,
    pub role: NodeRole,
    /// Voting weight; validators need at least 1, observers have 0.
    #[serde(default)]
    pub weight: u64,
}

/// Reason a genesis file is unusable.
#[derive(Debug, Error)]
pub enum GenesisError {
    #[error("cannot read genesis file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("genesis file {path} is not valid TOML for a genesis: {reason}")]
    Parse { path: String, reason: String },
    #[error("genesis {field} is invalid: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> GenesisError {
    GenesisError::Invalid { field: field.into(), reason: reason.into() }
}

/// The canonical form of the genesis that is hashed. Durations are in milliseconds.
#[derive(Encode)]
struct GenesisHashInput<'a> {
    chain_id: &'a str,
    crypto_suite: &'a str,
    max_block_transactions: u32,
    max_block_bytes: u64,
    consensus_timeout_ms: u64,
    max_consensus_timeout_ms: u64,
    leader_period: u64,
    checkpoint_interval: u64,
    max_clock_drift_ms: u64,
    transaction_validity_window: u64,
    institutions: Vec<(&'a str, &'a str, &'a str, &'a [InstitutionRole], &'a [PublicKey])>,
    nodes: Vec<(&'a str, PublicKey, &'a str, NodeRole, u64)>,
}

impl Genesis {
    /// Reads, parses and validates a genesis file.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let shown = path.display().to_string();
        let io_error = |source| GenesisError::Io { path: shown.clone(), source };
        let size = std::fs::metadata(path).map_err(io_error)?.len();
        if size > MAX_GENESIS_BYTES {
            return Err(GenesisError::Parse {
                path: shown.clone(),
                reason: format!("the file is {size} bytes, more than the {MAX_GENESIS_BYTES} bytes a genesis can be"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io_error)?;
        let genesis: Genesis =
            toml::from_str(&text).map_err(|e| GenesisError::Parse { path: shown.clone(), reason: e.to_string() })?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// The hash that identifies the chain.
    pub fn hash(&self) -> Hash32 {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let c = &self.consensus;
        let input = GenesisHashInput {
            chain_id: &self.chain_id,
            crypto_suite: &self.crypto_suite,
            max_block_transactions: c.max_block_transactions,
            max_block_bytes: c.max_block_bytes,
            consensus_timeout_ms: millis(c.consensus_timeout),
            max_consensus_timeout_ms: millis(c.max_consensus_timeout),
            leader_period: c.leader_period,
            checkpoint_interval: c.checkpoint_interval,
            max_clock_drift_ms: millis(c.max_clock_drift),
            transaction_validity_window: c.transaction_validity_window,
            institutions: self
                .institutions
                .iter()
                .map(|i| (i.id.as_str(), i.name.as_str(), i.jurisdiction.as_str(), i.roles.as_slice(), i.account_keys.as_slice()))
                .collect(),
            nodes: self
                .nodes
                .iter()
                .map(|n| (n.name.as_str(), n.public_key, n.institution.as_str(), n.role, n.weight))
                .collect(),
        };
        Domain::Genesis.hash(&codec::encode(&input))
    }

    /// The nodes with `role`, in genesis order.
    pub fn nodes_with_role(&self, role: NodeRole) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.iter().filter(move |n| n.role == role)
    }

    /// The voting members, in genesis order.
    pub fn validator_set(&self) -> ValidatorSet {
        ValidatorSet::new(
            self.nodes_with_role(NodeRole::Validator)
                .map(|n| Validator { public_key: n.public_key, weight: n.weight })
                .collect(),
        )
    }

    pub fn node(&self, key: &PublicKey) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| n.public_key == *key)
    }

    pub fn institution(&self, id: &str) -> Option<&Institution> {
        self.institutions.iter().find(|i| i.id == id)
    }

    /// The institution that owns an account key.
    pub fn institution_of_account(&self, key: &PublicKey) -> Option<&Institution> {
        self.institutions.iter().find(|i| i.account_keys.contains(key))
    }

    /// Checks every rule; the error names the field and the fix.
    pub fn validate(&self) -> Result<(), GenesisError> {
        check_chain_id(&self.chain_id).map_err(|e| invalid("chain_id", e.to_string()))?;
        if self.crypto_suite != CRYPTO_SUITE_SHA256_ED25519 {
            return Err(invalid(
                "crypto_suite",
                format!("{:?} is not supported by this build; use {CRYPTO_SUITE_SHA256_ED25519:?}", self.crypto_suite),
            ));
        }
        self.validate_consensus()?;
        let mut keys = HashSet::new();
        self.validate_institutions(&mut keys)?;
        self.validate_nodes(&mut keys)?;
        self.validate_fault_tolerance()
    }

    fn validate_consensus(&self) -> Result<(), GenesisError> {
        let c = &self.consensus;
        let positive = [
            ("consensus.max_block_transactions", u64::from(c.max_block_transactions)),
            ("consensus.max_block_bytes", c.max_block_bytes),
            ("consensus.leader_period", c.leader_period),
            ("consensus.checkpoint_interval", c.checkpoint_interval),
            ("consensus.transaction_validity_window", c.transaction_validity_window),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        let max_bytes = hashbridge_types::block::MAX_BLOCK_BYTES as u64 / 2;
        if c.max_block_bytes > max_bytes {
            return Err(invalid("consensus.max_block_bytes", format!("{} is more than the {max_bytes} bytes this build accepts", c.max_block_bytes)));
        }
        if c.consensus_timeout < Duration::from_millis(100) {
            return Err(invalid("consensus.consensus_timeout", "must be at least 100ms"));
        }
        if c.max_consensus_timeout < c.consensus_timeout {
            return Err(invalid("consensus.max_consensus_timeout", "must not be shorter than consensus_timeout"));
        }
        Ok(())
    }

    fn validate_institutions(&self, keys: &mut HashSet<PublicKey>) -> Result<(), GenesisError> {
        let mut ids = HashSet::new();
        for (i, institution) in self.institutions.iter().enumerate() {
            let field = |name: &str| format!("institutions[{i}].{name}");
            check_chain_id(&institution.id)
                .map_err(|_| invalid(field("id"), format!("{:?} must be lowercase a-z, 0-9, '.', '_' or '-', at most 64 characters", institution.id)))?;
            if !ids.insert(institution.id.as_str()) {
                return Err(invalid(field("id"), format!("institution id {:?} is used twice; give each institution its own id", institution.id)));
            }
            if institution.name.trim().is_empty() {
                return Err(invalid(field("name"), "must not be empty"));
            }
            if !is_jurisdiction(&institution.jurisdiction) {
                return Err(invalid(
                    field("jurisdiction"),
                    format!("{:?} is not an ISO 3166 code; use a country code such as HK or MO, or a subdivision such as CN-GD", institution.jurisdiction),
                ));
            }
            if institution.roles.is_empty() {
                return Err(invalid(field("roles"), "needs at least one of issuer, verifier, regulator"));
            }
            for (k, key) in institution.account_keys.iter().enumerate() {
                if !keys.insert(*key) {
                    return Err(invalid(format!("institutions[{i}].account_keys[{k}]"), format!("duplicate key {key}: every account and node key must be distinct; generate a new key")));
                }
            }
        }
        Ok(())
    }

    fn validate_nodes(&self, keys: &mut HashSet<PublicKey>) -> Result<(), GenesisError> {
        let mut names = HashSet::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let field = |name: &str| format!("nodes[{i}].{name}");
            if node.name.trim().is_empty() || !names.insert(node.name.as_str()) {
                return Err(invalid(field("name"), format!("{:?} is empty or used twice; give each node a distinct name", node.name)));
            }
            if !keys.insert(node.public_key) {
                return Err(invalid(
                    field("public_key"),
                    format!("duplicate key {}: every account and node key must be distinct; generate a new key with `hashbridge keys new`", node.public_key),
                ));
            }
            if self.institution(&node.institution).is_none() {
                return Err(invalid(field("institution"), format!("unknown institution {:?}; add it under [[institutions]] or fix the id", node.institution)));
            }
            match node.role {
                NodeRole::Validator if node.weight == 0 => {
                    return Err(invalid(field("weight"), "a validator needs a weight of at least 1"));
                }
                NodeRole::Observer if node.weight != 0 => {
                    return Err(invalid(field("weight"), "an observer does not vote; remove its weight or set it to 0"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn validate_fault_tolerance(&self) -> Result<(), GenesisError> {
        let set = self.validator_set();
        if set.is_empty() {
            return Err(invalid("nodes", "no validators; mark at least four nodes with role = \"validator\""));
        }
        let total = set.validators().iter().try_fold(0u64, |sum, v| sum.checked_add(v.weight));
        let Some(total) = total else {
            return Err(invalid("nodes", "validator weights add up to more than 2^64"));
        };
        if set.fault_tolerance() == 0 {
            return Err(invalid(
                "nodes",
                format!("validator weight {total} tolerates no faulty validator; PBFT needs a total weight of at least 4 (3f + 1 with f = 1)"),
            ));
        }
        Ok(())
    }

    /// Renders the genesis as commented TOML.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let body = toml::to_string_pretty(self)?;
        Ok(format!(
            "# Hashbridge genesis. Every node of the chain uses this exact file; changing any value\n\
             # makes a different chain. Check it with `hashbridge genesis check FILE`.\n\
             # Genesis hash: {}\n\n{body}",
            self.hash()
        ))
    }
}

/// Accepts `XX` or `XX-YYY` with uppercase letters and digits, as ISO 3166-1 and 3166-2 use.
fn is_jurisdiction(code: &str) -> bool {
    let mut parts = code.splitn(2, '-');
    let country = parts.next().unwrap_or_default();
    let country_ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
    let subdivision_ok = match parts.next() {
        None => true,
        Some(sub) => (1..=3).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
    };
    country_ok && subdivision_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jurisdiction_codes() {
        for good in ["HK", "MO", "CN-GD", "CN-44"] {
            assert!(is_jurisdiction(good), "{good}");
        }
        for bad in ["hk", "CHN", "CN-", "CN-GDXX", "", "C"] {
            assert!(!is_jurisdiction(bad), "{bad}");
        }
    }
}
