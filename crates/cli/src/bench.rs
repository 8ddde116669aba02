//! `hashbridge bench`: committed anchors per second and submit-to-commit latency on a local
//! 4-validator chain of real node processes, driven by several client threads.
//!
//! Clients sign anchors with the four institutions' account keys and submit them over
//! HTTP, spread over the four nodes. A watcher reads every new block from one node and
//! matches its transaction ids to submission times; latency is measured from the submit
//! call to the moment the watcher sees the block (it polls every 20 ms, which bounds the
//! added error). Everything runs on this machine, so clients and nodes share its cores.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use hashbridge_api::types::{BlockView, SubmitRequest};
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::{Hash32, KeyPair};
use hashbridge_types::{Action, AnchorRecord, Nonce, TransactionPayload};
use rand::RngCore;
use serde::Serialize;

use crate::anchoring::now_ms;
use crate::output::{emit, OutputFormat};
use crate::processes::LocalChain;

const INSTITUTIONS: [&str; 4] = ["sz-credit", "hk-bank", "qh-credit", "hk-credit"];

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Client threads submitting transactions.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Anchors per transaction; 1 sends `Anchor`, more sends `AnchorBatch`.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Target submission rate in transactions per second over all clients; 0 submits as
    /// fast as the in-flight limit allows.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Submitted but not yet committed transactions allowed before clients wait. It keeps
    /// the load below the mempool limit, so the run measures commits rather than rejections.
    #[arg(long, default_value_t = 8000)]
    pub max_in_flight: u64,
    /// Folder for the chain; a temporary folder, removed afterwards, when omitted.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub machine: Machine,
    pub clients: usize,
    pub target_rate: u64,
    pub max_in_flight: u64,
    pub anchors_per_transaction: usize,
    pub load_seconds: f64,
    pub submitted_transactions: u64,
    pub committed_transactions: u64,
    pub committed_anchors: u64,
    pub anchors_per_second: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    pub blocks: u64,
    pub rejected_submissions: u64,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub os: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map_or("unknown".into(), |s| s.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = meminfo.lines().find(|l| l.starts_with("MemTotal")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        os: std::env::consts::OS.to_string(),
    }
}

struct Shared {
    submitted: Mutex<HashMap<Hash32, Instant>>,
    latencies: Mutex<Vec<Duration>>,
    submitted_count: AtomicU64,
    committed_count: AtomicU64,
    rejected: AtomicU64,
    /// Clients stop submitting.
    stop: AtomicBool,
    /// The watcher stops reading blocks.
    done: AtomicBool,
}

pub fn run(format: OutputFormat, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let temp = std::env::temp_dir().join(format!("hashbridge-bench-{}", std::process::id()));
    let dir = args.dir.clone().unwrap_or_else(|| temp.clone());
    let result = run_in(args, &dir);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    let report = result?;
    emit(format, &report, print_report)?;
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &BenchReport) {
    out!("machine:             {} ({} cores, {} GiB, {})", r.machine.cpu, r.machine.cores, r.machine.memory_gib, r.machine.os);
    let rate = if r.target_rate == 0 { "as fast as possible".to_string() } else { format!("{} tx/s target", r.target_rate) };
    out!("load:                {} clients for {:.1}s, {} anchors per transaction, {rate}, at most {} in flight", r.clients, r.load_seconds, r.anchors_per_transaction, r.max_in_flight);
    out!("transactions:        {} submitted, {} committed, {} submissions rejected", r.submitted_transactions, r.committed_transactions, r.rejected_submissions);
    out!("committed anchors:   {} in {} blocks", r.committed_anchors, r.blocks);
    out!("throughput:          {:.0} anchors/s", r.anchors_per_second);
    out!("submit-to-commit:    p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms", r.latency_p50_ms, r.latency_p99_ms, r.latency_max_ms);
}

