//! Transition tables for the core: each step gives an input, the actions it must produce in
//! order, and the section of Castro and Liskov, "Practical Byzantine Fault Tolerance"
//! (OSDI 1999), that the step follows: 4.2 normal-case operation, 4.3 garbage collection
//! (checkpoints and bringing a replica up to date), 4.4 view changes and 4.5.2 liveness
//! (timers and joining a higher view on f + 1 requests). Four validators of weight 1: f = 1, quorum 3, and
//! with leader period 1 the leader of height h at view v is validator (h + v) mod 4.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{step, Harness, CHAIN_ID, NOW_MS};
use hashbridge_consensus::message::view_change_digest;
use hashbridge_consensus::{
    Checkpoint, CommittedTip, ConsensusMessage, Input, NewView, PrePrepare, Record, SignedMessage, VoteKind,
    VoteRecord, ViewChange, ViewChangeProof, Vote,
};
use hashbridge_crypto::{Hash32, Signature};

const NORMAL: &str = "4.2 normal-case operation";
const VIEW_CHANGE: &str = "4.4 view changes";
const CHECKPOINTS: &str = "4.3 garbage collection";
const LIVENESS: &str = "4.5.2 liveness";

fn pre_prepare(h: &Harness, from: usize, height: u64, view: u64, block: &hashbridge_types::Block) -> Input {
    h.message(from, ConsensusMessage::PrePrepare(PrePrepare { height, view, block: block.clone() }))
}

fn validated(height: u64, view: u64, block: &hashbridge_types::Block) -> Input {
    Input::ProposalValidated { height, view, block_hash: block.hash(), valid: true, now_ms: NOW_MS }
}

fn pending(count: u64) -> Input {
    Input::PendingTransactions { count, now_ms: NOW_MS }
}

fn view_change(h: &Harness, from: usize, height: u64, view: u64) -> Input {
    h.message(from, ConsensusMessage::ViewChange(ViewChange { height, view, prepared: None, block: None }))
}

fn timer(timer_id: u64, height: u64, view: u64) -> Input {
    Input::TimerFired { timer_id, height, view, now_ms: NOW_MS }
}

#[test]
fn replica_commits_in_normal_case() {
    let (mut h, start) = Harness::new(0);
    assert!(start.is_empty(), "an idle validator starts no timer");
    let block = h.block(1, h.genesis.hash, 1, 1);
    let hash = block.hash();
    let steps = vec![
        step(LIVENESS, "waiting transactions start the view timer", pending(1), &["start timer h1 v0 1000ms"]),
        step(NORMAL, "a backup checks the pre-prepare and asks the host to execute it", pre_prepare(&h, 1, 1, 0, &block), &["validate h1 v0"]),
        step(NORMAL, "after the host's verdict the backup sends its prepare, persisted first", validated(1, 0, &block), &["persist [vote] then send prepare h1 v0 to all"]),
        step(NORMAL, "two prepares are short of the quorum weight 3", h.prepare(1, 1, 0, hash), &[]),
        step(NORMAL, "a quorum of prepares makes the block prepared: certificate and commit vote persist before the commit leaves", h.prepare(2, 1, 0, hash), &["persist [prepared, vote] then send commit h1 v0 to all"]),
        step(NORMAL, "two commits are short of the quorum", h.commit(1, 1, 0, hash), &[]),
        step(NORMAL, "a quorum of commits commits the block and the idle chain stops its timer", h.commit(2, 1, 0, hash), &["commit h1 v0", "cancel timer"]),
    ];
    h.run(steps);
    assert_eq!(h.core.status().height, 2);
    assert_eq!(h.core.status().committed.hash, hash);
}

