//! Client commands that talk to a node: anchor, verify, revoke, supersede, status, and the
//! offline receipt check.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use hashbridge_api::types::{AnchorView, TransactionState, TransactionStatus};
use hashbridge_commitment::{digest_file, ContentEncoding, ReportPackage, Salt};
use hashbridge_config::Genesis;
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::{Hash32, KeyPair};
use hashbridge_types::{Action, AnchorRecord, AnchorStatus, Nonce, Receipt, RevocationReason, Transaction, TransactionPayload};
use serde::Serialize;

use crate::client::NodeClient;
use crate::output::{emit, OutputFormat};

/// Exit code when the report does not match any anchor.
pub const EXIT_NOT_ANCHORED: u8 = 1;
/// Exit code when the report is anchored but revoked, superseded or expired.
pub const EXIT_INACTIVE: u8 = 3;

/// The options every transaction-sending command shares.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub node: String,
    pub key: PathBuf,
    /// Blocks for which the transaction stays valid.
    pub valid_for: u64,
    pub wait: Duration,
}

/// The serde name of a value, such as `in_sync` for `SyncState::InSync`.
pub fn serde_name(value: &impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Formats milliseconds since the Unix epoch as an RFC 3339 UTC time.
pub fn format_time_ms(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Default package path: the report path with `.hbpkg.json` appended.
pub fn package_path_for(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".hbpkg.json");
    PathBuf::from(name)
}

/// Default receipt path: the report path with `.receipt.json` appended.
pub fn receipt_path_for(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".receipt.json");
    PathBuf::from(name)
}

/// Signs `action` with the account key and submits it, then waits for the outcome.
fn send(options: &SendOptions, client: &NodeClient, action: Action) -> anyhow::Result<(Transaction, TransactionStatus)> {
    let key = KeyPair::read_file(&options.key, Some(KeyPurpose::Account))?;
    let status = client.status()?;
    let payload = TransactionPayload {
        chain_id: status.chain_id.clone(),
        sender: key.public_key(),
        nonce: Nonce::random(),
        valid_until: status.height.saturating_add(options.valid_for),
        action,
    };
    let tx = payload.sign(&key);
    client.submit(&tx)?;
    let outcome = client.wait_for(&tx.id(), options.wait)?;
    Ok((tx, outcome))
}

fn check_committed(outcome: &TransactionStatus) -> anyhow::Result<()> {
    match outcome.state {
        TransactionState::Committed => Ok(()),
        TransactionState::Rejected => bail!(
            "transaction {} was rejected at height {}: {}",
            outcome.transaction_id,
            outcome.height.unwrap_or_default(),
            outcome.reason.clone().unwrap_or_else(|| format!("{:?}", outcome.result))
        ),
        state => bail!("transaction {} ended as {}: {}", outcome.transaction_id, serde_name(&state), outcome.reason.clone().unwrap_or_default()),
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, format!("{text}\n")).with_context(|| format!("cannot write {}", path.display()))
}

#[derive(Serialize)]
pub struct AnchorOutput {
    pub report: PathBuf,
    pub commitment: Hash32,
    pub transaction_id: Hash32,
    pub height: u64,
    pub issuer: String,
    pub package: PathBuf,
    pub receipt: PathBuf,
    pub reused_package: bool,
}

/// Loads the report's package when one exists (so a retry anchors the same commitment),
/// otherwise makes a new salted one.
fn package_for(report: &Path, package_path: &Path, encoding: ContentEncoding, kind: &str, issuer: Option<String>) -> anyhow::Result<(ReportPackage, bool)> {
    let digest = digest_file(report, encoding)?;
    if package_path.exists() {
        let package = ReportPackage::read(package_path)?;
        let recomputed = package.recompute(&digest).map_err(anyhow::Error::msg)?;
        if recomputed != package.commitment || package.content != encoding {
            bail!("package {} exists but does not match {}; move it away to anchor this report with a new salt", package_path.display(), report.display());
        }
        return Ok((package, true));
    }
    let salt = Salt::random();
    Ok((ReportPackage::new(&digest, encoding, Some(&salt), issuer, Some(kind.to_string())), false))
}

