//! Prometheus metrics of one node, on `prometheus-client`.
//!
//! The node holds one [`Metrics`], updates it as it commits blocks and changes views, and
//! returns [`Metrics::encode`] from `ApiBackend::metrics`, which `GET /metrics` serves.
//! The output is the OpenMetrics text format, which Prometheus scrapes natively.
//! Every metric name starts with `hashbridge_`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the submit-to-commit latency buckets, in seconds: 5 ms to 30 s.
const COMMIT_LATENCY_BUCKETS: [f64; 14] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0];

/// Upper bounds of the block interval buckets, in seconds. An idle chain makes no empty
/// blocks, so intervals of many minutes are normal and get their own buckets.
const BLOCK_INTERVAL_BUCKETS: [f64; 14] =
    [0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 3600.0];

/// Label set of `hashbridge_rejected_transactions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    reason: &'static str,
}

/// Metric handles shared by every clone of [`Metrics`].
#[derive(Debug)]
struct Inner {
    registry: Registry,
    height: Gauge,
    commits: Counter,
    committed_transactions: Counter,
    view_changes: Counter,
    commit_latency: Histogram,
    block_interval: Histogram,
    mempool_transactions: Gauge,
    peers: Gauge,
    view: Gauge,
    rejected_transactions: Family<RejectionLabels, Counter>,
}

/// The node's metrics. Cloning is cheap and every clone updates the same values.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric, all starting at zero.
    pub fn new() -> Self {
        let mut inner = Inner {
            registry: Registry::with_prefix("hashbridge"),
            height: Gauge::default(),
            commits: Counter::default(),
            committed_transactions: Counter::default(),
            view_changes: Counter::default(),
            commit_latency: Histogram::new(COMMIT_LATENCY_BUCKETS),
            block_interval: Histogram::new(BLOCK_INTERVAL_BUCKETS),
            mempool_transactions: Gauge::default(),
            peers: Gauge::default(),
            view: Gauge::default(),
            rejected_transactions: Family::default(),
        };
        inner.register_all();
        Metrics { inner: Arc::new(inner) }
    }

    /// Records one committed block: its height, its transaction count and the time since
    /// the previous block, if the node saw it.
    pub fn record_commit(&self, height: u64, transactions: u64, interval: Option<Duration>) {
        self.inner.height.set(saturating_i64(height));
        self.inner.commits.inc();
        self.inner.committed_transactions.inc_by(transactions);
        if let Some(interval) = interval {
            self.inner.block_interval.observe(interval.as_secs_f64());
        }
    }

    /// Sets the committed height without counting a commit, such as after a restart or
    /// while syncing blocks from peers.
    pub fn set_height(&self, height: u64) {
        self.inner.height.set(saturating_i64(height));
    }

    /// Records the time from a transaction's submission to this node until its block
    /// committed.
    pub fn observe_commit_latency(&self, latency: Duration) {
        self.inner.commit_latency.observe(latency.as_secs_f64());
    }

    /// Records a move to a new PBFT view.
    pub fn record_view_change(&self, view: u64) {
        self.inner.view_changes.inc();
        self.inner.view.set(saturating_i64(view));
    }

    /// Sets the current PBFT view without counting a view change, such as at startup.
    pub fn set_view(&self, view: u64) {
        self.inner.view.set(saturating_i64(view));
    }

    pub fn set_mempool_transactions(&self, count: usize) {
        self.inner.mempool_transactions.set(saturating_i64(count as u64));
    }

    pub fn set_peers(&self, count: usize) {
        self.inner.peers.set(saturating_i64(count as u64));
    }

    /// Counts one rejected transaction. `reason` is a fixed code such as
    /// `ResultCode::as_str()` or `mempool_full`, and its `&'static str` type keeps the
    /// label set bounded.
    pub fn record_rejected(&self, reason: &'static str) {
        self.inner.rejected_transactions.get_or_create(&RejectionLabels { reason }).inc();
    }

    /// Encodes every metric in the OpenMetrics text format, ending with `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry) {
            tracing::warn!(target: "hashbridge::api", %error, "failed to encode metrics");
        }
        text
    }
}

impl Inner {
    /// Registers every metric handle. Counters get the `_total` suffix from the encoder, so
    /// their names here omit it.
    fn register_all(&mut self) {
        let registry = &mut self.registry;
        registry.register("height", "Height of the last committed block", self.height.clone());
        registry.register("commits", "Blocks committed by this node", self.commits.clone());
        registry.register(
            "committed_transactions",
            "Transactions in blocks committed by this node",
            self.committed_transactions.clone(),
        );
        registry.register("view_changes", "PBFT view changes seen by this node", self.view_changes.clone());
        registry.register(
            "commit_latency_seconds",
            "Time from submission to this node until the transaction's block committed, in seconds",
            self.commit_latency.clone(),
        );
        registry.register(
            "block_interval_seconds",
            "Time between consecutive committed blocks, in seconds",
            self.block_interval.clone(),
        );
        registry.register(
            "mempool_transactions",
            "Transactions waiting in this node's mempool",
            self.mempool_transactions.clone(),
        );
        registry.register("peers", "Connected peers", self.peers.clone());
        registry.register("view", "Current PBFT view", self.view.clone());
        registry.register(
            "rejected_transactions",
            "Transactions rejected at submission or execution, by reason",
            self.rejected_transactions.clone(),
        );
    }
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_lists_every_metric() {
        let metrics = Metrics::new();
        metrics.record_commit(7, 3, Some(Duration::from_millis(1500)));
        metrics.observe_commit_latency(Duration::from_millis(40));
        metrics.record_view_change(2);
        metrics.set_mempool_transactions(11);
        metrics.set_peers(3);
        metrics.record_rejected("duplicate_commitment");

        let text = metrics.encode();
        for expected in [
            "hashbridge_height 7",
            "hashbridge_commits_total 1",
            "hashbridge_committed_transactions_total 3",
            "hashbridge_view_changes_total 1",
            "hashbridge_commit_latency_seconds_count 1",
            "hashbridge_commit_latency_seconds_bucket{le=\"0.05\"} 1",
            "hashbridge_block_interval_seconds_count 1",
            "hashbridge_mempool_transactions 11",
            "hashbridge_peers 3",
            "hashbridge_view 2",
            "hashbridge_rejected_transactions_total{reason=\"duplicate_commitment\"} 1",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn clones_share_values() {
        let metrics = Metrics::new();
        let clone = metrics.clone();
        clone.set_height(42);
        clone.set_view(5);
        assert!(metrics.encode().contains("hashbridge_height 42"));
        assert!(metrics.encode().contains("hashbridge_view 5"));
    }

    #[test]
    fn huge_values_saturate() {
        let metrics = Metrics::new();
        metrics.set_height(u64::MAX);
        assert!(metrics.encode().contains(&format!("hashbridge_height {}", i64::MAX)));
    }
}