#[test]
fn leader_proposes_and_commits() {
    let (mut h, _) = Harness::new(1);
    let block = h.block(1, h.genesis.hash, 1, 1);
    let hash = block.hash();
    let built = Input::ProposalBuilt { height: 1, view: 0, block: block.clone(), now_ms: NOW_MS };
    let steps = vec![
        step(NORMAL, "the leader asks the host for a block once transactions wait", pending(2), &["build h1 v0", "start timer h1 v0 1000ms"]),
        step(NORMAL, "the leader multicasts the pre-prepare and its own prepare, each persisted first", built, &[
            "persist [vote] then send pre-prepare h1 v0 to all",
            "persist [vote] then send prepare h1 v0 to all",
        ]),
        step(NORMAL, "prepares from two backups complete the quorum", h.prepare(0, 1, 0, hash), &[]),
        step(NORMAL, "the leader is prepared and sends its commit", h.prepare(3, 1, 0, hash), &["persist [prepared, vote] then send commit h1 v0 to all"]),
        step(NORMAL, "commits accumulate", h.commit(0, 1, 0, hash), &[]),
        step(NORMAL, "a commit quorum commits; the next leader is validator 2", h.commit(3, 1, 0, hash), &["commit h1 v0", "cancel timer"]),
    ];
    h.run(steps);
}

#[test]
fn idle_chain_runs_no_timer() {
    let (mut h, _) = Harness::new(0);
    let steps = vec![
        step(LIVENESS, "no waiting transactions, no timer", pending(0), &[]),
        step(LIVENESS, "a timer the core never started is ignored", timer(7, 1, 0), &[]),
        step(LIVENESS, "transactions start the timer", pending(3), &["start timer h1 v0 1000ms"]),
        step(LIVENESS, "an empty pool stops it again", pending(0), &["cancel timer"]),
    ];
    h.run(steps);
}

#[test]
fn timeouts_grow_per_failed_view() {
    let (mut h, _) = Harness::new(0);
    let steps = vec![
        step(LIVENESS, "waiting transactions start the timer", pending(1), &["start timer h1 v0 1000ms"]),
        step(VIEW_CHANGE, "a timeout moves to view 1, persisting the view before the view-change leaves", timer(1, 1, 0), &[
            "persist [view] then send view-change h1 v1 to all",
            "start timer h1 v1 1500ms",
        ]),
        step(VIEW_CHANGE, "a stale timer id is ignored", timer(1, 1, 0), &[]),
        step(LIVENESS, "one more view-change for view 1 is short of the quorum", view_change(&h, 1, 1, 1), &[]),
        step(LIVENESS, "a quorum asking for view 1 restarts its timer, 1.5x the view 0 timer", view_change(&h, 3, 1, 1), &["start timer h1 v1 1500ms"]),
        step(LIVENESS, "no new-view in time: view 2", timer(3, 1, 1), &[
            "persist [view] then send view-change h1 v2 to all",
            "start timer h1 v2 2250ms",
        ]),
    ];
    h.run(steps);
    assert_eq!(h.core.status().changing_to, Some(2));
}

#[test]
fn early_timeout_waits_for_others() {
    let (mut h, _) = Harness::new(0);
    let steps = vec![
        step(LIVENESS, "waiting transactions start the timer", pending(1), &["start timer h1 v0 1000ms"]),
        step(LIVENESS, "this validator's timer fires first", timer(1, 1, 0), &[
            "persist [view] then send view-change h1 v1 to all",
            "start timer h1 v1 1500ms",
        ]),
        step(LIVENESS, "alone in view 1, its timer sends the view-change again instead of moving a view ahead", timer(2, 1, 1), &[
            "send view-change h1 v1 to all",
            "start timer h1 v1 1500ms",
        ]),
        step(LIVENESS, "the others' view-changes for view 1 arrive later", view_change(&h, 1, 1, 1), &[]),
        step(LIVENESS, "with a quorum in view 1 the timer restarts and will move on", view_change(&h, 3, 1, 1), &["start timer h1 v1 1500ms"]),
    ];
    h.run(steps);
    assert_eq!(h.core.status().changing_to, Some(1));
}

