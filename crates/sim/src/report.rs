//! The checkers of one run, its counters and the report it returns.

use std::collections::BTreeSet;

use hashbridge_consensus::SignedMessage;
use hashbridge_crypto::{Hash32, PublicKey};
use hashbridge_types::{CommitCertificate, ValidatorSet};
use serde::Serialize;

use crate::checkers::agreement::{self, Agreement};
use crate::checkers::certificate_validity::{self, CertificateValidity};
use crate::checkers::honest_equivocation::{self, NoHonestEquivocation};
use crate::checkers::liveness::Liveness;
use crate::checkers::monotonic_views::{self, MonotonicViews};
use crate::checkers::validity::{self, Validity};
use crate::checkers::Violation;
use crate::config::{ByzantineKind, SignatureCheck, SimConfig};
use crate::sim::CHAIN_ID;
use crate::verifier::SimVerifier;

/// Violations kept in full per run; later ones are only counted.
const MAX_VIOLATIONS_KEPT: usize = 20;

/// Every checker of a run and the violations they found.
#[derive(Debug)]
pub struct Checks {
    pub(crate) agreement: Agreement,
    pub(crate) validity: Validity,
    pub(crate) certificates: CertificateValidity,
    pub(crate) equivocation: NoHonestEquivocation,
    pub(crate) views: MonotonicViews,
    pub(crate) liveness: Liveness,
    violations: Vec<Violation>,
    violation_count: u64,
}

impl Checks {
    pub(crate) fn new(mode: SignatureCheck, honest: BTreeSet<PublicKey>) -> Self {
        Checks {
            agreement: Agreement::default(),
            validity: Validity::default(),
            certificates: CertificateValidity::new(mode),
            equivocation: NoHonestEquivocation::new(honest),
            views: MonotonicViews::default(),
            liveness: Liveness::default(),
            violations: Vec::new(),
            violation_count: 0,
        }
    }

    pub(crate) fn record(&mut self, violation: Violation) {
        self.violation_count += 1;
        if self.violations.len() < MAX_VIOLATIONS_KEPT {
            self.violations.push(violation);
        }
    }

    fn found(&mut self, property: &'static str, time_ms: u64, process: usize, detail: Option<String>) {
        if let Some(detail) = detail {
            self.record(Violation { property, time_ms, process: Some(process), detail });
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_commit(
        &mut self,
        process: usize,
        time_ms: u64,
        height: u64,
        hash: Hash32,
        execution: Result<(), String>,
        certificate: &CommitCertificate,
        validators: &ValidatorSet,
        verifier: &SimVerifier,
    ) {
        let disagreement = self.agreement.on_commit(process, height, hash);
        self.found(agreement::PROPERTY, time_ms, process, disagreement);
        let invalid = self.validity.on_commit(height, hash, execution);
        self.found(validity::PROPERTY, time_ms, process, invalid);
        let bad_certificate = self.certificates.on_commit(CHAIN_ID, validators, verifier, hash, certificate);
        self.found(certificate_validity::PROPERTY, time_ms, process, bad_certificate);
        self.liveness.on_commit(process, height, time_ms);
    }

    pub(crate) fn on_honest_sent(&mut self, process: usize, time_ms: u64, message: &SignedMessage) {
        let equivocation = self.equivocation.on_sent(message);
        self.found(honest_equivocation::PROPERTY, time_ms, process, equivocation);
    }

    pub(crate) fn on_evidence(&mut self, process: usize, time_ms: u64, accused: &PublicKey) {
        let accusation = self.equivocation.on_evidence(accused);
        self.found(honest_equivocation::PROPERTY, time_ms, process, accusation);
    }

    pub(crate) fn on_status(&mut self, process: usize, time_ms: u64, height: u64, view: u64) {
        let regression = self.views.on_status(process, height, view);
        self.found(monotonic_views::PROPERTY, time_ms, process, regression);
    }
}

/// Counters of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub events: u64,
    pub messages: u64,
    pub commits: u64,
    pub view_changes: u64,
    pub crashes: u64,
    pub fetches: u64,
    pub evidence: u64,
    pub rejected: u64,
    pub undecodable: u64,
}

/// The state of one process at the end of a run, for diagnosing a failure.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessSummary {
    pub validator: usize,
    pub role: String,
    pub running: bool,
    pub committed_height: u64,
    pub view: u64,
    pub changing_to: Option<u64>,
    pub pending_transactions: u64,
}

/// The outcome of one seed.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub seed: u64,
    pub validators: usize,
    pub byzantine: ByzantineKind,
    /// Lowest and highest committed height among honest processes at the end.
    pub min_height: u64,
    pub max_height: u64,
    /// Simulated ms from the heal until every honest process reached its liveness target.
    pub recovery_ms: Option<u64>,
    pub end_ms: u64,
    pub stats: Stats,
    pub violation_count: u64,
    pub violations: Vec<Violation>,
    /// SHA-256 over the run's events and actions; equal for equal seeds.
    pub trace_hash: String,
    pub processes: Vec<ProcessSummary>,
}

impl RunReport {
    pub(crate) fn new(
        config: &SimConfig,
        heights: &[(usize, u64)],
        stats: Stats,
        checks: Checks,
        trace_hash: Hash32,
        end_ms: u64,
        processes: Vec<ProcessSummary>,
    ) -> Self {
        RunReport {
            seed: config.seed,
            validators: config.validators,
            byzantine: config.byzantine,
            min_height: heights.iter().map(|(_, h)| *h).min().unwrap_or(0),
            max_height: heights.iter().map(|(_, h)| *h).max().unwrap_or(0),
            recovery_ms: checks.liveness.recovery_ms(),
            end_ms,
            stats,
            violation_count: checks.violation_count,
            violations: checks.violations,
            trace_hash: trace_hash.to_hex(),
            processes,
        }
    }

    pub fn passed(&self) -> bool {
        self.violation_count == 0
    }

    /// True when a checker of `property` fired.
    pub fn violated(&self, property: &str) -> bool {
        self.violations.iter().any(|v| v.property == property)
    }
}
