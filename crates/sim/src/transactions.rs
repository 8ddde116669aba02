//! The simulated client: anchor transactions with random commitments and nonces.

use hashbridge_crypto::{PublicKey, Signature};
use hashbridge_types::transaction::{AnchorRecord, Nonce};
use hashbridge_types::{Action, Transaction, TransactionPayload};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::sim::random_hash;

/// Builds an anchor transaction. Its signature is all zeros: the simulated host does not
/// check transaction signatures, only the chain id and that the id is not yet committed.
pub fn random_transaction(rng: &mut ChaCha8Rng, chain_id: &str, now_ms: u64) -> Transaction {
    let mut nonce = [0u8; 16];
    rng.fill(&mut nonce);
    let payload = TransactionPayload {
        chain_id: chain_id.to_string(),
        sender: PublicKey([7; 32]),
        nonce: Nonce(nonce),
        valid_until: u64::MAX,
        action: Action::Anchor(AnchorRecord {
            commitment: random_hash(rng),
            kind: "credit.personal".into(),
            issued_at_ms: now_ms,
            expires_at_ms: None,
            metadata: Vec::new(),
        }),
    };
    Transaction { payload, signature: Signature([0; 64]) }
}
