//! Consensus parameters, fixed at genesis except for the local key.

use hashbridge_crypto::PublicKey;
use hashbridge_types::transaction::check_chain_id;
use hashbridge_types::ValidatorSet;
use thiserror::Error;

/// Parameters of the PBFT core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub chain_id: String,
    /// Validators in genesis order; the order fixes leader rotation.
    pub validators: ValidatorSet,
    /// The local node key. A key outside `validators` runs the core as an observer that
    /// follows commits and never votes.
    pub local_key: PublicKey,
    /// Consecutive heights a leader keeps before rotation at view 0.
    pub leader_period: u64,
    /// View timer of view 0, in milliseconds; each failed view multiplies it by 1.5.
    pub consensus_timeout_ms: u64,
    /// Cap on the view timer, in milliseconds.
    pub max_consensus_timeout_ms: u64,
    /// Heights between checkpoints.
    pub checkpoint_interval: u64,
    /// How far a proposal's timestamp may be ahead of the local clock, in milliseconds.
    pub max_clock_drift_ms: u64,
    pub max_block_transactions: usize,
    /// Largest encoded block, in bytes.
    pub max_block_bytes: usize,
}

/// The reason a configuration cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("chain id is invalid: {0}")]
    ChainId(String),
    #[error("the validator set is empty; genesis must list at least one validator")]
    NoValidators,
    #[error("validator {0} has weight 0; every validator needs a positive weight")]
    ZeroWeight(PublicKey),
    #[error("validator {0} appears more than once in the validator set")]
    DuplicateValidator(PublicKey),
    #[error("{field} is 0; it must be at least 1")]
    Zero { field: &'static str },
    #[error("max_consensus_timeout_ms {max} is below consensus_timeout_ms {base}")]
    TimeoutCapBelowBase { base: u64, max: u64 },
    #[error("the signer's key {signer} is not local_key {configured}")]
    KeyMismatch { configured: PublicKey, signer: PublicKey },
}

impl Config {
    /// Checks every field, returning the first problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_chain_id(&self.chain_id).map_err(|e| ConfigError::ChainId(e.to_string()))?;
        self.validate_validators()?;

        for (field, value) in [
            ("leader_period", self.leader_period),
            ("consensus_timeout_ms", self.consensus_timeout_ms),
            ("checkpoint_interval", self.checkpoint_interval),
            ("max_block_transactions", self.max_block_transactions as u64),
            ("max_block_bytes", self.max_block_bytes as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero { field });
            }
        }
        if self.max_consensus_timeout_ms < self.consensus_timeout_ms {
            return Err(ConfigError::TimeoutCapBelowBase {
                base: self.consensus_timeout_ms,
                max: self.max_consensus_timeout_ms,
            });
        }
        Ok(())
    }

    fn validate_validators(&self) -> Result<(), ConfigError> {
        if self.validators.is_empty() {
            return Err(ConfigError::NoValidators);
        }
        let mut seen = std::collections::BTreeSet::new();
        for validator in self.validators.validators() {
            if validator.weight == 0 {
                return Err(ConfigError::ZeroWeight(validator.public_key));
            }
            if !seen.insert(validator.public_key) {
                return Err(ConfigError::DuplicateValidator(validator.public_key));
            }
        }
        Ok(())
    }

    /// Computes the view timer for `view`: `consensus_timeout_ms * 1.5^view`, capped.
    pub fn view_timeout_ms(&self, view: u64) -> u64 {
        let mut timeout = self.consensus_timeout_ms;
        let mut remaining = view;
        while remaining > 0 && timeout < self.max_consensus_timeout_ms {
            timeout = timeout.saturating_add(timeout / 2);
            remaining -= 1;
        }
        timeout.min(self.max_consensus_timeout_ms)
    }

    /// Returns the leader of `height` at `view`: `(height / leader_period + view) mod n`.
    pub fn leader(&self, height: u64, view: u64) -> Option<PublicKey> {
        let count = self.validators.len() as u64;
        if count == 0 || self.leader_period == 0 {
            return None;
        }
        let rotation = (height / self.leader_period) % count;
        let index = (rotation + view % count) % count;
        self.validators.get(usize::try_from(index).ok()?).map(|v| v.public_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashbridge_types::Validator;

    fn config(count: u8) -> Config {
        let validators = (0..count).map(|i| Validator { public_key: PublicKey([i; 32]), weight: 1 }).collect();
        Config {
            chain_id: "test-chain".into(),
            validators: ValidatorSet::new(validators),
            local_key: PublicKey([0; 32]),
            leader_period: 2,
            consensus_timeout_ms: 1000,
            max_consensus_timeout_ms: 5000,
            checkpoint_interval: 10,
            max_clock_drift_ms: 1000,
            max_block_transactions: 100,
            max_block_bytes: 1 << 20,
        }
    }

    #[test]
    fn timeout_grows_and_caps() {
        let c = config(4);
        assert_eq!(c.view_timeout_ms(0), 1000);
        assert_eq!(c.view_timeout_ms(1), 1500);
        assert_eq!(c.view_timeout_ms(2), 2250);
        assert_eq!(c.view_timeout_ms(5), 5000);
        assert_eq!(c.view_timeout_ms(u64::MAX), 5000);
    }

    #[test]
    fn leader_rotates_by_period_and_view() {
        let c = config(4);
        assert_eq!(c.leader(0, 0), Some(PublicKey([0; 32])));
        assert_eq!(c.leader(1, 0), Some(PublicKey([0; 32])));
        assert_eq!(c.leader(2, 0), Some(PublicKey([1; 32])));
        assert_eq!(c.leader(2, 1), Some(PublicKey([2; 32])));
        assert_eq!(c.leader(u64::MAX, u64::MAX), Some(PublicKey([((u64::MAX / 2 % 4 + u64::MAX % 4) % 4) as u8; 32])));
    }

    #[test]
    fn validate_names_field() {
        let mut c = config(4);
        c.leader_period = 0;
        assert_eq!(c.validate(), Err(ConfigError::Zero { field: "leader_period" }));
        let mut c = config(4);
        c.max_consensus_timeout_ms = 10;
        assert!(matches!(c.validate(), Err(ConfigError::TimeoutCapBelowBase { .. })));
        assert_eq!(config(4).validate(), Ok(()));
    }
}