#[test]
fn new_leader_collects_quorum_and_announces_view() {
    let (mut h, _) = Harness::new(2);
    let steps = vec![
        step(LIVENESS, "waiting transactions start the timer", pending(1), &["start timer h1 v0 1000ms"]),
        step(VIEW_CHANGE, "the timeout starts a view change to view 1, which validator 2 leads", timer(1, 1, 0), &[
            "persist [view] then send view-change h1 v1 to all",
            "start timer h1 v1 1500ms",
        ]),
        step(VIEW_CHANGE, "two view-changes are short of the quorum", view_change(&h, 0, 1, 1), &[]),
        step(VIEW_CHANGE, "a quorum of view-changes: the new primary multicasts new-view, enters the view and proposes", view_change(&h, 3, 1, 1), &[
            "send new-view h1 v1 to all",
            "persist [view]",
            "build h1 v1",
        ]),
    ];
    h.run(steps);
    assert_eq!(h.core.status().view, 1);
    assert_eq!(h.core.status().changing_to, None);
}

#[test]
fn one_validator_cannot_drag_views_up() {
    let (mut h, _) = Harness::new(0);
    let steps = vec![
        step(LIVENESS, "a view-change for 2^64 - 1 from one validator is below the f + 1 weight", view_change(&h, 2, 1, u64::MAX), &[]),
        step(LIVENESS, "a second validator asking for view 5 makes f + 1 weight at or above view 5", view_change(&h, 3, 1, 5), &[
            "persist [view] then send view-change h1 v5 to all",
            "start timer h1 v5 7593ms",
        ]),
    ];
    h.run(steps);
    assert_eq!(h.core.status().changing_to, Some(5));
}

#[test]
fn highest_view_overflow_does_not_panic() {
    let (mut h, _) = Harness::new(3);
    let steps = vec![
        step(LIVENESS, "one request for the last view is not enough", view_change(&h, 0, 1, u64::MAX), &[]),
        step(LIVENESS, "f + 1 weight moves the validator to the last view", view_change(&h, 1, 1, u64::MAX), &[
            "persist [view] then send view-change h1 v18446744073709551615 to all",
            "start timer h1 v18446744073709551615 8000ms",
        ]),
        step(VIEW_CHANGE, "its timer cannot move past the last view, so it only starts again", timer(1, 1, u64::MAX), &[
            "start timer h1 v18446744073709551615 8000ms",
        ]),
    ];
    h.run(steps);
}

fn proof(h: &Harness, from: usize, view: u64, prepared: Option<hashbridge_consensus::PreparedCertificate>) -> ViewChangeProof {
    let digest = view_change_digest(CHAIN_ID, 1, view, prepared.as_ref());
    ViewChangeProof { sender: h.key(from), prepared, signature: h.keys[from].sign(digest.as_bytes()) }
}

fn new_view_requiring(h: &Harness, block: &hashbridge_types::Block) -> Input {
    let certificate = h.prepared(1, 0, block.hash(), &[1, 2, 3]);
    let proofs = vec![proof(h, 1, 1, None), proof(h, 2, 1, None), proof(h, 3, 1, Some(certificate))];
    h.message(2, ConsensusMessage::NewView(NewView { height: 1, view: 1, view_changes: proofs }))
}

#[test]
fn new_view_requires_prepared_block() {
    let (mut h, _) = Harness::new(0);
    let prepared_block = h.block(1, h.genesis.hash, 1, 1);
    let steps = vec![
        step(VIEW_CHANGE, "a valid new-view moves the backup to view 1 and fixes the block to propose again", new_view_requiring(&h, &prepared_block), &[
            "persist [view]",
            "start timer h1 v1 1500ms",
        ]),
        step(VIEW_CHANGE, "the prepared block, proposed again by the new primary, is accepted though validator 1 built it", pre_prepare(&h, 2, 1, 1, &prepared_block), &["validate h1 v1"]),
    ];
    h.run(steps);
}

#[test]
fn new_view_rejects_other_block() {
    let (mut h, _) = Harness::new(0);
    let prepared_block = h.block(1, h.genesis.hash, 1, 1);
    let other = h.block(1, h.genesis.hash, 2, 2);
    let steps = vec![
        step(VIEW_CHANGE, "a valid new-view fixes the block to propose again", new_view_requiring(&h, &prepared_block), &[
            "persist [view]",
            "start timer h1 v1 1500ms",
        ]),
        step(VIEW_CHANGE, "a different block in that view is rejected, so a possibly committed block is never replaced", pre_prepare(&h, 2, 1, 1, &other), &[
            "rejected proposal NotRequiredBlock",
        ]),
    ];
    h.run(steps);
}

