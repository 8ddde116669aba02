//! Command-line definitions and their handlers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hashbridge_commitment::{digest_file, ContentEncoding, ReportPackage, Salt};
use hashbridge_config::generate::{generate, ChainSpec, GeneratedChain};
use hashbridge_config::genesis::NodeRole;
use hashbridge_config::Genesis;
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::KeyPair;
use serde::Serialize;

use crate::output::{emit, OutputFormat};

#[derive(Debug, Parser)]
#[command(name = "hashbridge", version, about = "Hash anchors of credit reports on a permissioned PBFT chain")]
pub struct Cli {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a chain: genesis, keys and node configs.
    #[command(subcommand)]
    Chain(ChainCommand),
    /// Create or inspect key files.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect a genesis file.
    #[command(subcommand)]
    Genesis(GenesisCommand),
    /// Hash reports into commitments.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Run a node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Hash a report locally, anchor its commitment, and save its package and receipt.
    Anchor(AnchorArgs),
    /// Hash a report locally and ask a node whether its commitment is anchored.
    Verify(VerifyArgs),
    /// Check receipts offline.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Revoke an anchored report.
    Revoke(RevokeArgs),
    /// Anchor a corrected report and mark the old one as superseded by it.
    Supersede(SupersedeArgs),
    /// Show a node's height, view, peers and sync state.
    Status {
        /// Base URL of the node's API.
        #[arg(long, default_value = "http://127.0.0.1:20200")]
        node: String,
    },
    /// Run the whole flow on a local chain: anchor in Shenzhen, verify in Hong Kong.
    Demo(crate::demo::DemoArgs),
    /// Measure committed anchors per second and commit latency on a local 4-validator chain.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Start a node from its config file; stops cleanly on SIGINT or SIGTERM.
    Run {
        /// Node config file written by `hashbridge chain new`.
        #[arg(long)]
        config: PathBuf,
    },
}

/// Options shared by the commands that sign and send a transaction.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Base URL of the node's API.
    #[arg(long, default_value = "http://127.0.0.1:20200")]
    pub node: String,
    /// The institution's account key file.
    #[arg(long)]
    pub key: PathBuf,
    /// Number of blocks for which the transaction stays valid.
    #[arg(long, default_value_t = 100)]
    pub valid_for: u64,
    /// Seconds to wait for the commit.
    #[arg(long, default_value_t = 60)]
    pub wait: u64,
}

impl SendArgs {
    fn options(&self) -> crate::anchoring::SendOptions {
        crate::anchoring::SendOptions {
            node: self.node.clone(),
            key: self.key.clone(),
            valid_for: self.valid_for,
            wait: std::time::Duration::from_secs(self.wait),
        }
    }
}

/// Hashing and labelling options for a report to anchor.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Hash the RFC 8785 canonical form of a JSON report.
    #[arg(long)]
    pub json: bool,
    /// Report kind, such as credit.personal or credit.corporate.
    #[arg(long, default_value = "credit.personal")]
    pub kind: String,
}

