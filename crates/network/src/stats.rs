//! Counters behind [`NetworkStats`] and the rate limit for repeated drop warnings.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Snapshot of the network counters since `start`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkStats {
    /// One-way messages received from peers.
    pub messages_in: u64,
    /// One-way messages handed to libp2p for sending.
    pub messages_out: u64,
    /// Block requests received from peers.
    pub block_requests_in: u64,
    /// Block requests sent to peers.
    pub block_requests_out: u64,
    /// Outbound messages dropped because a queue was full, the peer was not connected or the
    /// payload exceeded `max_frame_bytes`.
    pub dropped_outbound: u64,
    /// Inbound events dropped because the event channel to the node was full.
    pub dropped_inbound: u64,
    /// Peers disconnected for misbehaviour: oversized frames or a `disconnect` call.
    pub misbehaviour_disconnects: u64,
    /// Connections rejected because the peer key is not in the member list.
    pub rejected_non_member: u64,
    /// Connections rejected because the peer already had an established connection.
    pub rejected_duplicate: u64,
    /// Connections rejected because the peer was banned after misbehaving.
    pub rejected_banned: u64,
}

/// Shared atomic counters, updated by the network task and the handle.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub block_requests_in: AtomicU64,
    pub block_requests_out: AtomicU64,
    pub dropped_outbound: AtomicU64,
    pub dropped_inbound: AtomicU64,
    pub misbehaviour_disconnects: AtomicU64,
    pub rejected_non_member: AtomicU64,
    pub rejected_duplicate: AtomicU64,
    pub rejected_banned: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn snapshot(&self) -> NetworkStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        NetworkStats {
            messages_in: read(&self.messages_in),
            messages_out: read(&self.messages_out),
            block_requests_in: read(&self.block_requests_in),
            block_requests_out: read(&self.block_requests_out),
            dropped_outbound: read(&self.dropped_outbound),
            dropped_inbound: read(&self.dropped_inbound),
            misbehaviour_disconnects: read(&self.misbehaviour_disconnects),
            rejected_non_member: read(&self.rejected_non_member),
            rejected_duplicate: read(&self.rejected_duplicate),
            rejected_banned: read(&self.rejected_banned),
        }
    }
}

/// Minimum time between two warnings about dropped messages of one kind.
const DROP_WARN_INTERVAL: Duration = Duration::from_secs(5);

/// Rate limit for drop warnings: at most one warning per interval, which reports how many
/// drops happened since the previous warning.
#[derive(Debug, Default)]
pub(crate) struct DropWarnings {
    last_warning: Option<Instant>,
    unreported: u64,
}

impl DropWarnings {
    /// Records one drop and returns the number of drops to report now, if a warning is due.
    pub fn record(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        let due = self.last_warning.is_none_or(|last| now.duration_since(last) >= DROP_WARN_INTERVAL);
        if !due {
            return None;
        }
        self.last_warning = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn drop_warnings_rate_limited() {
        let start = Instant::now();
        let mut warnings = DropWarnings::default();
        assert_eq!(warnings.record(start), Some(1));
        assert_eq!(warnings.record(start + Duration::from_secs(1)), None);
        assert_eq!(warnings.record(start + Duration::from_secs(2)), None);
        assert_eq!(warnings.record(start + DROP_WARN_INTERVAL), Some(3));
    }
}
