//! Many seeds per byzantine kind, checking every safety property and liveness after the
//! faults heal. `HASHBRIDGE_SIM_SEEDS` sets the seed count per kind at 4 validators. The
//! default of 200 keeps a debug build's test run short. The 7- and 10-validator tests run
//! a tenth and a twentieth of that count.

use hashbridge_sim::{run_all, ByzantineKind, RunReport, SimConfig};

fn seed_count() -> u64 {
    std::env::var("HASHBRIDGE_SIM_SEEDS").ok().and_then(|value| value.parse().ok()).unwrap_or(200)
}

fn run_kind(validators: usize, kind: ByzantineKind, seeds: u64) -> Vec<RunReport> {
    let configs = (0..seeds).map(|seed| SimConfig::quick(seed, validators, kind)).collect();
    run_all(configs, 1)
}

fn assert_all_pass(validators: usize, kind: ByzantineKind, seeds: u64) {
    let reports = run_kind(validators, kind, seeds);
    let failures: Vec<String> = reports
        .iter()
        .filter(|report| !report.passed())
        .map(|report| format!("seed {}: {:?}", report.seed, report.violations.first()))
        .collect();
    assert!(failures.is_empty(), "{validators} validators, {kind}: {} failing seeds: {failures:#?}", failures.len());
    assert!(reports.iter().all(|report| report.recovery_ms.is_some()), "every run reaches its liveness target");
}

#[test]
fn no_byzantine() {
    assert_all_pass(4, ByzantineKind::None, seed_count());
}

#[test]
fn equivocating_leader() {
    assert_all_pass(4, ByzantineKind::Equivocate, seed_count());
}

#[test]
fn silent_validator() {
    assert_all_pass(4, ByzantineKind::Silent, seed_count());
}

#[test]
fn stale_replayer() {
    assert_all_pass(4, ByzantineKind::Replay, seed_count());
}

#[test]
fn huge_views() {
    assert_all_pass(4, ByzantineKind::HugeView, seed_count());
}

#[test]
fn malformed_messages() {
    assert_all_pass(4, ByzantineKind::Malformed, seed_count());
}

#[test]
fn conflicting_votes() {
    assert_all_pass(4, ByzantineKind::ConflictingVotes, seed_count());
}

#[test]
fn twins() {
    assert_all_pass(4, ByzantineKind::Twins, seed_count());
}

#[test]
fn seven_validators_every_kind() {
    for kind in ByzantineKind::ALL {
        assert_all_pass(7, kind, (seed_count() / 10).max(1));
    }
}

#[test]
fn ten_validators_every_kind() {
    for kind in ByzantineKind::ALL {
        assert_all_pass(10, kind, (seed_count() / 20).max(1));
    }
}

#[test]
fn wiped_data_folder() {
    // A validator whose ledger and records are deleted resyncs, votes only above its floor,
    // and never contradicts a vote it cast before the wipe.
    let configs = (0..(seed_count() / 2).max(1))
        .map(|seed| SimConfig { wipes: true, ..SimConfig::quick(seed, 4, ByzantineKind::None) })
        .collect();
    let reports = run_all(configs, 1);
    let failures: Vec<String> = reports
        .iter()
        .filter(|report| !report.passed())
        .map(|report| format!("seed {}: {:?}", report.seed, report.violations.first()))
        .collect();
    assert!(failures.is_empty(), "{} failing seeds: {failures:#?}", failures.len());
}
