//! A chain of real `hashbridge node run` processes on loopback, for integration tests.
//!
//! Each test gets its own temporary folder and free ports. Nodes are child processes of
//! the test; they are killed when the [`TestChain`] is dropped.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::{Hash32, KeyPair};
use hashbridge_types::{Action, AnchorRecord, Nonce, Transaction, TransactionPayload};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_hashbridge");

/// Generous bound for anything a test waits on; a test fails only after it.
pub const WAIT: Duration = Duration::from_secs(60);

pub fn hashbridge(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

pub struct TestNode {
    pub name: String,
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub api: String,
    pub log: PathBuf,
    child: Option<Child>,
}

pub struct TestChain {
    pub dir: tempfile::TempDir,
    pub genesis: PathBuf,
    pub chain_id: String,
    pub nodes: Vec<TestNode>,
    http: reqwest::blocking::Client,
}

/// Picks a random range of `count` free loopback ports. Tests in one process run in
/// parallel, so ranges are drawn at random rather than from the process id, and a range
/// handed out once is never handed out again by this process.
fn free_base(count: u16) -> u16 {
    use rand::Rng;
    use std::sync::Mutex;
    static TAKEN: Mutex<Vec<(u16, u16)>> = Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap();
    for _ in 0..500 {
        let base: u16 = rand::thread_rng().gen_range(22_000..58_000);
        let overlaps = taken.iter().any(|(b, c)| base < b + c && *b < base + count);
        if !overlaps && (0..count).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            taken.push((base, count));
            return base;
        }
    }
    panic!("no free port range");
}

impl TestChain {
    /// Generates a chain with `validators` and `observers` and a short view timeout.
    pub fn new(validators: usize, observers: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("chain");
        let count = (validators + observers) as u16;
        let base = free_base(count * 2);
        let output = hashbridge(&[
            "--output",
            "json",
            "chain",
            "new",
            "--out",
            out.to_str().unwrap(),
            "--validators",
            &validators.to_string(),
            "--observers",
            &observers.to_string(),
            "--chain-id",
            "test-chain",
            "--p2p-port-base",
            &base.to_string(),
            "--api-port-base",
            &(base + count).to_string(),
        ]);
        assert!(output.status.success(), "chain new failed: {}", String::from_utf8_lossy(&output.stderr));
        let chain: Value = serde_json::from_slice(&output.stdout).unwrap();

        let genesis = out.join("genesis.toml");
        let text = std::fs::read_to_string(&genesis).unwrap();
        std::fs::write(&genesis, text.replace("consensus_timeout = \"3s\"", "consensus_timeout = \"1s\"")).unwrap();

        let nodes = chain["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                let config = PathBuf::from(n["config"].as_str().unwrap());
                let folder = config.parent().unwrap().to_path_buf();
                TestNode {
                    name: n["name"].as_str().unwrap().to_string(),
                    data_dir: folder.join("data"),
                    log: folder.join("node.log"),
                    api: format!("http://{}", n["api_listen"].as_str().unwrap()),
                    config,
                    child: None,
                }
            })
            .collect();
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        TestChain { dir, genesis, chain_id: "test-chain".into(), nodes, http }
    }

    pub fn start(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&node.log).unwrap();
        let child = Command::new(BIN)
            .args(["node", "run", "--config", node.config.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        node.child = Some(child);
    }

    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i);
        }
        for i in 0..self.nodes.len() {
            self.wait_for(i, "peers connected", |s| s["peers"].as_array().is_some_and(|p| p.len() + 1 >= self.nodes.len()));
        }
    }

    /// Kills node `index` with SIGKILL, as a crash would.
    pub fn kill9(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Stops node `index` with SIGTERM and returns whether it exited with status 0.
    pub fn terminate(&mut self, index: usize) -> bool {
        let Some(mut child) = self.nodes[index].child.take() else { return true };
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether node `index` is still running.
    pub fn is_running(&mut self, index: usize) -> bool {
        match self.nodes[index].child.as_mut() {
            Some(child) => child.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    pub fn get(&self, index: usize, path: &str) -> Option<(u16, Value)> {
        let response = self.http.get(format!("{}{path}", self.nodes[index].api)).send().ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().unwrap_or(Value::Null)))
    }

    pub fn status(&self, index: usize) -> Option<Value> {
        self.get(index, "/v1/status").filter(|(code, _)| *code == 200).map(|(_, v)| v)
    }

    pub fn height(&self, index: usize) -> u64 {
        self.status(index).and_then(|s| s["height"].as_u64()).unwrap_or(0)
    }

    /// Polls node `index` until `check` is true of its status, or fails the test after [`WAIT`].
    pub fn wait_for(&self, index: usize, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.status(index) {
                if check(&status) {
                    return status;
                }
            }
            assert!(Instant::now() < deadline, "node {} never reached: {what}; log:\n{}", self.nodes[index].name, self.log_tail(index));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_height(&self, index: usize, height: u64) -> Value {
        self.wait_for(index, &format!("height {height}"), |s| s["height"].as_u64().unwrap_or(0) >= height)
    }

    pub fn log_tail(&self, index: usize) -> String {
        let text = std::fs::read_to_string(&self.nodes[index].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(&self.nodes[index].log).unwrap_or_default()
    }

    pub fn account_key(&self, institution: &str) -> KeyPair {
        let path = self.dir.path().join("chain/institutions").join(institution).join("account.key");
        KeyPair::read_file(&path, Some(KeyPurpose::Account)).unwrap()
    }

    pub fn account_key_path(&self, institution: &str) -> PathBuf {
        self.dir.path().join("chain/institutions").join(institution).join("account.key")
    }

    /// Signs an action with `key`, valid for 500 heights from node `index`'s height.
    pub fn sign(&self, index: usize, key: &KeyPair, action: Action) -> Transaction {
        let valid_until = self.height(index) + 500;
        TransactionPayload { chain_id: self.chain_id.clone(), sender: key.public_key(), nonce: Nonce::random(), valid_until, action }.sign(key)
    }

    /// Submits a transaction to node `index` and returns the HTTP status and body.
    pub fn submit(&self, index: usize, tx: &Transaction) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/v1/transactions", self.nodes[index].api))
            .json(&serde_json::json!({ "transaction": tx }))
            .send()
            .unwrap();
        (response.status().as_u16(), response.json().unwrap_or(Value::Null))
    }

    /// Polls until the transaction is committed or rejected, and returns its status.
    pub fn wait_transaction(&self, index: usize, id: &Hash32) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some((200, status)) = self.get(index, &format!("/v1/transactions/{id}")) {
                if !matches!(status["state"].as_str(), Some("pending") | Some("unknown")) {
                    return status;
                }
            }
            assert!(Instant::now() < deadline, "transaction {id} never left pending; log:\n{}", self.log_tail(index));
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Block hash at `height` on node `index`.
    pub fn block_hash(&self, index: usize, height: u64) -> Option<String> {
        match self.get(index, &format!("/v1/blocks/{height}")) {
            Some((200, block)) => block["hash"].as_str().map(str::to_string),
            _ => None,
        }
    }
}

impl Drop for TestChain {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

pub fn record(commitment: Hash32) -> AnchorRecord {
    AnchorRecord { commitment, kind: "credit.personal".into(), issued_at_ms: 1_764_460_800_000, expires_at_ms: None, metadata: vec![] }
}

pub fn random_hash() -> Hash32 {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Hash32(bytes)
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}
