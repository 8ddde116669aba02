//! The weighted validator set and its quorum arithmetic.
//!
//! With total weight `W`, the set tolerates `f = (W - 1) / 3` faulty weight and a quorum
//! needs `W - f`. Any two quorums then overlap in more than `f` weight, so they share at
//! least one honest validator.

use bincode::{Decode, Encode};
use hashbridge_crypto::{Domain, Hash32, PublicKey};
use serde::{Deserialize, Serialize};

use crate::codec;

#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct Validator {
    pub public_key: PublicKey,
    pub weight: u64,
}

/// Validators in genesis order; the order fixes leader rotation.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, Serialize, Deserialize)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
}

impl ValidatorSet {
    /// Builds a set. The caller (genesis validation) has already rejected duplicate keys,
    /// zero weights and an empty set.
    pub fn new(validators: Vec<Validator>) -> Self {
        ValidatorSet { validators }
    }

    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    pub fn total_weight(&self) -> u64 {
        self.validators.iter().fold(0u64, |sum, v| sum.saturating_add(v.weight))
    }

    /// The weight of faulty validators the set tolerates: `(W - 1) / 3`.
    pub fn fault_tolerance(&self) -> u64 {
        self.total_weight().saturating_sub(1) / 3
    }

    /// The weight a quorum needs: `W - f`.
    pub fn quorum_weight(&self) -> u64 {
        self.total_weight() - self.fault_tolerance()
    }

    pub fn weight_of(&self, key: &PublicKey) -> Option<u64> {
        self.validators.iter().find(|v| v.public_key == *key).map(|v| v.weight)
    }

    pub fn index_of(&self, key: &PublicKey) -> Option<usize> {
        self.validators.iter().position(|v| v.public_key == *key)
    }

    pub fn get(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }

    pub fn hash(&self) -> Hash32 {
        Domain::ValidatorSet.hash(&codec::encode(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(weights: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            weights
                .iter()
                .enumerate()
                .map(|(i, w)| Validator { public_key: PublicKey([i as u8; 32]), weight: *w })
                .collect(),
        )
    }

    #[test]
    fn quorum_by_weight() {
        for (weights, f, quorum) in [
            (vec![1, 1, 1, 1], 1, 3),
            (vec![1; 7], 2, 5),
            (vec![1; 10], 3, 7),
            (vec![1, 1, 1], 0, 3),
            (vec![3, 1, 1, 1], 1, 5),
        ] {
            let s = set(&weights);
            assert_eq!(s.fault_tolerance(), f, "weights {weights:?}");
            assert_eq!(s.quorum_weight(), quorum, "weights {weights:?}");
        }
    }
}