#[test]
fn new_view_without_quorum_is_rejected() {
    let (mut h, _) = Harness::new(0);
    let proofs = vec![proof(&h, 1, 1, None), proof(&h, 2, 1, None)];
    let input = h.message(2, ConsensusMessage::NewView(NewView { height: 1, view: 1, view_changes: proofs }));
    h.run(vec![step(VIEW_CHANGE, "a new-view needs view-changes of quorum weight", input, &["rejected Invalid"])]);
    assert_eq!(h.core.status().view, 0);
}

#[test]
fn equivocation_is_reported_once() {
    let (mut h, _) = Harness::new(0);
    let first = h.block(1, h.genesis.hash, 1, 1);
    let second = h.block(1, h.genesis.hash, 1, 2);
    let steps = vec![
        step(NORMAL, "the first pre-prepare of the view is accepted and its view timer starts", pre_prepare(&h, 1, 1, 0, &first), &["validate h1 v0", "start timer h1 v0 1000ms"]),
        step(NORMAL, "a second pre-prepare for the same view and height is evidence against the primary", pre_prepare(&h, 1, 1, 0, &second), &["evidence pre-prepare against v1"]),
        step(NORMAL, "a prepare counts once", h.prepare(2, 1, 0, first.hash()), &[]),
        step(NORMAL, "a conflicting prepare from the same backup is evidence", h.prepare(2, 1, 0, second.hash()), &["evidence prepare against v2"]),
        step(NORMAL, "further conflicts from that backup in the view are not reported again", h.prepare(2, 1, 0, Hash32([5; 32])), &[]),
    ];
    h.run(steps);
}

#[test]
fn vote_guard_holds_across_restart() {
    let voted = Hash32([4; 32]);
    let record = Record::Vote(VoteRecord { height: 1, view: 0, kind: VoteKind::Prepare, block_hash: voted });
    let (mut h, start) = Harness::restore(0, common::genesis(), vec![record], 0);
    assert!(start.is_empty());
    let block = h.block(1, h.genesis.hash, 1, 1);
    let steps = vec![
        step(NORMAL, "the restarted backup still checks a new pre-prepare", pre_prepare(&h, 1, 1, 0, &block), &["validate h1 v0", "start timer h1 v0 1000ms"]),
        step(NORMAL, "its guard refuses a prepare that conflicts with the persisted one, so nothing is sent", validated(1, 0, &block), &[]),
    ];
    h.run(steps);
}

#[test]
fn restart_resumes_view_change() {
    let record = Record::View { height: 1, view: 3 };
    let (h, start) = Harness::restore(0, common::genesis(), vec![record], 0);
    assert_eq!(start, vec!["send view-change h1 v3 to all", "start timer h1 v3 3375ms"]);
    assert_eq!(h.core.status().changing_to, Some(3));
}

#[test]
fn vote_floor_blocks_votes() {
    let (mut h, _) = Harness::restore(0, common::genesis(), Vec::new(), 5);
    let block = h.block(1, h.genesis.hash, 1, 1);
    let steps = vec![
        step(NORMAL, "below the floor the backup still follows proposals, without a view timer", pre_prepare(&h, 1, 1, 0, &block), &["validate h1 v0"]),
        step(NORMAL, "but signs no vote below the floor", validated(1, 0, &block), &[]),
        step(VIEW_CHANGE, "and joins no view change it could not vouch for", view_change(&h, 1, 1, 1), &[]),
        step(VIEW_CHANGE, "even with f + 1 weight asking", view_change(&h, 2, 1, 1), &[]),
    ];
    h.run(steps);
}

