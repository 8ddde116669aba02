//! Fault drills on a chain of real node processes: crashes, a wiped data folder, keys
//! outside the genesis, replayed transactions, garbage on the P2P port, SIGTERM and a
//! corrupt store. Every test generates its own chain of 4 validators and 1 observer
//! (node 4) on loopback.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::KeyPair;
use hashbridge_types::{Action, Nonce, Transaction, TransactionPayload};
use serde_json::Value;
use support::*;

const OBSERVER: usize = 4;
/// Issuer institutions of the generated chain, in the order of their validator nodes.
const ISSUERS: [&str; 4] = ["sz-credit", "hk-bank", "qh-credit", "hk-credit"];
const EQUIVOCATION_LOG: &str = "validator signed two conflicting messages";

/// Signs and submits one anchor to node `index`, and waits until that node reports it committed.
fn commit_anchor(chain: &TestChain, index: usize, institution: &str) -> Transaction {
    let key = chain.account_key(institution);
    let tx = chain.sign(index, &key, Action::Anchor(record(random_hash())));
    let (code, body) = chain.submit(index, &tx);
    assert_eq!(code, 202, "node {} did not accept the anchor: {body}; log:\n{}", chain.nodes[index].name, chain.log_tail(index));
    let status = chain.wait_transaction(index, &tx.id());
    assert_eq!(status["state"], "committed", "anchor was not committed: {status}; log:\n{}", chain.log_tail(index));
    tx
}

/// Joins the last lines of every node's log, for failure messages.
fn all_logs(chain: &TestChain) -> String {
    (0..chain.nodes.len()).map(|i| format!("--- {} ---\n{}", chain.nodes[i].name, chain.log_tail(i))).collect::<Vec<_>>().join("\n")
}

/// Waits until every node in `nodes` is at `height` or above, then checks that they store
/// the same block hash at every height from 1 to `height`.
fn assert_same_chain(chain: &TestChain, nodes: &[usize], height: u64) {
    for &index in nodes {
        chain.wait_height(index, height);
    }
    let reference = nodes[0];
    for h in 1..=height {
        let expected = chain.block_hash(reference, h);
        assert!(expected.is_some(), "node {} has no block at height {h}; log:\n{}", chain.nodes[reference].name, chain.log_tail(reference));
        for &index in &nodes[1..] {
            let found = chain.block_hash(index, h);
            assert_eq!(
                found, expected,
                "block hash at height {h} differs between {} and {}; logs:\n{}",
                chain.nodes[index].name, chain.nodes[reference].name, all_logs(chain)
            );
        }
    }
}

fn assert_no_equivocation(chain: &TestChain) {
    for index in 0..chain.nodes.len() {
        let log = chain.log(index);
        let hits: Vec<&str> = log.lines().filter(|line| line.contains(EQUIVOCATION_LOG)).collect();
        assert!(hits.is_empty(), "node {} reported equivocation:\n{}", chain.nodes[index].name, hits.join("\n"));
    }
}

/// Reads the node config of node `index` as TOML.
fn node_config(chain: &TestChain, index: usize) -> toml::Table {
    std::fs::read_to_string(&chain.nodes[index].config).unwrap().parse().unwrap()
}

fn p2p_address(chain: &TestChain, index: usize) -> SocketAddr {
    node_config(chain, index)["p2p"]["listen"].as_str().unwrap().parse().unwrap()
}

fn public_key(chain: &TestChain, index: usize) -> String {
    chain.status(index).unwrap()["public_key"].as_str().unwrap().to_string()
}

/// Writes a copy of node `index`'s config next to it with `edit` applied, and returns its path.
fn config_variant(chain: &TestChain, index: usize, name: &str, edit: impl FnOnce(&mut toml::Table)) -> PathBuf {
    let mut config = node_config(chain, index);
    edit(&mut config);
    let path = chain.nodes[index].config.with_file_name(name);
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    path
}

/// Output of a `hashbridge node run` that was expected to exit by itself.
struct Exit {
    code: Option<i32>,
    output: String,
}

