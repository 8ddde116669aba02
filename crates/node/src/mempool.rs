//! The pool of transactions waiting for a block.
//!
//! Bounded by count and by encoded bytes, deduplicated by transaction id, in arrival order.
//! Every transaction is checked before it enters (chain id, bounds, signature, validity
//! window, not already committed), so a proposer only ever picks includable transactions
//! and a validator can skip the signature check for ids it has already verified here.
//! Transactions leave when committed, when their `valid_until` height passes, or when
//! they have waited longer than the configured expiry.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use hashbridge_crypto::Hash32;
use hashbridge_types::Transaction;
use thiserror::Error;

/// Reason a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AdmitError {
    #[error("transaction {0} is already pending")]
    AlreadyPending(Hash32),
    #[error("mempool is full ({count} transactions, {bytes} bytes); retry later")]
    Full { count: usize, bytes: usize },
}

struct Entry {
    tx: Transaction,
    bytes: usize,
    sequence: u64,
    arrived: Instant,
}

/// Limits of the pool.
#[derive(Debug, Clone, Copy)]
pub struct MempoolLimits {
    pub max_transactions: usize,
    pub max_bytes: usize,
    pub expiry: Duration,
}

pub struct Mempool {
    limits: MempoolLimits,
    entries: HashMap<Hash32, Entry>,
    order: BTreeMap<u64, Hash32>,
    next_sequence: u64,
    bytes: usize,
}

impl std::fmt::Debug for Mempool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mempool").field("count", &self.entries.len()).field("bytes", &self.bytes).finish()
    }
}

impl Mempool {
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool { limits, entries: HashMap::new(), order: BTreeMap::new(), next_sequence: 0, bytes: 0 }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn contains(&self, id: &Hash32) -> bool {
        self.entries.contains_key(id)
    }

    pub fn get(&self, id: &Hash32) -> Option<&Transaction> {
        self.entries.get(id).map(|e| &e.tx)
    }

    /// Adds a transaction that has already passed the inclusion checks.
    pub fn admit(&mut self, id: Hash32, tx: Transaction, bytes: usize, now: Instant) -> Result<(), AdmitError> {
        if self.entries.contains_key(&id) {
            return Err(AdmitError::AlreadyPending(id));
        }
        if self.entries.len() >= self.limits.max_transactions || self.bytes + bytes > self.limits.max_bytes {
            return Err(AdmitError::Full { count: self.entries.len(), bytes: self.bytes });
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.order.insert(sequence, id);
        self.bytes += bytes;
        self.entries.insert(id, Entry { tx, bytes, sequence, arrived: now });
        Ok(())
    }

    /// Removes one transaction, if present.
    pub fn remove(&mut self, id: &Hash32) -> Option<Transaction> {
        let entry = self.entries.remove(id)?;
        self.order.remove(&entry.sequence);
        self.bytes -= entry.bytes;
        Some(entry.tx)
    }

    /// Picks transactions in arrival order for a block at `height`, up to the limits, skipping
    /// those whose validity window has passed.
    pub fn select(&self, height: u64, max_count: usize, max_bytes: usize) -> Vec<(Hash32, Transaction)> {
        let mut picked = Vec::new();
        let mut bytes = 0usize;
        for id in self.order.values() {
            if picked.len() >= max_count {
                break;
            }
            let Some(entry) = self.entries.get(id) else { continue };
            if entry.tx.payload.valid_until < height {
                continue;
            }
            if bytes + entry.bytes > max_bytes {
                break;
            }
            bytes += entry.bytes;
            picked.push((*id, entry.tx.clone()));
        }
        picked
    }

    /// Up to `max` of the oldest transactions, in arrival order.
    pub fn oldest(&self, max: usize) -> Vec<Transaction> {
        self.order.values().take(max).filter_map(|id| self.entries.get(id)).map(|e| e.tx.clone()).collect()
    }

    /// Drops transactions that can no longer be included at `next_height` or that have
    /// waited past the expiry. Returns the ids dropped.
    pub fn prune(&mut self, next_height: u64, now: Instant) -> Vec<Hash32> {
        let expiry = self.limits.expiry;
        let stale: Vec<Hash32> = self
            .entries
            .iter()
            .filter(|(_, e)| e.tx.payload.valid_until < next_height || now.duration_since(e.arrived) > expiry)
            .map(|(id, _)| *id)
            .collect();
        for id in &stale {
            self.remove(id);
        }
        stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashbridge_crypto::keys::KeyPurpose;
    use hashbridge_crypto::KeyPair;
    use hashbridge_types::{Action, AnchorRecord, Nonce, TransactionPayload};

    fn tx(byte: u8, valid_until: u64) -> (Hash32, Transaction) {
        let key = KeyPair::from_seed([1u8; 32], KeyPurpose::Account);
        let record = AnchorRecord { commitment: Hash32([byte; 32]), kind: "credit.personal".into(), issued_at_ms: 1, expires_at_ms: None, metadata: vec![] };
        let tx = TransactionPayload { chain_id: "c".into(), sender: key.public_key(), nonce: Nonce([byte; 16]), valid_until, action: Action::Anchor(record) }.sign(&key);
        (tx.id(), tx)
    }

    fn pool(max_transactions: usize, max_bytes: usize) -> Mempool {
        Mempool::new(MempoolLimits { max_transactions, max_bytes, expiry: Duration::from_secs(60) })
    }

    #[test]
    fn bounded_by_count_and_bytes() {
        let now = Instant::now();
        let mut by_count = pool(2, 1 << 20);
        for b in 0..2 {
            let (id, t) = tx(b, 10);
            by_count.admit(id, t, 100, now).unwrap();
        }
        let (id, t) = tx(9, 10);
        assert!(matches!(by_count.admit(id, t, 100, now), Err(AdmitError::Full { .. })));

        let mut by_bytes = pool(100, 250);
        let (a, ta) = tx(1, 10);
        let (b, tb) = tx(2, 10);
        let (c, tc) = tx(3, 10);
        by_bytes.admit(a, ta, 100, now).unwrap();
        by_bytes.admit(b, tb, 100, now).unwrap();
        assert!(by_bytes.admit(c, tc, 100, now).is_err());
        by_bytes.remove(&a);
        assert_eq!(by_bytes.bytes(), 100);
    }

    #[test]
    fn deduplicates_and_keeps_order() {
        let now = Instant::now();
        let mut pool = pool(10, 1 << 20);
        let txs: Vec<_> = (0..5).map(|b| tx(b, 10)).collect();
        for (id, t) in &txs {
            pool.admit(*id, t.clone(), 10, now).unwrap();
        }
        assert_eq!(pool.admit(txs[0].0, txs[0].1.clone(), 10, now), Err(AdmitError::AlreadyPending(txs[0].0)));
        let picked: Vec<Hash32> = pool.select(1, 3, 1 << 20).into_iter().map(|(id, _)| id).collect();
        assert_eq!(picked, txs[..3].iter().map(|(id, _)| *id).collect::<Vec<_>>());
    }

    #[test]
    fn prunes_expired_windows() {
        let now = Instant::now();
        let mut pool = pool(10, 1 << 20);
        let (old, t_old) = tx(1, 5);
        let (fresh, t_fresh) = tx(2, 50);
        pool.admit(old, t_old, 10, now).unwrap();
        pool.admit(fresh, t_fresh, 10, now).unwrap();
        assert_eq!(pool.prune(6, now), vec![old]);
        assert!(pool.contains(&fresh));
        assert_eq!(pool.prune(6, now + Duration::from_secs(61)), vec![fresh]);
    }
}