/// Hashes a report locally, anchors its salted commitment and saves package and receipt.
pub fn anchor(format: OutputFormat, options: &SendOptions, report: &Path, json: bool, kind: &str, expires_at_ms: Option<u64>) -> anyhow::Result<ExitCode> {
    hashbridge_types::transaction::check_report_kind(kind)?;
    let client = NodeClient::new(&options.node)?;
    let encoding = if json { ContentEncoding::JsonJcs } else { ContentEncoding::Raw };
    let package_path = package_path_for(report);
    let (package, reused) = package_for(report, &package_path, encoding, kind, None)?;
    // The package contains the salt, so it is written before anything is sent. An anchor that
    // commits after a timeout or an interruption can then still be verified, and a retry reuses it.
    if !reused {
        package.write(&package_path)?;
    }

    let record = AnchorRecord { commitment: package.commitment, kind: kind.to_string(), issued_at_ms: now_ms(), expires_at_ms, metadata: vec![] };
    let (tx, outcome) = send(options, &client, Action::Anchor(record))?;
    check_committed(&outcome)?;

    let view = client.anchor(&package.commitment)?.context("the transaction committed but the node does not return the anchor")?;
    let receipt_path = receipt_path_for(report);
    write_json(&receipt_path, &view.receipt)?;

    let output = AnchorOutput {
        report: report.to_path_buf(),
        commitment: package.commitment,
        transaction_id: tx.id(),
        height: view.height,
        issuer: view.issuer.id.clone(),
        package: package_path,
        receipt: receipt_path,
        reused_package: reused,
    };
    emit(format, &output, |o| {
        out!("anchored {} at height {} by {}", o.report.display(), o.height, o.issuer);
        out!("commitment:   {}", o.commitment);
        out!("transaction:  {}", o.transaction_id);
        out!("package:      {}{}", o.package.display(), if o.reused_package { " (existing package reused)" } else { "" });
        out!("receipt:      {}", o.receipt.display());
        out!("send the report together with its package; the package holds the salt needed to verify it");
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
pub struct VerifyOutput {
    pub report: PathBuf,
    pub commitment: Hash32,
    pub anchored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorView>,
    pub verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_checked_against: Option<PathBuf>,
}

/// Recomputes the commitment of the local report and looks it up on the node.
pub fn verify(format: OutputFormat, node: &str, report: &Path, package_path: &Path, genesis: Option<&Path>) -> anyhow::Result<ExitCode> {
    let package = ReportPackage::read(package_path)?;
    let digest = digest_file(report, package.content)?;
    let commitment = package.recompute(&digest).map_err(anyhow::Error::msg)?;
    let client = NodeClient::new(node)?;
    let anchor = client.anchor(&commitment)?;

    if let (Some(view), Some(genesis_path)) = (&anchor, genesis) {
        check_receipt(&view.receipt, genesis_path)?;
        if view.receipt.anchored_commitment() != Some(commitment) {
            bail!("the node returned a receipt for another commitment; do not trust this node's response");
        }
    }
    let (verdict, code) = match &anchor {
        None => (format!("NOT ANCHORED: no anchor for this report's commitment; the report or its package differs from what was issued"), EXIT_NOT_ANCHORED),
        Some(view) => match &view.status {
            AnchorStatus::Active if view.record.expires_at_ms.is_some_and(|expiry| expiry <= now_ms()) => (
                format!("EXPIRED: anchored by {} but the report expired at {}", view.issuer.name, format_time_ms(view.record.expires_at_ms.unwrap_or_default())),
                EXIT_INACTIVE,
            ),
            AnchorStatus::Active => (format!("ANCHORED and active, issued by {} ({})", view.issuer.name, view.issuer.jurisdiction), 0),
            AnchorStatus::Revoked { reason, height, .. } => (format!("REVOKED at height {height} ({}) by {}", serde_name(reason).replace('_', " "), view.issuer.name), EXIT_INACTIVE),
            AnchorStatus::Superseded { by, height, .. } => (format!("SUPERSEDED at height {height} by commitment {by}"), EXIT_INACTIVE),
        },
    };
    let output = VerifyOutput { report: report.to_path_buf(), commitment, anchored: anchor.is_some(), anchor, verdict, receipt_checked_against: genesis.map(Path::to_path_buf) };
    emit(format, &output, print_verify)?;
    Ok(ExitCode::from(code))
}

fn print_verify(o: &VerifyOutput) {
    out!("{}", o.verdict);
    out!("report:       {}", o.report.display());
    out!("commitment:   {}", o.commitment);
    if let Some(view) = &o.anchor {
        out!("issuer:       {} ({}, {})", view.issuer.name, view.issuer.id, view.issuer.jurisdiction);
        out!("kind:         {}", view.record.kind);
        out!("issued at:    {}", format_time_ms(view.record.issued_at_ms));
        if let Some(expiry) = view.record.expires_at_ms {
            out!("expires at:   {}", format_time_ms(expiry));
        }
        out!("anchored at:  height {}, block time {}", view.height, format_time_ms(view.block_time_ms));
        out!("as of height: {}", view.as_of_height);
    }
    if let Some(genesis) = &o.receipt_checked_against {
        out!("receipt:      verified against {}", genesis.display());
    }
}

fn check_receipt(receipt: &Receipt, genesis_path: &Path) -> anyhow::Result<Genesis> {
    let genesis = Genesis::load(genesis_path)?;
    receipt.verify(&genesis.chain_id, &genesis.hash(), &genesis.validator_set()).context("receipt verification failed")?;
    Ok(genesis)
}

#[derive(Serialize)]
pub struct ReceiptOutput {
    pub valid: bool,
    pub chain_id: String,
    pub commitment: Hash32,
    pub height: u64,
    pub block_hash: Hash32,
    pub signers: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_matches: Option<bool>,
}

/// Checks a receipt offline against a genesis file, and optionally a report against it.
pub fn receipt_verify(format: OutputFormat, receipt_path: &Path, genesis_path: &Path, report: Option<&Path>, package: Option<&Path>) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(receipt_path).with_context(|| format!("cannot read receipt {}", receipt_path.display()))?;
    let receipt: Receipt = serde_json::from_str(&text).with_context(|| format!("receipt {} is not a valid receipt file", receipt_path.display()))?;
    let genesis = check_receipt(&receipt, genesis_path)?;
    let Some(anchored) = receipt.anchored_commitment() else {
        bail!("receipt {} proves a revocation or supersession entry, not an anchoring; use the receipt saved when the report was anchored", receipt_path.display());
    };

    let report_matches = match (report, package) {
        (Some(report), Some(package_path)) => {
            let package = ReportPackage::read(package_path)?;
            let digest = digest_file(report, package.content)?;
            Some(package.recompute(&digest).map_err(anyhow::Error::msg)? == anchored)
        }
        (None, None) => None,
        _ => bail!("--report and --package go together: the package's salt is needed to recompute the commitment"),
    };
    let output = ReceiptOutput {
        valid: report_matches != Some(false),
        chain_id: genesis.chain_id.clone(),
        commitment: anchored,
        height: receipt.header.height,
        block_hash: receipt.header.hash(),
        signers: receipt.certificate.signatures.len(),
        report_matches,
    };
    emit(format, &output, |o| {
        out!("receipt is valid for chain {}: committed at height {} in block {}", o.chain_id, o.height, o.block_hash);
        out!("commitment:   {}", o.commitment);
        out!("signed by:    {} validators, a quorum of the genesis validator set", o.signers);
        match o.report_matches {
            Some(true) => out!("report:       matches the receipt's commitment"),
            Some(false) => out!("report:       DOES NOT MATCH the receipt's commitment"),
            None => {}
        }
        out!("note:         a receipt proves the anchor as of height {}; ask a node with `hashbridge verify` whether it was revoked or superseded since", o.height);
    })?;
    Ok(if report_matches == Some(false) { ExitCode::from(EXIT_NOT_ANCHORED) } else { ExitCode::SUCCESS })
}

#[derive(Serialize)]
pub struct ChangeOutput {
    pub action: String,
    pub commitment: Hash32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Hash32>,
    pub transaction_id: Hash32,
    pub height: u64,
}

/// Reads a commitment given as hex or as a report package path.
pub fn commitment_argument(value: &str) -> anyhow::Result<Hash32> {
    let path = Path::new(value);
    if path.exists() {
        return Ok(ReportPackage::read(path)?.commitment);
    }
    Hash32::parse(value).with_context(|| format!("{value:?} is neither a report package file nor a 64-digit hex commitment"))
}

pub fn revoke(format: OutputFormat, options: &SendOptions, commitment: Hash32, reason: RevocationReason) -> anyhow::Result<ExitCode> {
    let client = NodeClient::new(&options.node)?;
    let (tx, outcome) = send(options, &client, Action::Revoke { commitment, reason })?;
    check_committed(&outcome)?;
    let output = ChangeOutput { action: "revoke".into(), commitment, replacement: None, transaction_id: tx.id(), height: outcome.height.unwrap_or_default() };
    emit(format, &output, |o| out!("revoked {} at height {} (transaction {})", o.commitment, o.height, o.transaction_id))?;
    Ok(ExitCode::SUCCESS)
}

pub fn supersede(format: OutputFormat, options: &SendOptions, old: Hash32, new_report: &Path, json: bool, kind: &str) -> anyhow::Result<ExitCode> {
    hashbridge_types::transaction::check_report_kind(kind)?;
    let client = NodeClient::new(&options.node)?;
    let encoding = if json { ContentEncoding::JsonJcs } else { ContentEncoding::Raw };
    let package_path = package_path_for(new_report);
    let (package, reused) = package_for(new_report, &package_path, encoding, kind, None)?;
    if !reused {
        package.write(&package_path)?;
    }
    let replacement = AnchorRecord { commitment: package.commitment, kind: kind.to_string(), issued_at_ms: now_ms(), expires_at_ms: None, metadata: vec![] };
    let (tx, outcome) = send(options, &client, Action::Supersede { old, replacement })?;
    check_committed(&outcome)?;
    if let Some(view) = client.anchor(&package.commitment)? {
        write_json(&receipt_path_for(new_report), &view.receipt)?;
    }
    let output = ChangeOutput { action: "supersede".into(), commitment: old, replacement: Some(package.commitment), transaction_id: tx.id(), height: outcome.height.unwrap_or_default() };
    emit(format, &output, |o| {
        out!("superseded {} by {} at height {}", o.commitment, package.commitment, o.height);
        out!("package of the new report: {}", package_path.display());
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn status(format: OutputFormat, node: &str) -> anyhow::Result<ExitCode> {
    let client = NodeClient::new(node)?;
    let status = client.status()?;
    emit(format, &status, |s| {
        out!("node:          {} ({} of {})", s.node, serde_name(&s.role), s.institution);
        out!("chain:         {} (genesis {})", s.chain_id, s.genesis_hash);
        out!("height:        {} (head {})", s.height, s.head_hash);
        out!("view:          {}{}", s.view, s.leader.as_ref().map(|l| format!(", leader {l}")).unwrap_or_default());
        out!("sync:          {}, best known height {}", serde_name(&s.sync).replace('_', " "), s.best_known_height);
        out!("peers:         {}", s.peers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "));
        out!("mempool:       {} transactions", s.mempool_transactions);
        out!("anchor log:    {} entries", s.anchor_log_size);
    })?;
    Ok(ExitCode::SUCCESS)
}