/// Runs `hashbridge node run --config CONFIG` and waits up to [`WAIT`] for it to exit. A
/// node that logs "starting consensus" has accepted its key and store, so it is killed
/// then and reported with no exit code, as is a node still running at the deadline.
fn run_node_to_exit(config: &Path) -> Exit {
    let log = config.with_extension("log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(BIN)
        .args(["node", "run", "--config", path_str(config)])
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        let started = std::fs::read_to_string(&log).unwrap_or_default().contains("starting consensus");
        if started || Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Exit { code, output: std::fs::read_to_string(&log).unwrap_or_default() }
}

/// Submits anchors to `targets` in turn from a background thread until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(chain: &TestChain, targets: &[usize]) -> Self {
        let urls: Vec<String> = targets.iter().map(|&i| chain.nodes[i].api.clone()).collect();
        let keys: Vec<KeyPair> = targets.iter().map(|&i| chain.account_key(ISSUERS[i % ISSUERS.len()])).collect();
        let chain_id = chain.chain_id.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let (stop_flag, counter) = (stop.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            let mut round = 0usize;
            while !stop_flag.load(Ordering::Relaxed) {
                let slot = round % urls.len();
                round += 1;
                if submit_one(&http, &urls[slot], &keys[slot], &chain_id) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Load { stop, accepted, thread: Some(thread) }
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Signs one anchor valid for 500 heights above the node's height and posts it; returns
/// whether the node accepted it.
fn submit_one(http: &reqwest::blocking::Client, url: &str, key: &KeyPair, chain_id: &str) -> bool {
    let Ok(response) = http.get(format!("{url}/v1/status")).send() else { return false };
    let Ok(status) = response.json::<Value>() else { return false };
    let Some(height) = status["height"].as_u64() else { return false };
    let payload = TransactionPayload {
        chain_id: chain_id.to_string(),
        sender: key.public_key(),
        nonce: Nonce::random(),
        valid_until: height + 500,
        action: Action::Anchor(record(random_hash())),
    };
    let tx = payload.sign(key);
    let body = serde_json::json!({ "transaction": tx });
    http.post(format!("{url}/v1/transactions")).json(&body).send().is_ok_and(|r| r.status().as_u16() == 202)
}

#[test]
fn validators_and_observer_commit() {
    let mut chain = TestChain::new(4, 1);
    chain.start_all();

    let mut last = 0;
    for index in 0..chain.nodes.len() {
        let tx = commit_anchor(&chain, index, ISSUERS[index % ISSUERS.len()]);
        let status = chain.wait_transaction(index, &tx.id());
        last = last.max(status["height"].as_u64().unwrap());
    }

    assert!(last >= 1, "no block was committed; logs:\n{}", all_logs(&chain));
    let everyone: Vec<usize> = (0..chain.nodes.len()).collect();
    assert_same_chain(&chain, &everyone, last);
    let observer = chain.status(OBSERVER).unwrap();
    assert_eq!(observer["role"], "observer", "node 4 should be the observer: {observer}");
}

#[test]
fn killed_validator_chain_continues_and_catches_up() {
    let mut chain = TestChain::new(4, 1);
    chain.start_all();
    let victim = 3;
    let load = Load::start(&chain, &[0, 1, 2, OBSERVER]);
    chain.wait_height(0, 2);

    chain.kill9(victim);
    let at_kill = chain.height(0);
    chain.wait_height(0, at_kill + 5);
    assert!(load.accepted() > 0, "the load thread had no submission accepted; logs:\n{}", all_logs(&chain));

    chain.start(victim);
    let target = chain.height(0) + 2;
    chain.wait_height(victim, target);
    drop(load);

    let height = chain.height(victim);
    assert_same_chain(&chain, &[0, 1, 2, victim, OBSERVER], height);
    assert_no_equivocation(&chain);
}

#[test]
fn wiped_validator_resyncs_without_conflicting_votes() {
    let mut chain = TestChain::new(4, 1);
    chain.start_all();
    let victim = 2;
    for round in 0..4 {
        commit_anchor(&chain, round % 2, ISSUERS[round % 2]);
    }
    let before = chain.height(0);

    chain.kill9(victim);
    std::fs::remove_dir_all(&chain.nodes[victim].data_dir).unwrap();
    commit_anchor(&chain, 0, ISSUERS[0]);
    chain.start(victim);
    chain.wait_height(victim, before + 1);
    let resynced = chain.height(victim);
    assert_same_chain(&chain, &[0, 1, 3, victim, OBSERVER], resynced);

    // With the victim back, commits continue and it follows them.
    for round in 0..3 {
        commit_anchor(&chain, victim, ISSUERS[victim]);
        commit_anchor(&chain, round % 2, ISSUERS[round % 2]);
    }
    let after = chain.height(victim);
    assert!(after > resynced, "the resynced validator committed nothing new; log:\n{}", chain.log_tail(victim));
    assert_same_chain(&chain, &[0, 1, 3, victim, OBSERVER], after);
    assert!(chain.log(victim).contains("signing no vote below the floor"), "the wiped node did not set a vote floor; log:\n{}", chain.log_tail(victim));
    assert_no_equivocation(&chain);
}

#[test]
fn unknown_node_key_is_refused() {
    let mut chain = TestChain::new(4, 1);
    chain.start_all();

    // (a) A key that the genesis does not list.
    let stranger_key = chain.dir.path().join("stranger.key");
    let created = hashbridge(&["keys", "new", "--out", path_str(&stranger_key)]);
    assert!(created.status.success(), "keys new failed: {}", String::from_utf8_lossy(&created.stderr));
    let stranger = KeyPair::read_file(&stranger_key, Some(KeyPurpose::Node)).unwrap().public_key().to_hex();
    let config = config_variant(&chain, 0, "stranger.toml", |c| {
        c.insert("node_key".into(), path_str(&stranger_key).into());
        c.insert("data_dir".into(), "stranger-data".into());
    });
    let exit = run_node_to_exit(&config);
    assert!(exit.code.is_some_and(|c| c != 0), "node with an unknown key did not exit with an error: {:?}\n{}", exit.code, exit.output);
    assert!(exit.output.contains(&stranger), "message does not name the key {stranger}:\n{}", exit.output);
    assert!(exit.output.contains("genesis"), "message does not name the genesis:\n{}", exit.output);

    // (b) A node of another chain dialling this chain's P2P ports. That chain needs 4
    // validators to be valid, but only its first node runs.
    let mut other = TestChain::new(4, 0);
    let peers: Vec<toml::Value> = (0..chain.nodes.len()).map(|i| p2p_address(&chain, i).to_string().into()).collect();
    let text = std::fs::read_to_string(&other.nodes[0].config).unwrap();
    let mut other_config: toml::Table = text.parse().unwrap();
    other_config["p2p"].as_table_mut().unwrap().insert("peers".into(), toml::Value::Array(peers));
    std::fs::write(&other.nodes[0].config, toml::to_string(&other_config).unwrap()).unwrap();
    other.start(0);
    other.wait_for(0, "api up", |_| true);
    let intruder = public_key(&other, 0);

    // The outsider has dialled once every member logs a rejection or the deadline passes.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !(0..chain.nodes.len()).all(|i| chain.log(i).contains("peer is not a member")) {
        std::thread::sleep(Duration::from_millis(200));
    }
    for index in 0..chain.nodes.len() {
        let status = chain.status(index).unwrap();
        let peers = status["peers"].as_array().unwrap();
        assert!(
            peers.iter().all(|p| p["public_key"] != intruder.as_str()),
            "node {} lists the other chain's node as a peer: {status}; log:\n{}",
            chain.nodes[index].name,
            chain.log_tail(index)
        );
        assert_eq!(peers.len(), chain.nodes.len() - 1, "node {} peers changed: {status}", chain.nodes[index].name);
    }
    let outsider = other.status(0).unwrap();
    assert!(outsider["peers"].as_array().unwrap().is_empty(), "the other chain's node found peers: {outsider}");
    commit_anchor(&chain, 1, ISSUERS[1]);
}

#[test]
fn replayed_transaction_is_rejected() {
    let mut chain = TestChain::new(4, 1);
    chain.start_all();
    let tx = commit_anchor(&chain, 0, ISSUERS[0]);
    for index in 0..chain.nodes.len() {
        chain.wait_for(index, "anchor log size 1", |s| s["anchor_log_size"].as_u64() == Some(1));
    }

    for index in [0, 1, OBSERVER] {
        let (code, body) = chain.submit(index, &tx);
        assert_eq!(code, 409, "replay to {} was not rejected as a conflict: {body}", chain.nodes[index].name);
        assert_eq!(body["error"], "already_committed", "replay to {} has the wrong error code: {body}", chain.nodes[index].name);
    }

    // A later commit proves the chain moved on without taking the replay.
    commit_anchor(&chain, 1, ISSUERS[1]);
    for index in 0..chain.nodes.len() {
        let status = chain.wait_for(index, "anchor log size 2", |s| s["anchor_log_size"].as_u64() >= Some(2));
        assert_eq!(status["anchor_log_size"], 2, "the replay added an anchor on {}: {status}", chain.nodes[index].name);
    }
}

#[test]
fn garbage_on_p2p_port_keeps_node_up() {
    use rand::RngCore;

    let mut chain = TestChain::new(4, 1);
    chain.start_all();
    let target = 1;
    let address = p2p_address(&chain, target);
    let send = |bytes: &[u8]| {
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = stream.write_all(bytes);
        let mut sink = [0u8; 1024];
        let _ = stream.read(&mut sink);
    };

    // (a) Random bytes.
    let mut random = vec![0u8; 64 * 1024];
    rand::thread_rng().fill_bytes(&mut random);
    send(&random);

    // (b) A length prefix of 4 GiB followed by junk.
    let mut huge = vec![0xff, 0xff, 0xff, 0xff];
    huge.extend(std::iter::repeat_n(0x41, 4096));
    send(&huge);

    // (c) 50 connections at once, each sending junk and staying open.
    let mut open = Vec::new();
    for i in 0..50u8 {
        if let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(5)) {
            let _ = stream.write_all(&[i; 512]);
            open.push(stream);
        }
    }
    assert!(!open.is_empty(), "no connection to the P2P port {address} succeeded");

    assert!(chain.is_running(target), "node exited after garbage on its P2P port; log:\n{}", chain.log_tail(target));
    let tx = commit_anchor(&chain, target, ISSUERS[target]);
    drop(open);
    let committed = chain.wait_transaction(target, &tx.id())["height"].as_u64().unwrap();
    assert!(chain.is_running(target), "node exited after garbage on its P2P port; log:\n{}", chain.log_tail(target));
    let (code, health) = chain.get(target, "/health").unwrap();
    assert_eq!(code, 200, "health check failed after the garbage: {health}");
    let everyone: Vec<usize> = (0..chain.nodes.len()).collect();
    assert_same_chain(&chain, &everyone, committed);
    chain.wait_for(target, "all peers still connected", |s| s["peers"].as_array().is_some_and(|p| p.len() == 4));
}

#[test]
fn sigterm_stops_cleanly_and_restarts() {
    let mut chain = TestChain::new(4, 1);
    chain.start_all();
    let victim = 0;
    commit_anchor(&chain, 1, ISSUERS[1]);
    let tx = commit_anchor(&chain, 2, ISSUERS[2]);
    let height = chain.wait_transaction(2, &tx.id())["height"].as_u64().unwrap();
    // An idle chain makes no empty blocks, so the head stays put once everyone reached it.
    let before = chain.wait_height(victim, height);
    let head = before["head_hash"].as_str().unwrap().to_string();

    let clean = chain.terminate(victim);
    assert!(clean, "SIGTERM did not stop the node with status 0; log:\n{}", chain.log_tail(victim));
    assert!(chain.log(victim).contains("node stopped"), "no \"node stopped\" line; log:\n{}", chain.log_tail(victim));

    chain.start(victim);
    let after = chain.wait_for(victim, "api up after restart", |_| true);
    assert_eq!(after["height"].as_u64(), Some(height), "height changed across the restart: {after}");
    assert_eq!(after["head_hash"].as_str(), Some(head.as_str()), "head hash changed across the restart: {after}");

    let next = commit_anchor(&chain, victim, ISSUERS[victim]);
    let next_height = chain.wait_transaction(victim, &next.id())["height"].as_u64().unwrap();
    assert!(next_height > height, "the restarted node committed nothing new");
    let everyone: Vec<usize> = (0..chain.nodes.len()).collect();
    assert_same_chain(&chain, &everyone, next_height);
}

/// Damage done to a copy of a stopped node's data folder.
type Corruption = fn(&Path);

fn newest_file(folder: &Path, prefix: &str, suffix: &str) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    files.sort();
    files.pop()
}

