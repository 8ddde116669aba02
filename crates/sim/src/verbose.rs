//! One-line descriptions of actions for `--verbose` replays.

use hashbridge_consensus::{Action, ConsensusMessage, Destination, Record};

/// Describes an action in one line, without block contents.
pub fn describe(action: &Action) -> String {
    match action {
        Action::Send(out) => format!("send {} to {}", message(&out.message.message), destination(&out.to)),
        Action::PersistThenSend { records, message: out, .. } => {
            format!("persist {} then send {} to {}", records_of(records), message(&out.message.message), destination(&out.to))
        }
        Action::Persist { records, .. } => format!("persist {}", records_of(records)),
        Action::PruneRecords { below_height } => format!("prune below {below_height}"),
        Action::StartTimer { timer_id, height, view, duration_ms } => {
            format!("start timer {timer_id} h{height} v{view} {duration_ms}ms")
        }
        Action::CancelTimer { timer_id } => format!("cancel timer {timer_id}"),
        Action::BuildProposal { height, view, .. } => format!("build h{height} v{view}"),
        Action::ValidateProposal { height, view, block } => format!("validate h{height} v{view} {}", block.hash().to_hex().get(..8).unwrap_or("")),
        Action::CommitBlock { block, certificate } => {
            format!("commit h{} v{} {}", block.height(), certificate.view, block.hash().to_hex().get(..8).unwrap_or(""))
        }
        Action::FetchBlocks { from_height, peer } => format!("fetch from h{from_height} at {}", peer.short()),
        Action::ReportEquivocation(evidence) => {
            format!("evidence {} against {}", evidence.second.message.kind(), evidence.second.sender.short())
        }
        Action::Rejected(error) => format!("rejected: {error}"),
    }
}

fn message(message: &ConsensusMessage) -> String {
    let hash = match message {
        ConsensusMessage::PrePrepare(p) => p.block.hash().to_hex(),
        ConsensusMessage::Prepare(v) | ConsensusMessage::Commit(v) => v.block_hash.to_hex(),
        ConsensusMessage::ViewChange(v) => v.prepared.as_ref().map(|c| format!("prepared v{} {}", c.view, c.block_hash)).unwrap_or_default(),
        _ => String::new(),
    };
    let hash = hash.get(..8.min(hash.len())).unwrap_or("").to_string();
    match message.view() {
        Some(view) => format!("{} h{} v{view} {hash}", message.kind(), message.height()),
        None => format!("{} h{}", message.kind(), message.height()),
    }
}

fn destination(to: &Destination) -> String {
    match to {
        Destination::Broadcast => "all".into(),
        Destination::Peer(key) => key.short(),
    }
}

fn records_of(records: &[Record]) -> String {
    let kinds: Vec<&str> = records
        .iter()
        .map(|record| match record {
            Record::Vote(_) => "vote",
            Record::Prepared { .. } => "prepared",
            Record::View { .. } => "view",
        })
        .collect();
    format!("[{}]", kinds.join(", "))
}
