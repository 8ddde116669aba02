//! `hashbridge demo`: the whole cross-border flow on a local chain of real node processes.
//!
//! A Shenzhen credit agency anchors a report at its own node. The report and its package
//! then "cross the border", which here is a copy into another folder. A Hong Kong bank
//! verifies the copy at its own node and the regulator's observer confirms it. A copy with
//! one byte changed fails, and the receipt is checked offline against the genesis file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;

use crate::anchoring::{self, SendOptions};
use crate::client::NodeClient;
use crate::output::OutputFormat;
use crate::processes::LocalChain;

const SAMPLE_REPORT: &[u8] = include_bytes!("../assets/sample-credit-report.pdf");

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The report to anchor, such as a PDF; a bundled sample report is used when omitted.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Folder for the chain and the copies; a temporary folder, removed afterwards, when omitted.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct DemoSummary {
    chain_dir: PathBuf,
    commitment: String,
    height: u64,
    verified_at_hong_kong_bank: bool,
    verified_at_regulator_observer: bool,
    tampered_copy_rejected: bool,
    receipt_verified_offline: bool,
    nodes_stopped_cleanly: bool,
}

fn step(format: OutputFormat, text: &str) {
    if format == OutputFormat::Text {
        out!("\n== {text}");
    }
}

fn say(format: OutputFormat, text: &str) {
    if format == OutputFormat::Text {
        out!("   {text}");
    }
}

pub fn run(format: OutputFormat, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let temp = tempfile_dir()?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.clone());
    let result = run_in(format, args, &dir);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    let summary = result?;
    if format == OutputFormat::Json {
        out!("{}", serde_json::to_string_pretty(&summary)?);
    }
    let ok = summary.verified_at_hong_kong_bank
        && summary.verified_at_regulator_observer
        && summary.tampered_copy_rejected
        && summary.receipt_verified_offline
        && summary.nodes_stopped_cleanly;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("hashbridge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn run_in(format: OutputFormat, args: &DemoArgs, dir: &Path) -> anyhow::Result<DemoSummary> {
    step(format, "Generating a chain: 2 Shenzhen and 2 Hong Kong validators, 1 regulator observer");
    let mut chain = LocalChain::generate(&dir.join("chain"), "hashbridge-demo", 4, 1, |spec| {
        spec.consensus.consensus_timeout = Duration::from_secs(1);
    })?;
    say(format, &format!("genesis hash {}", chain.chain.genesis_hash));

    step(format, "Starting 5 node processes on loopback");
    chain.start_all()?;
    chain.wait_ready(Duration::from_secs(60))?;
    for process in &chain.nodes {
        say(format, &format!("{:<20} {:?}  api {}", process.node.name, process.node.role, process.api));
    }
    let summary = flow(format, args, dir, &chain);

    step(format, "Stopping every node with SIGTERM");
    let unclean = chain.stop_all();
    if unclean.is_empty() {
        say(format, "all nodes exited cleanly");
    } else {
        say(format, &format!("nodes that did not exit cleanly: {}", unclean.join(", ")));
    }
    let mut summary = summary?;
    summary.nodes_stopped_cleanly = unclean.is_empty();
    Ok(summary)
}

fn node_api(chain: &LocalChain, name: &str) -> anyhow::Result<String> {
    chain.nodes.iter().find(|n| n.node.name == name).map(|n| n.api.clone()).with_context(|| format!("node {name} is not in the generated chain"))
}