fn delete_current(folder: &Path) {
    std::fs::remove_file(folder.join("CURRENT")).unwrap();
}

fn current_names_missing_manifest(folder: &Path) {
    std::fs::write(folder.join("CURRENT"), "MANIFEST-999999\n").unwrap();
}

fn overwrite_manifest(folder: &Path) {
    let manifest = newest_file(folder, "MANIFEST-", "").unwrap();
    let length = std::fs::metadata(&manifest).unwrap().len() as usize;
    std::fs::write(&manifest, vec![0x5a; length]).unwrap();
}

/// Overwrites the newest write-ahead log. A store this small has no `.sst` table yet:
/// its blocks are in the write-ahead log.
fn overwrite_write_ahead_log(folder: &Path) {
    let log = newest_file(folder, "", ".log").unwrap();
    let length = std::fs::metadata(&log).unwrap().len() as usize;
    std::fs::write(&log, vec![0x5a; length]).unwrap();
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Starts a chain, commits 3 blocks and stops node 3 with SIGTERM; returns the chain, the
/// stopped node and the height it stopped at.
fn chain_with_stopped_node() -> (TestChain, usize, u64) {
    let mut chain = TestChain::new(4, 1);
    chain.start_all();
    let victim = 3;
    for round in 0..3 {
        commit_anchor(&chain, round, ISSUERS[round]);
    }
    let height = chain.height(0);
    chain.wait_height(victim, height);
    assert!(chain.terminate(victim), "SIGTERM did not stop the node cleanly; log:\n{}", chain.log_tail(victim));
    (chain, victim, height)
}

/// Starts node `victim` twice on a corrupted copy of its data folder, and returns a
/// description of each start that did not exit non-zero with a message that names the
/// damage and the fix. The second start matters because a supervisor restarts a node
/// that exited.
fn corrupt_start_failures(chain: &TestChain, victim: usize, name: &str, corrupt: Corruption) -> Vec<String> {
    let data = chain.nodes[victim].data_dir.with_file_name(format!("data-{name}"));
    copy_folder(&chain.nodes[victim].data_dir, &data);
    corrupt(&data);
    let config = config_variant(chain, victim, &format!("{name}.toml"), |c| {
        c.insert("data_dir".into(), path_str(&data).into());
    });

    let mut failures = Vec::new();
    for attempt in 1..=2 {
        let exit = run_node_to_exit(&config);
        let lower = exit.output.to_lowercase();
        let named = lower.contains("corrupt") || lower.contains("unreadable");
        let advice = lower.contains("empty data folder") || lower.contains("resync");
        if exit.code.is_none_or(|c| c == 0) || !named || !advice {
            failures.push(format!("{name}, start {attempt}: exit {:?}\n{}", exit.code, last_lines(&exit.output, 12)));
        }
    }
    failures
}

#[test]
fn corrupt_store_is_reported() {
    let (mut chain, victim, height) = chain_with_stopped_node();

    let cases: [(&str, Corruption); 3] = [
        ("delete-current", delete_current),
        ("current-names-missing-manifest", current_names_missing_manifest),
        ("overwrite-manifest", overwrite_manifest),
    ];
    let failures: Vec<String> = cases.iter().flat_map(|(name, corrupt)| corrupt_start_failures(&chain, victim, name, *corrupt)).collect();
    assert!(failures.is_empty(), "corrupt stores not reported as corrupt with advice:\n\n{}", failures.join("\n\n"));

    // The untouched folder still starts and keeps the same chain.
    chain.start(victim);
    assert_same_chain(&chain, &[0, victim], height);
}

#[test]
fn corrupt_write_ahead_log_is_reported() {
    let (chain, victim, _) = chain_with_stopped_node();
    let failures = corrupt_start_failures(&chain, victim, "overwrite-write-ahead-log", overwrite_write_ahead_log);
    assert!(failures.is_empty(), "a store with a corrupt write-ahead log was not reported as corrupt:\n\n{}", failures.join("\n\n"));
}

#[test]
fn restarted_validator_catches_up_while_idle() {
    let mut chain = TestChain::new(4, 0);
    chain.start_all();
    commit_anchor(&chain, 0, ISSUERS[0]);
    chain.kill9(3);
    let missed = commit_anchor(&chain, 0, ISSUERS[0]);
    let height = chain.get(0, &format!("/v1/transactions/{}", missed.id())).unwrap().1["height"].as_u64().unwrap();

    // No transaction arrives after the restart, so only the height probe can tell node 3
    // that it is behind.
    chain.start(3);
    chain.wait_height(3, height);
    assert_same_chain(&chain, &[0, 1, 2, 3], height);
}

#[test]
fn transaction_sent_during_outage_commits_after_restart() {
    let mut chain = TestChain::new(4, 0);
    chain.start_all();
    commit_anchor(&chain, 0, ISSUERS[0]);

    // With two of four validators down no quorum exists, so the transaction waits.
    chain.kill9(2);
    chain.kill9(3);
    let key = chain.account_key(ISSUERS[0]);
    let tx = chain.sign(0, &key, Action::Anchor(record(random_hash())));
    assert_eq!(chain.submit(0, &tx).0, 202);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (_, pending) = chain.get(0, &format!("/v1/transactions/{}", tx.id())).unwrap();
    assert_eq!(pending["state"], "pending", "{pending}");

    // The restarted validators never saw the gossip; the transaction must still commit.
    chain.start(2);
    chain.start(3);
    let status = chain.wait_transaction(0, &tx.id());
    assert_eq!(status["state"], "committed", "{status}\n{}", all_logs(&chain));
    assert_no_equivocation(&chain);
}
