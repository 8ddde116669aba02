//! Simulated links: per-link base latency plus jitter, and during the fault phase loss,
//! duplication and partitions. Jitter larger than the gap between two sends reorders them.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Link behaviour drawn once per run from the seed.
#[derive(Clone, Debug)]
pub struct Network {
    /// Base one-way latency of the link from `i` to `j`, in ms, at `i * processes + j`.
    latency_ms: Vec<u64>,
    processes: usize,
    jitter_ms: u64,
    loss: f64,
    duplication: f64,
    /// Group of each process while a partition holds; messages between groups are lost.
    partition: Option<Vec<u8>>,
    faults_active: bool,
}

impl Network {
    pub fn new(rng: &mut ChaCha8Rng, processes: usize) -> Self {
        let latency_ms = (0..processes * processes).map(|_| rng.gen_range(2..40)).collect();
        Network {
            latency_ms,
            processes,
            jitter_ms: rng.gen_range(0..30),
            loss: rng.gen_range(0.0..0.15),
            duplication: rng.gen_range(0.0..0.1),
            partition: None,
            faults_active: true,
        }
    }

    /// Plans the delivery delays of one message from `from` to `to`: empty when it is lost, two when
    /// it is duplicated.
    pub fn plan(&self, rng: &mut ChaCha8Rng, from: usize, to: usize) -> Vec<u64> {
        if !self.connected(from, to) {
            return Vec::new();
        }
        if self.faults_active && rng.gen_bool(self.loss) {
            return Vec::new();
        }
        let base = self.latency_ms.get(from * self.processes + to).copied().unwrap_or(10);
        let mut delays = vec![base + rng.gen_range(0..=self.jitter_ms)];
        if self.faults_active && rng.gen_bool(self.duplication) {
            delays.push(base + rng.gen_range(0..=self.jitter_ms.saturating_mul(3)));
        }
        delays
    }

    /// Returns the base round-trip latency between two processes, for request-response
    /// exchanges such as block fetches.
    pub fn round_trip_ms(&self, from: usize, to: usize) -> u64 {
        let there = self.latency_ms.get(from * self.processes + to).copied().unwrap_or(10);
        let back = self.latency_ms.get(to * self.processes + from).copied().unwrap_or(10);
        there + back
    }

    pub fn connected(&self, from: usize, to: usize) -> bool {
        match &self.partition {
            Some(groups) => groups.get(from) == groups.get(to),
            None => true,
        }
    }

    pub fn set_partition(&mut self, groups: Option<Vec<u8>>) {
        self.partition = groups;
    }

    /// Ends the fault phase: no more loss, duplication or partitions.
    pub fn heal(&mut self) {
        self.faults_active = false;
        self.partition = None;
    }

    pub fn faults_active(&self) -> bool {
        self.faults_active
    }
}