#[test]
fn lagging_node_fetches_and_checks_certificates() {
    let (mut h, _) = Harness::new(0);
    let first = h.block(1, h.genesis.hash, 1, 1);
    let second = h.block(2, first.hash(), 2, 2);
    let good = h.commit_certificate(1, 0, first.hash(), &[1, 2, 3]);
    let short = h.commit_certificate(2, 0, second.hash(), &[2, 3]);
    let steps = vec![
        step(CHECKPOINTS, "a message two heights ahead shows the node is behind", h.prepare(2, 3, 0, Hash32([1; 32])), &["fetch from h1 at v2"]),
        step(CHECKPOINTS, "fetches are rate-limited per height", h.prepare(3, 3, 0, Hash32([1; 32])), &[]),
        step(CHECKPOINTS, "a synced block with a valid certificate commits", Input::SyncedBlock { block: first.clone(), certificate: good, now_ms: NOW_MS }, &["commit h1 v0"]),
        step(CHECKPOINTS, "a synced block whose certificate lacks the quorum is rejected", Input::SyncedBlock { block: second, certificate: short, now_ms: NOW_MS }, &["rejected InvalidSyncedBlock"]),
    ];
    h.run(steps);
    assert_eq!(h.core.status().committed.height, 1);
}

#[test]
fn stable_checkpoint_prunes_records() {
    let (mut h, _) = Harness::new(0);
    let first = h.block(1, h.genesis.hash, 1, 1);
    let second = h.block(2, first.hash(), 2, 2);
    let sync = |block: &hashbridge_types::Block, h: &Harness| Input::SyncedBlock {
        block: block.clone(),
        certificate: h.commit_certificate(block.height(), 0, block.hash(), &[1, 2, 3]),
        now_ms: NOW_MS,
    };
    let checkpoint = |from: usize, h: &Harness| {
        h.message(from, ConsensusMessage::Checkpoint(Checkpoint { height: 2, block_hash: second.hash() }))
    };
    let steps = vec![
        step(CHECKPOINTS, "height 1 is not a checkpoint", sync(&first, &h), &["commit h1 v0"]),
        step(CHECKPOINTS, "every second height the validator multicasts a checkpoint", sync(&second, &h), &["commit h2 v0", "send checkpoint h2 to all"]),
        step(CHECKPOINTS, "two matching checkpoints are short of the quorum", checkpoint(1, &h), &[]),
        step(CHECKPOINTS, "a quorum makes the checkpoint stable and older records can go", checkpoint(2, &h), &["prune below h2"]),
    ];
    h.run(steps);
    assert_eq!(h.core.status().stable_checkpoint, 2);
}

#[test]
fn invalid_messages_are_rejected() {
    let (mut h, _) = Harness::new(0);
    let block = h.block(1, h.genesis.hash, 1, 1);
    let mut forged = h.sign(1, ConsensusMessage::Prepare(Vote { height: 1, view: 0, block_hash: block.hash() }));
    forged.signature = Signature([1; 64]);
    let mut stranger = forged.clone();
    stranger.sender = hashbridge_crypto::PublicKey([42; 32]);
    let wrong_chain = {
        let message = ConsensusMessage::Commit(Vote { height: 1, view: 0, block_hash: block.hash() });
        let signature = h.keys[2].sign(message.digest("other-chain").as_bytes());
        SignedMessage { sender: h.key(2), message, signature }
    };
    let input = |message: SignedMessage| Input::Message { message, now_ms: NOW_MS };
    let steps = vec![
        step(NORMAL, "a bad signature is rejected", input(forged), &["rejected BadSignature"]),
        step(NORMAL, "a sender outside the validator set is rejected", input(stranger), &["rejected UnknownSender"]),
        step(NORMAL, "a signature for another chain does not verify", input(wrong_chain), &["rejected BadSignature"]),
        step(NORMAL, "only the primary of the view may send a pre-prepare", pre_prepare(&h, 3, 1, 0, &block), &["rejected NotLeader"]),
    ];
    h.run(steps);
}

