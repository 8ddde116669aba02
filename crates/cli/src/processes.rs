//! A local chain of real node processes on loopback, for `demo` and `bench`.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hashbridge_config::generate::{generate, ChainSpec, GeneratedChain, GeneratedNode};
use rand::Rng;

use crate::client::NodeClient;

/// A node process started from a generated config.
#[derive(Debug)]
pub struct NodeProcess {
    pub node: GeneratedNode,
    pub api: String,
    pub log: PathBuf,
    child: Option<Child>,
}

/// A generated chain whose nodes run as child processes of this command.
#[derive(Debug)]
pub struct LocalChain {
    pub dir: PathBuf,
    pub chain: GeneratedChain,
    pub nodes: Vec<NodeProcess>,
}

/// Finds a base port such that `base .. base + count` are all free on loopback.
fn free_port_base(count: usize) -> anyhow::Result<u16> {
    let mut rng = rand::thread_rng();
    for _ in 0..100 {
        let base: u16 = rng.gen_range(21_000..60_000);
        let all_free = (0..count as u16).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if all_free {
            return Ok(base);
        }
    }
    bail!("no range of {count} free loopback ports found; stop other local services and retry")
}

impl LocalChain {
    /// Generates a chain with fresh ports under `dir`.
    pub fn generate(dir: &Path, chain_id: &str, validators: usize, observers: usize, tune: impl FnOnce(&mut ChainSpec)) -> anyhow::Result<Self> {
        let count = validators + observers;
        let mut spec = ChainSpec::standard(chain_id, validators, observers);
        let base = free_port_base(count * 2)?;
        spec.p2p_port_base = base;
        spec.api_port_base = base + count as u16;
        tune(&mut spec);
        let chain = generate(&spec, dir)?;
        let nodes = chain
            .nodes
            .iter()
            .map(|node| NodeProcess {
                node: node.clone(),
                api: format!("http://{}", node.api_listen),
                log: dir.join("nodes").join(&node.name).join("node.log"),
                child: None,
            })
            .collect();
        Ok(LocalChain { dir: dir.to_path_buf(), chain, nodes })
    }

    /// Starts node `index` as a child process of the current executable.
    pub fn start(&mut self, index: usize) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("cannot find the hashbridge executable")?;
        let Some(process) = self.nodes.get_mut(index) else { bail!("no node {index}") };
        let log = File::options().create(true).append(true).open(&process.log).with_context(|| format!("cannot open {}", process.log.display()))?;
        let child = Command::new(exe)
            .args(["node", "run", "--config"])
            .arg(&process.node.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start node {}", process.node.name))?;
        process.child = Some(child);
        Ok(())
    }

    pub fn start_all(&mut self) -> anyhow::Result<()> {
        for index in 0..self.nodes.len() {
            self.start(index)?;
        }
        Ok(())
    }

    /// Waits until every running node serves its status and is connected to all the others.
    pub fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let running = self.nodes.iter().filter(|n| n.child.is_some()).count();
        for process in self.nodes.iter().filter(|n| n.child.is_some()) {
            let client = NodeClient::new(&process.api)?;
            loop {
                if let Ok(status) = client.status() {
                    if status.peers.len() + 1 >= running {
                        break;
                    }
                }
                if Instant::now() > deadline {
                    bail!("node {} did not become ready within {}s; see {}", process.node.name, timeout.as_secs(), process.log.display());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    }

    /// Sends SIGTERM to a node and waits for it to exit; returns whether it exited cleanly.
    pub fn stop(&mut self, index: usize, timeout: Duration) -> anyhow::Result<bool> {
        let Some(process) = self.nodes.get_mut(index) else { bail!("no node {index}") };
        let Some(mut child) = process.child.take() else { return Ok(true) };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status.success());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops every node; returns the names of nodes that did not exit cleanly.
    pub fn stop_all(&mut self) -> Vec<String> {
        let mut unclean = Vec::new();
        for index in 0..self.nodes.len() {
            let name = self.nodes.get(index).map(|n| n.node.name.clone()).unwrap_or_default();
            if !matches!(self.stop(index, Duration::from_secs(15)), Ok(true)) {
                unclean.push(name);
            }
        }
        unclean
    }
}

impl Drop for LocalChain {
    fn drop(&mut self) {
        for process in &mut self.nodes {
            if let Some(mut child) = process.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