fn run_in(args: &BenchArgs, dir: &std::path::Path) -> anyhow::Result<BenchReport> {
    let mut chain = LocalChain::generate(&dir.join("chain"), "hashbridge-bench", 4, 0, |spec| {
        spec.consensus.transaction_validity_window = 100_000;
    })?;
    chain.start_all()?;
    chain.wait_ready(Duration::from_secs(60))?;
    let apis: Vec<String> = chain.nodes.iter().map(|n| n.api.clone()).collect();
    let status = crate::client::NodeClient::new(apis.first().context("no node")?)?.status()?;

    let shared = Arc::new(Shared {
        submitted: Mutex::new(HashMap::new()),
        latencies: Mutex::new(Vec::new()),
        submitted_count: AtomicU64::new(0),
        committed_count: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        done: AtomicBool::new(false),
    });
    let watcher = {
        let shared = shared.clone();
        let api = apis.first().cloned().unwrap_or_default();
        std::thread::spawn(move || watch(&api, &shared))
    };

    let start = Instant::now();
    let mut clients = Vec::new();
    for i in 0..args.clients.max(1) {
        let institution = INSTITUTIONS[i % INSTITUTIONS.len()];
        let key = KeyPair::read_file(&chain.dir.join("institutions").join(institution).join("account.key"), Some(KeyPurpose::Account))?;
        let api = apis[i % apis.len()].clone();
        let shared = shared.clone();
        let chain_id = status.chain_id.clone();
        let batch = args.batch.max(1);
        let load = Load { batch, max_in_flight: args.max_in_flight, interval: per_client_interval(args.rate, args.clients.max(1)) };
        clients.push(std::thread::spawn(move || submit_loop(&api, &key, &chain_id, load, &shared)));
    }
    std::thread::sleep(Duration::from_secs(args.duration));
    shared.stop.store(true, Ordering::SeqCst);
    let load_seconds = start.elapsed().as_secs_f64();
    for client in clients {
        let _ = client.join();
    }
    // Let the last transactions commit; they are counted only if they were submitted in time.
    let drain_deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < drain_deadline && !locked(&shared.submitted).is_empty() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = start.elapsed().as_secs_f64();
    shared.done.store(true, Ordering::SeqCst);
    let blocks = watcher.join().unwrap_or(0);
    chain.stop_all();

    let mut latencies = locked(&shared.latencies).clone();
    latencies.sort();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let committed = shared.committed_count.load(Ordering::SeqCst);
    Ok(BenchReport {
        machine: machine(),
        clients: args.clients,
        target_rate: args.rate,
        max_in_flight: args.max_in_flight,
        anchors_per_transaction: args.batch.max(1),
        load_seconds,
        submitted_transactions: shared.submitted_count.load(Ordering::SeqCst),
        committed_transactions: committed,
        committed_anchors: committed * args.batch.max(1) as u64,
        anchors_per_second: committed as f64 * args.batch.max(1) as f64 / elapsed,
        latency_p50_ms: percentile(0.50),
        latency_p99_ms: percentile(0.99),
        latency_max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        blocks,
        rejected_submissions: shared.rejected.load(Ordering::SeqCst),
    })
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn random_commitment() -> Hash32 {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Hash32(bytes)
}

/// The pacing of one client's submissions.
#[derive(Debug, Clone, Copy)]
struct Load {
    batch: usize,
    max_in_flight: u64,
    /// Time between two submissions of this client; `None` for no pacing.
    interval: Option<Duration>,
}

fn per_client_interval(rate: u64, clients: usize) -> Option<Duration> {
    (rate > 0).then(|| Duration::from_secs_f64(clients as f64 / rate as f64))
}

fn submit_loop(api: &str, key: &KeyPair, chain_id: &str, load: Load, shared: &Shared) {
    let Ok(http) = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build() else { return };
    let url = format!("{api}/v1/transactions");
    let batch = load.batch;
    let mut next_send = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        let in_flight = shared.submitted_count.load(Ordering::Relaxed).saturating_sub(shared.committed_count.load(Ordering::Relaxed));
        if in_flight > load.max_in_flight {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        if let Some(interval) = load.interval {
            let now = Instant::now();
            if next_send > now {
                std::thread::sleep(next_send - now);
            }
            next_send += interval;
        }
        let mut records: Vec<AnchorRecord> = (0..batch).map(|_| random_record()).collect();
        let action = match (batch, records.pop()) {
            (1, Some(record)) => Action::Anchor(record),
            (_, Some(record)) => {
                records.push(record);
                Action::AnchorBatch { anchors: records }
            }
            (_, None) => continue,
        };
        let tx = TransactionPayload { chain_id: chain_id.to_string(), sender: key.public_key(), nonce: Nonce::random(), valid_until: 50_000, action }.sign(key);
        let id = tx.id();
        locked(&shared.submitted).insert(id, Instant::now());
        match http.post(&url).json(&SubmitRequest { transaction: tx }).send() {
            Ok(response) if response.status().is_success() => {
                shared.submitted_count.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) | Err(_) => {
                locked(&shared.submitted).remove(&id);
                shared.rejected.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn random_record() -> AnchorRecord {
    AnchorRecord { commitment: random_commitment(), kind: "credit.personal".into(), issued_at_ms: now_ms(), expires_at_ms: None, metadata: vec![] }
}

/// Reads each new block from `api` and records the latency of every transaction in it.
fn watch(api: &str, shared: &Shared) -> u64 {
    let Ok(http) = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build() else { return 0 };
    let mut next = 1u64;
    let mut blocks = 0u64;
    loop {
        if shared.done.load(Ordering::Relaxed) {
            return blocks;
        }
        let response = http.get(format!("{api}/v1/blocks/{next}")).send();
        let block: Option<BlockView> = match response {
            Ok(r) if r.status().is_success() => r.json().ok(),
            _ => None,
        };
        let Some(block) = block else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let seen = Instant::now();
        blocks += 1;
        next += 1;
        let mut submitted = locked(&shared.submitted);
        let mut latencies = locked(&shared.latencies);
        for tx in &block.transactions {
            if let Some(start) = submitted.remove(&tx.transaction_id) {
                if tx.result.is_ok() {
                    latencies.push(seen.duration_since(start));
                    shared.committed_count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