fn flow(format: OutputFormat, args: &DemoArgs, dir: &Path, chain: &LocalChain) -> anyhow::Result<DemoSummary> {
    let shenzhen = dir.join("shenzhen-agency");
    let hong_kong = dir.join("hong-kong-bank");
    std::fs::create_dir_all(&shenzhen)?;
    std::fs::create_dir_all(&hong_kong)?;
    let file_name = args.report.as_ref().and_then(|p| p.file_name()).map_or_else(|| "sample-credit-report.pdf".into(), |n| n.to_os_string());
    let report = shenzhen.join(&file_name);
    match &args.report {
        Some(path) => {
            std::fs::copy(path, &report).with_context(|| format!("cannot read report {}", path.display()))?;
        }
        None => std::fs::write(&report, SAMPLE_REPORT)?,
    }

    step(format, "Shenzhen Credit Services anchors the report at its own node");
    let sz_api = node_api(chain, "sz-credit-node")?;
    let options = SendOptions {
        node: sz_api,
        key: chain.dir.join("institutions/sz-credit/account.key"),
        valid_for: 100,
        wait: Duration::from_secs(60),
    };
    let silent = |f: OutputFormat| if f == OutputFormat::Text { OutputFormat::Text } else { OutputFormat::Silent };
    anchoring::anchor(silent(format), &options, &report, false, "credit.personal", None)?;
    let package = anchoring::package_path_for(&report);
    let receipt = anchoring::receipt_path_for(&report);

    step(format, "The subject carries the report and its package across the border");
    let carried = hong_kong.join(&file_name);
    let carried_package = anchoring::package_path_for(&carried);
    std::fs::copy(&report, &carried)?;
    std::fs::copy(&package, &carried_package)?;
    say(format, &format!("only the commitment went over the network; the report is now in {}", hong_kong.display()));

    step(format, "Harbour Bank of Hong Kong verifies the copy at its own node");
    let hk_api = node_api(chain, "hk-bank-node")?;
    let genesis = chain.chain.genesis.clone();
    let hk = anchoring::verify(silent(format), &hk_api, &carried, &carried_package, Some(&genesis))?;
    let verified_hk = hk == ExitCode::SUCCESS;

    step(format, "The regulator's observer node confirms the same anchor");
    let observer_api = node_api(chain, "gba-regulator-node")?;
    let package_data = hashbridge_commitment::ReportPackage::read(&carried_package)?;
    let anchor_height = wait_for_anchor(&observer_api, &package_data.commitment, Duration::from_secs(30))?;
    let observer = anchoring::verify(silent(format), &observer_api, &carried, &carried_package, Some(&genesis))?;
    let verified_observer = observer == ExitCode::SUCCESS;

    step(format, "A copy with one byte changed fails verification");
    let tampered = hong_kong.join(format!("tampered-{}", file_name.to_string_lossy()));
    let mut bytes = std::fs::read(&carried)?;
    let middle = bytes.len() / 2;
    if let Some(byte) = bytes.get_mut(middle) {
        *byte ^= 0x01;
    }
    std::fs::write(&tampered, &bytes)?;
    let tampered_result = anchoring::verify(silent(format), &hk_api, &tampered, &carried_package, None)?;
    let tampered_rejected = tampered_result != ExitCode::SUCCESS;

    step(format, "Anyone checks the receipt offline, with only the genesis file");
    let offline = anchoring::receipt_verify(silent(format), &receipt, &genesis, Some(&carried), Some(&carried_package))?;
    let receipt_ok = offline == ExitCode::SUCCESS;

    Ok(DemoSummary {
        chain_dir: chain.dir.clone(),
        commitment: package_data.commitment.to_hex(),
        height: anchor_height,
        verified_at_hong_kong_bank: verified_hk,
        verified_at_regulator_observer: verified_observer,
        tampered_copy_rejected: tampered_rejected,
        receipt_verified_offline: receipt_ok,
        nodes_stopped_cleanly: false,
    })
}

/// Waits until the node at `api` has the anchor, which an observer receives by sync.
fn wait_for_anchor(api: &str, commitment: &hashbridge_crypto::Hash32, timeout: Duration) -> anyhow::Result<u64> {
    let client = NodeClient::new(api)?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(view) = client.anchor(commitment)? {
            return Ok(view.height);
        }
        if Instant::now() > deadline {
            bail!("node {api} did not receive the anchor within {}s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
