//! The same seed gives the same run, so any failing seed replays exactly.

use hashbridge_sim::{run, ByzantineKind, SignatureCheck, SimConfig};

#[test]
fn same_seed_same_trace() {
    for kind in ByzantineKind::ALL {
        let first = run(SimConfig::quick(42, 4, kind));
        let second = run(SimConfig::quick(42, 4, kind));
        assert_eq!(first.trace_hash, second.trace_hash, "kind {kind}");
        assert_eq!(first.stats.events, second.stats.events, "kind {kind}");
        assert_eq!(first.max_height, second.max_height, "kind {kind}");
    }
}

#[test]
fn different_seeds_differ() {
    let first = run(SimConfig::quick(1, 4, ByzantineKind::None));
    let second = run(SimConfig::quick(2, 4, ByzantineKind::None));
    assert_ne!(first.trace_hash, second.trace_hash);
}

#[test]
fn resign_check_matches_full_verification() {
    // Re-signing accepts exactly what verify_strict accepts for the simulator's keys, so
    // both modes must produce the same run. Malformed covers wrong keys and bad signatures.
    for kind in [ByzantineKind::None, ByzantineKind::Malformed] {
        let quick = SimConfig { fault_phase_ms: 2_000, ..SimConfig::quick(7, 4, kind) };
        let resign = run(quick.clone());
        let full = run(SimConfig { signatures: SignatureCheck::Full, ..quick });
        assert_eq!(resign.trace_hash, full.trace_hash, "kind {kind}");
        assert!(full.passed(), "{:?}", full.violations);
    }
}
