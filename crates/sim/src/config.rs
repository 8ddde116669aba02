//! Parameters of one simulated run: validator count, byzantine kind, phases and fault rates.

use std::fmt;
use std::str::FromStr;

use hashbridge_consensus::WeakenedRule;
use serde::Serialize;

/// The misbehaviour of the byzantine validators (at most `f` of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ByzantineKind {
    /// Every validator is honest.
    None,
    /// As leader, sends one block to half the validators and another to the rest, votes
    /// for both, and sends both again later.
    Equivocate,
    /// Sends nothing.
    Silent,
    /// Sends old messages it received or sent, to random peers.
    Replay,
    /// Sends ViewChange, PrePrepare, votes and NewView for views such as 2^63 and
    /// `u64::MAX`, and checkpoints and status for huge heights.
    HugeView,
    /// Corrupts its messages: bit flips, truncation, a wrong chain id, a wrong key, another
    /// validator's name, or fields changed and signed again.
    Malformed,
    /// Sends a second Prepare or Commit for another block next to each real one.
    ConflictingVotes,
    /// Runs two honest processes with the same validator key.
    Twins,
}

impl ByzantineKind {
    /// Every kind with a byzantine actor.
    pub const FAULTY: [ByzantineKind; 7] = [
        ByzantineKind::Equivocate,
        ByzantineKind::Silent,
        ByzantineKind::Replay,
        ByzantineKind::HugeView,
        ByzantineKind::Malformed,
        ByzantineKind::ConflictingVotes,
        ByzantineKind::Twins,
    ];

    /// `none` followed by every faulty kind.
    pub const ALL: [ByzantineKind; 8] = [
        ByzantineKind::None,
        ByzantineKind::Equivocate,
        ByzantineKind::Silent,
        ByzantineKind::Replay,
        ByzantineKind::HugeView,
        ByzantineKind::Malformed,
        ByzantineKind::ConflictingVotes,
        ByzantineKind::Twins,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ByzantineKind::None => "none",
            ByzantineKind::Equivocate => "equivocate",
            ByzantineKind::Silent => "silent",
            ByzantineKind::Replay => "replay",
            ByzantineKind::HugeView => "huge-view",
            ByzantineKind::Malformed => "malformed",
            ByzantineKind::ConflictingVotes => "conflicting-votes",
            ByzantineKind::Twins => "twins",
        }
    }
}

impl fmt::Display for ByzantineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ByzantineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ByzantineKind::ALL.into_iter().find(|kind| kind.name() == s).ok_or_else(|| {
            let names: Vec<&str> = ByzantineKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown byzantine kind {s:?}; expected one of {}, all or random", names.join(", "))
        })
    }
}

/// The signature check every process uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureCheck {
    /// ed25519 `verify_strict`, and [`hashbridge_types::CommitCertificate::verify`] for every
    /// committed certificate.
    Full,
    /// Signs the digest again with the simulator's copy of the claimed signer's key and
    /// compares. ed25519 signing is deterministic, so this accepts exactly the signatures
    /// `verify_strict` accepts from keys the simulator created, and it is about 50 times
    /// faster in unoptimized builds. Used by the debug-build tests.
    Resign,
}

/// Parameters of one run.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub validators: usize,
    pub byzantine: ByzantineKind,
    pub signatures: SignatureCheck,
    /// Length of the phase with lossy links, partitions and crashes, in simulated ms.
    pub fault_phase_ms: u64,
    /// After the faults heal, every honest validator must commit `liveness_blocks` new
    /// blocks within this many simulated ms.
    pub liveness_bound_ms: u64,
    pub liveness_blocks: u64,
    /// Crash and restart honest processes during the fault phase.
    pub crashes: bool,
    /// Form and heal partitions during the fault phase.
    pub partitions: bool,
    /// Wipe the data folder of one crashed honest process, which then restarts with a
    /// vote floor. Only meaningful without byzantine validators: until it passes the floor
    /// the process does not vote, so one more faulty validator would stall the chain.
    pub wipes: bool,
    /// Print every action of every process to stderr, for replaying a failing seed.
    pub verbose: bool,
    /// A safety rule switched off in every process, to test the checkers.
    pub weakened: Option<WeakenedRule>,
    pub consensus_timeout_ms: u64,
    pub max_consensus_timeout_ms: u64,
    /// Mean gap between new transactions, in simulated ms.
    pub transaction_interval_ms: u64,
}

impl SimConfig {
    /// Returns the settings the binary uses: a 20 s fault phase and a 60 s liveness bound.
    pub fn standard(seed: u64, validators: usize, byzantine: ByzantineKind) -> Self {
        SimConfig {
            seed,
            validators,
            byzantine,
            signatures: SignatureCheck::Full,
            fault_phase_ms: 20_000,
            liveness_bound_ms: 60_000,
            liveness_blocks: 3,
            crashes: true,
            partitions: true,
            wipes: false,
            verbose: false,
            weakened: None,
            consensus_timeout_ms: 1_000,
            max_consensus_timeout_ms: 8_000,
            transaction_interval_ms: 400,
        }
    }

    /// Returns shorter runs with cheap signature checks, for the debug-build tests.
    pub fn quick(seed: u64, validators: usize, byzantine: ByzantineKind) -> Self {
        SimConfig {
            signatures: SignatureCheck::Resign,
            fault_phase_ms: 6_000,
            liveness_bound_ms: 60_000,
            liveness_blocks: 2,
            transaction_interval_ms: 500,
            ..SimConfig::standard(seed, validators, byzantine)
        }
    }

    /// Returns the byzantine weight the run may use: `f = (n - 1) / 3` with unit weights.
    pub fn fault_tolerance(&self) -> usize {
        self.validators.saturating_sub(1) / 3
    }
}