#[test]
fn proposal_checks_reject_bad_blocks() {
    type Mutation = fn(&mut hashbridge_types::Block, &Harness);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        ("wrong parent", |b, _| b.header.parent_hash = Hash32([9; 32]), "rejected proposal WrongParent"),
        ("wrong height", |b, _| b.header.height = 2, "rejected proposal WrongHeight"),
        ("wrong proposer", |b, h| b.header.proposer = h.key(3), "rejected proposal WrongProposer"),
        ("timestamp not after parent", |b, h| b.header.timestamp_ms = h.genesis.timestamp_ms, "rejected proposal TimestampNotAfterParent"),
        ("timestamp far ahead", |b, _| b.header.timestamp_ms = NOW_MS + 5_000, "rejected proposal TimestampAhead"),
        ("body does not match root", |b, _| b.transactions.push(common::transaction(7)), "rejected proposal TransactionCountMismatch"),
        ("transaction root", |b, _| b.header.transaction_root = Hash32([1; 32]), "rejected proposal TransactionRootMismatch"),
        ("duplicate transaction", |b, _| {
            b.transactions.push(b.transactions[0].clone());
            b.header.transaction_count = 2;
        }, "rejected proposal DuplicateTransaction"),
        ("too many transactions", |b, _| {
            b.transactions = (10..21).map(common::transaction).collect();
            b.header.transaction_count = 11;
        }, "rejected proposal TooManyTransactions"),
        ("validator set", |b, _| b.header.validator_set_hash = Hash32([3; 32]), "rejected proposal WrongValidatorSet"),
    ];
    for (fact, mutate, expected) in cases {
        let (mut h, _) = Harness::new(0);
        let mut block = h.block(1, h.genesis.hash, 1, 1);
        mutate(&mut block, &h);
        let input = pre_prepare(&h, 1, 1, 0, &block);
        h.run(vec![step(NORMAL, fact, input, &[expected])]);
    }
}

#[test]
fn messages_far_ahead_are_dropped_not_buffered() {
    let (mut h, _) = Harness::new(0);
    let far = hashbridge_consensus::HEIGHT_WINDOW + 5;
    let steps = vec![
        step(CHECKPOINTS, "a far-ahead message still triggers a fetch", h.prepare(1, far, 0, Hash32([1; 32])), &["fetch from h1 at v1"]),
        step(NORMAL, "a vote far ahead in views at this height is dropped", h.prepare(1, 1, u64::MAX, Hash32([1; 32])), &[]),
    ];
    h.run(steps);
    let tip = CommittedTip { height: 0, ..common::genesis() };
    assert_eq!(h.core.status().committed, tip);
}

#[test]
fn view_change_with_tampered_body_is_rejected() {
    // The view-change signature covers the block hash only, so a relay could swap the body.
    let (mut h, _) = Harness::new(2);
    let block = h.block(1, h.genesis.hash, 1, 1);
    let certificate = h.prepared(1, 0, block.hash(), &[0, 1, 3]);
    let mut tampered = block.clone();
    tampered.transactions = vec![common::transaction(9)];
    let with_body = |body: &hashbridge_types::Block| {
        let message = ConsensusMessage::ViewChange(ViewChange {
            height: 1,
            view: 1,
            prepared: Some(certificate.clone()),
            block: Some(body.clone()),
        });
        h.message(3, message)
    };
    let steps = vec![
        step(VIEW_CHANGE, "a prepared block whose body does not match its header is rejected", with_body(&tampered), &["rejected Invalid"]),
        step(VIEW_CHANGE, "the same certificate with the real body is accepted", with_body(&block), &[]),
    ];
    h.run(steps);
}

#[test]
fn restart_after_preparing_moves_a_view_on() {
    let h = Harness::new(0).0;
    let block = h.block(1, h.genesis.hash, 2, 1);
    let certificate = h.prepared(1, 2, block.hash(), &[1, 2, 3]);
    let records = vec![Record::View { height: 1, view: 2 }, Record::Prepared { certificate, block }];
    let (h, start) = Harness::restore(0, common::genesis(), records, 0);
    assert_eq!(start, vec!["send view-change h1 v3 to all", "start timer h1 v3 3375ms"], "a view-change carries only certificates from lower views");
    assert_eq!(h.core.status().changing_to, Some(3));
}
