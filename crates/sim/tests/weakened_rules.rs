//! Each checker must be able to fail: with a safety rule switched off in every process, the
//! simulator finds a violation within a few hundred seeds.

use hashbridge_sim::checkers::{agreement, honest_equivocation};
use hashbridge_sim::{run, ByzantineKind, SimConfig, WeakenedRule};

/// Returns the first seed below `limit` whose run violates `property`.
fn first_violation(rule: WeakenedRule, kind: ByzantineKind, property: &str, limit: u64) -> Option<u64> {
    (0..limit).find(|seed| {
        let report = run(SimConfig { weakened: Some(rule), ..SimConfig::quick(*seed, 4, kind) });
        report.violated(property)
    })
}

#[test]
fn quorum_of_two_f_forks_with_twins() {
    // With quorum weight 2f = 2 of 4, each twin plus one honest validator commits its own block.
    let seed = first_violation(WeakenedRule::QuorumTwoF, ByzantineKind::Twins, agreement::PROPERTY, 300);
    assert!(seed.is_some(), "no fork found in 300 seeds with a 2f quorum");
}

#[test]
fn forgetful_guard_equivocates_after_restart() {
    // A restarted validator that forgot its votes prepares the equivocating leader's other block.
    let seed = first_violation(
        WeakenedRule::ForgetfulVoteGuard,
        ByzantineKind::Equivocate,
        honest_equivocation::PROPERTY,
        300,
    );
    assert!(seed.is_some(), "no honest equivocation found in 300 seeds with a forgetful vote guard");
}