#[derive(Debug, Args)]
pub struct AnchorArgs {
    /// The report file.
    pub file: PathBuf,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Expiry of the report, in milliseconds since the Unix epoch.
    #[arg(long)]
    pub expires_at_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The report file received.
    pub file: PathBuf,
    /// The report package that came with it; defaults to FILE.hbpkg.json.
    #[arg(long)]
    pub package: Option<PathBuf>,
    /// Base URL of the verifier's own node.
    #[arg(long, default_value = "http://127.0.0.1:20200")]
    pub node: String,
    /// Also check the node's receipt against this genesis file.
    #[arg(long)]
    pub genesis: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check a receipt against the genesis file, with no node involved.
    Verify {
        /// Receipt file saved by `hashbridge anchor`.
        receipt: PathBuf,
        /// The chain's genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// The report, to recompute its commitment instead of trusting the receipt's.
        #[arg(long, requires = "package")]
        report: Option<PathBuf>,
        /// The report's package, which holds the salt.
        #[arg(long, requires = "report")]
        package: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReasonArg {
    IssuedInError,
    Withdrawn,
    Disputed,
    Fraud,
    Other,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The commitment as hex, or the report package file.
    pub commitment: String,
    #[command(flatten)]
    pub send: SendArgs,
    /// Reason for the revocation.
    #[arg(long, value_enum)]
    pub reason: ReasonArg,
}

#[derive(Debug, Args)]
pub struct SupersedeArgs {
    /// The old commitment as hex, or the old report's package file.
    #[arg(long)]
    pub old: String,
    /// The corrected report file.
    #[arg(long)]
    pub new: PathBuf,
    #[command(flatten)]
    pub send: SendArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Write a new chain folder: genesis.toml, institution account keys, node keys and configs.
    New(ChainNewArgs),
}

#[derive(Debug, Args)]
pub struct ChainNewArgs {
    /// Folder to write the chain into; must not already hold a chain.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of validators, spread over Shenzhen (CN-GD) and Hong Kong (HK) institutions.
    #[arg(long, default_value_t = 4, conflicts_with = "spec")]
    pub validators: usize,
    /// Number of observer nodes, run by a regulator.
    #[arg(long, default_value_t = 1, conflicts_with = "spec")]
    pub observers: usize,
    /// Chain id written into the genesis.
    #[arg(long, default_value = "hashbridge-szhk", conflicts_with = "spec")]
    pub chain_id: String,
    /// First P2P port; node i listens on base + i.
    #[arg(long)]
    pub p2p_port_base: Option<u16>,
    /// First HTTP API port; node i listens on base + i.
    #[arg(long)]
    pub api_port_base: Option<u16>,
    /// TOML spec listing institutions and how many validators and observers each runs.
    #[arg(long)]
    pub spec: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key file (mode 0600).
    New {
        /// Path of the key file to create; an existing file is never replaced.
        #[arg(long)]
        out: PathBuf,
        /// Purpose of the key.
        #[arg(long, value_enum, default_value_t = PurposeArg::Node)]
        purpose: PurposeArg,
    },
    /// Show a key file's public key and, for node keys, its libp2p peer id.
    Show {
        /// Key file to read.
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PurposeArg {
    /// A node's consensus and network identity.
    Node,
    /// An institution's transaction signing key.
    Account,
}

#[derive(Debug, Subcommand)]
pub enum GenesisCommand {
    /// Validate a genesis file and show its chain id, hash, validators and quorum.
    Check {
        /// Genesis file to check.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Compute a report's commitment locally; nothing is sent anywhere.
    Hash(ReportHashArgs),
}

#[derive(Debug, Args)]
pub struct ReportHashArgs {
    /// The report file.
    pub file: PathBuf,
    /// Hash the RFC 8785 canonical form of a JSON report instead of its raw bytes.
    #[arg(long)]
    pub json: bool,
    /// Use this 32-byte hex salt instead of a random one.
    #[arg(long, conflicts_with = "no_salt")]
    pub salt: Option<String>,
    /// Make an unsalted commitment. Anyone who can guess the report can then confirm it.
    #[arg(long)]
    pub no_salt: bool,
    /// Write the report package (salt and commitment) to this file.
    #[arg(long)]
    pub package: Option<PathBuf>,
    /// Issuer institution id recorded in the package.
    #[arg(long)]
    pub issuer: Option<String>,
    /// Report kind recorded in the package, such as credit.personal.
    #[arg(long)]
    pub kind: Option<String>,
}

/// Runs one command and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let format = cli.output;
    match cli.command {
        Command::Chain(ChainCommand::New(args)) => chain_new(format, &args),
        Command::Keys(KeysCommand::New { out, purpose }) => keys_new(format, &out, purpose),
        Command::Keys(KeysCommand::Show { file }) => keys_show(format, &file),
        Command::Genesis(GenesisCommand::Check { file }) => genesis_check(format, &file),
        Command::Report(ReportCommand::Hash(args)) => report_hash(format, &args),
        Command::Node(NodeCommand::Run { config }) => return node_run(&config),
        Command::Anchor(args) => {
            return crate::anchoring::anchor(format, &args.send.options(), &args.file, args.report.json, &args.report.kind, args.expires_at_ms);
        }
        Command::Verify(args) => {
            let package = args.package.clone().unwrap_or_else(|| crate::anchoring::package_path_for(&args.file));
            return crate::anchoring::verify(format, &args.node, &args.file, &package, args.genesis.as_deref());
        }
        Command::Receipt(ReceiptCommand::Verify { receipt, genesis, report, package }) => {
            return crate::anchoring::receipt_verify(format, &receipt, &genesis, report.as_deref(), package.as_deref());
        }
        Command::Revoke(args) => {
            let commitment = crate::anchoring::commitment_argument(&args.commitment)?;
            return crate::anchoring::revoke(format, &args.send.options(), commitment, reason(args.reason));
        }
        Command::Supersede(args) => {
            let old = crate::anchoring::commitment_argument(&args.old)?;
            return crate::anchoring::supersede(format, &args.send.options(), old, &args.new, args.report.json, &args.report.kind);
        }
        Command::Status { node } => return crate::anchoring::status(format, &node),
        Command::Demo(args) => return crate::demo::run(format, &args),
        Command::Bench(args) => return crate::bench::run(format, &args),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn reason(arg: ReasonArg) -> hashbridge_types::RevocationReason {
    use hashbridge_types::RevocationReason as R;
    match arg {
        ReasonArg::IssuedInError => R::IssuedInError,
        ReasonArg::Withdrawn => R::Withdrawn,
        ReasonArg::Disputed => R::Disputed,
        ReasonArg::Fraud => R::Fraud,
        ReasonArg::Other => R::Other,
    }
}

fn node_run(config: &Path) -> anyhow::Result<ExitCode> {
    let node_config = hashbridge_config::NodeConfig::load(config)?;
    hashbridge_node::init_logging(&node_config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(hashbridge_node::run(config))?;
    Ok(ExitCode::SUCCESS)
}

fn chain_new(format: OutputFormat, args: &ChainNewArgs) -> anyhow::Result<()> {
    let mut spec = match &args.spec {
        Some(path) => ChainSpec::load(path)?,
        None => ChainSpec::standard(&args.chain_id, args.validators, args.observers),
    };
    if let Some(base) = args.p2p_port_base {
        spec.p2p_port_base = base;
    }
    if let Some(base) = args.api_port_base {
        spec.api_port_base = base;
    }
    let chain = generate(&spec, &args.out)?;
    emit(format, &chain, print_chain)
}

fn print_chain(chain: &GeneratedChain) {
    out!("chain id:      {}", chain.chain_id);
    out!("genesis hash:  {}", chain.genesis_hash);
    out!("genesis file:  {}", chain.genesis.display());
    out!();
    out!("{:<22} {:<10} {:<16} {:<22} {:<22}", "node", "role", "institution", "p2p", "api");
    for node in &chain.nodes {
        let role = match node.role {
            NodeRole::Validator => "validator",
            NodeRole::Observer => "observer",
        };
        out!("{:<22} {:<10} {:<16} {:<22} {:<22}", node.name, role, node.institution, node.p2p_listen, node.api_listen);
    }
    out!();
    for (institution, path) in &chain.account_keys {
        out!("account key of {institution}: {}", path.display());
    }
    out!();
    out!("start a node with: hashbridge node run --config {}", chain.nodes.first().map(|n| n.config.display().to_string()).unwrap_or_default());
}

#[derive(Serialize)]
struct KeyInfo {
    file: PathBuf,
    purpose: String,
    public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_id: Option<String>,
}

fn key_info(file: &Path, key: &KeyPair) -> KeyInfo {
    let public = key.public_key();
    KeyInfo {
        file: file.to_path_buf(),
        purpose: key.purpose().to_string(),
        public_key: public.to_hex(),
        peer_id: (key.purpose() == KeyPurpose::Node).then(|| public.peer_id().map(|p| p.to_string()).unwrap_or_default()),
    }
}

fn print_key(info: &KeyInfo) {
    out!("file:        {}", info.file.display());
    out!("purpose:     {}", info.purpose);
    out!("public key:  {}", info.public_key);
    if let Some(peer_id) = &info.peer_id {
        out!("peer id:     {peer_id}");
    }
}

fn keys_new(format: OutputFormat, out: &Path, purpose: PurposeArg) -> anyhow::Result<()> {
    let purpose = match purpose {
        PurposeArg::Node => KeyPurpose::Node,
        PurposeArg::Account => KeyPurpose::Account,
    };
    let key = KeyPair::generate(purpose);
    key.write_file(out)?;
    emit(format, &key_info(out, &key), print_key)
}

fn keys_show(format: OutputFormat, file: &Path) -> anyhow::Result<()> {
    let key = KeyPair::read_file(file, None)?;
    emit(format, &key_info(file, &key), print_key)
}

#[derive(Serialize)]
struct GenesisSummary {
    chain_id: String,
    genesis_hash: String,
    crypto_suite: String,
    institutions: Vec<InstitutionSummary>,
    validators: Vec<NodeSummary>,
    observers: Vec<NodeSummary>,
    total_weight: u64,
    quorum_weight: u64,
    faults_tolerated: u64,
}

#[derive(Serialize)]
struct InstitutionSummary {
    id: String,
    name: String,
    jurisdiction: String,
    roles: Vec<String>,
}

#[derive(Serialize)]
struct NodeSummary {
    name: String,
    institution: String,
    public_key: String,
    weight: u64,
}

fn genesis_check(format: OutputFormat, file: &Path) -> anyhow::Result<()> {
    let genesis = Genesis::load(file)?;
    let set = genesis.validator_set();
    let node_summary = |role: NodeRole| -> Vec<NodeSummary> {
        genesis
            .nodes_with_role(role)
            .map(|n| NodeSummary { name: n.name.clone(), institution: n.institution.clone(), public_key: n.public_key.to_hex(), weight: n.weight })
            .collect()
    };
    let summary = GenesisSummary {
        chain_id: genesis.chain_id.clone(),
        genesis_hash: genesis.hash().to_hex(),
        crypto_suite: genesis.crypto_suite.clone(),
        institutions: genesis
            .institutions
            .iter()
            .map(|i| InstitutionSummary {
                id: i.id.clone(),
                name: i.name.clone(),
                jurisdiction: i.jurisdiction.clone(),
                roles: i.roles.iter().map(|r| format!("{r:?}").to_lowercase()).collect(),
            })
            .collect(),
        validators: node_summary(NodeRole::Validator),
        observers: node_summary(NodeRole::Observer),
        total_weight: set.total_weight(),
        quorum_weight: set.quorum_weight(),
        faults_tolerated: set.fault_tolerance(),
    };
    emit(format, &summary, |s| {
        out!("genesis {} is valid", file.display());
        out!("chain id:          {}", s.chain_id);
        out!("genesis hash:      {}", s.genesis_hash);
        out!("crypto suite:      {}", s.crypto_suite);
        out!("institutions:      {}", s.institutions.iter().map(|i| format!("{} ({})", i.id, i.jurisdiction)).collect::<Vec<_>>().join(", "));
        out!("validators:        {}", s.validators.len());
        for v in &s.validators {
            out!("  {:<22} {:<16} weight {}  {}", v.name, v.institution, v.weight, v.public_key);
        }
        out!("observers:         {}", s.observers.len());
        for o in &s.observers {
            out!("  {:<22} {:<16} {}", o.name, o.institution, o.public_key);
        }
        out!("total weight:      {}", s.total_weight);
        out!("quorum weight:     {}", s.quorum_weight);
        out!("faults tolerated:  {} (weight)", s.faults_tolerated);
    })
}

#[derive(Serialize)]
struct ReportHashOutput {
    file: PathBuf,
    content: ContentEncoding,
    content_digest: String,
    algorithm: String,
    commitment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<PathBuf>,
}

fn report_hash(format: OutputFormat, args: &ReportHashArgs) -> anyhow::Result<()> {
    let encoding = if args.json { ContentEncoding::JsonJcs } else { ContentEncoding::Raw };
    let salt = match (&args.salt, args.no_salt) {
        (Some(hex), _) => Some(Salt::parse(hex).context("--salt must be 32 bytes of hex")?),
        (None, true) => None,
        (None, false) => Some(Salt::random()),
    };
    if let Some(kind) = &args.kind {
        hashbridge_types::transaction::check_report_kind(kind)?;
    }
    let digest = digest_file(&args.file, encoding)?;
    let package = ReportPackage::new(&digest, encoding, salt.as_ref(), args.issuer.clone(), args.kind.clone());
    if let Some(path) = &args.package {
        if path.exists() {
            bail!("package file {} already exists; choose another path or remove it", path.display());
        }
        package.write(path)?;
    }

    let output = ReportHashOutput {
        file: args.file.clone(),
        content: encoding,
        content_digest: digest.to_hex(),
        algorithm: serde_json::to_value(package.algorithm)?.as_str().unwrap_or_default().to_string(),
        commitment: package.commitment.to_hex(),
        // The salt is shown only when no package keeps it, or it would be lost.
        salt: if args.package.is_none() { package.salt.clone() } else { None },
        package: args.package.clone(),
    };
    emit(format, &output, |o| {
        out!("file:            {}", o.file.display());
        out!("content digest:  {}", o.content_digest);
        out!("algorithm:       {}", o.algorithm);
        out!("commitment:      {}", o.commitment);
        if let Some(salt) = &o.salt {
            out!("salt:            {salt}");
            out!("keep the salt with the report: without it the commitment cannot be checked");
        }
        if let Some(package) = &o.package {
            out!("package:         {}", package.display());
        }
    })
}
