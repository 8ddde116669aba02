//! One simulated process: a validator key, a role, durable state and, while it runs, a
//! consensus core with a transaction pool.
//!
//! Only the ledger and the records the core asked to persist survive a crash. The core, the
//! pool and the pending timer are lost, as they would be on a real node.

use std::collections::{BTreeMap, VecDeque};

use hashbridge_consensus::{Core, Ed25519Signer, Record, SignedMessage};
use hashbridge_crypto::{Hash32, KeyPair, PublicKey};

use crate::config::ByzantineKind;
use crate::host::{Ledger, Pool};
use crate::verifier::SimVerifier;

/// The behaviour of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Honest,
    Byzantine(ByzantineKind),
    /// Honest code sharing its validator key with another process.
    Twin,
}

/// The volatile state of a running process.
#[derive(Debug)]
pub struct Live {
    pub core: Core<Ed25519Signer, SimVerifier>,
    pub pool: Pool,
    pub timer: Option<u64>,
}

/// Memory of a byzantine process, used to misbehave convincingly.
#[derive(Debug, Default)]
pub struct ByzantineMemory {
    /// Encoded messages it received or sent, newest last.
    pub history: VecDeque<Vec<u8>>,
    /// Per (height, view): the second block it proposed and the processes that got it.
    pub alternates: BTreeMap<(u64, u64), (Hash32, Vec<usize>)>,
    /// Its recent conflicting PrePrepare pairs, sent again on later ticks.
    pub equivocations: VecDeque<(SignedMessage, SignedMessage)>,
}

#[derive(Debug)]
pub struct Process {
    pub validator: usize,
    pub key: KeyPair,
    pub role: Role,
    pub ledger: Ledger,
    pub records: Vec<Record>,
    pub live: Option<Live>,
    /// Increases at each crash, so timers and host replies of an earlier run are dropped.
    pub incarnation: u64,
    /// The vote floor given at the next start; raised when the data folder is wiped.
    pub vote_floor: u64,
    pub memory: ByzantineMemory,
}

impl Process {
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    pub fn is_honest(&self) -> bool {
        self.role == Role::Honest
    }

    pub fn byzantine_kind(&self) -> Option<ByzantineKind> {
        match self.role {
            Role::Byzantine(kind) => Some(kind),
            _ => None,
        }
    }

    pub fn committed_height(&self) -> u64 {
        self.ledger.height()
    }
}
