//! `hashbridge-sim`: runs many seeds of the deterministic PBFT simulation and reports
//! safety violations and liveness, with the seed that replays each failure.

use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use hashbridge_sim::{run_all, ByzantineKind, SignatureCheck, SimConfig, Summary};

#[derive(Parser, Debug)]
#[command(name = "hashbridge-sim", about = "Deterministic simulation of the Hashbridge PBFT core")]
struct Args {
    /// Number of seeds to run per byzantine kind.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed; seeds run from here upward.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Replay exactly one seed and print its full report.
    #[arg(long, conflicts_with_all = ["seeds", "first_seed"])]
    seed: Option<u64>,
    /// Number of validators (4, 7 or 10 are the tested sizes; f = (n - 1) / 3 are byzantine).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Byzantine behaviour: none, equivocate, silent, replay, huge-view, malformed,
    /// conflicting-votes, twins, all (each kind in turn) or random (one kind per seed).
    #[arg(long, default_value = "none")]
    byzantine: String,
    /// Signature checks: full (ed25519 verify_strict) or resign (faster, accepts the same signatures).
    #[arg(long, default_value = "full")]
    signatures: String,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// With --seed: print every action of every process to stderr.
    #[arg(long, requires = "seed")]
    verbose: bool,
    /// Output format: text or json.
    #[arg(long, default_value = "text")]
    output: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.validators < 1 {
        bail!("--validators must be at least 1");
    }
    let signatures = match args.signatures.as_str() {
        "full" => SignatureCheck::Full,
        "resign" => SignatureCheck::Resign,
        other => bail!("unknown --signatures {other:?}; expected full or resign"),
    };
    let json = match args.output.as_str() {
        "json" => true,
        "text" => false,
        other => bail!("unknown --output {other:?}; expected text or json"),
    };

    if let Some(seed) = args.seed {
        return replay(seed, &args, signatures);
    }

    let mut failed = false;
    for kind in kinds(&args.byzantine)? {
        let started = Instant::now();
        let configs = seed_configs(&args, kind, signatures);
        let reports = run_all(configs, args.threads);
        let label = kind.map_or("random".to_string(), |k| k.to_string());
        let summary = Summary::new(args.validators, kind.unwrap_or(ByzantineKind::None), &reports);
        failed |= summary.passed != summary.runs;
        print_summary(&label, &summary, started.elapsed().as_secs_f64(), json)?;
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

/// Returns the kinds to run, where `None` means a random kind per seed.
fn kinds(name: &str) -> anyhow::Result<Vec<Option<ByzantineKind>>> {
    Ok(match name {
        "all" => ByzantineKind::ALL.into_iter().map(Some).collect(),
        "random" => vec![None],
        other => vec![Some(other.parse::<ByzantineKind>().map_err(anyhow::Error::msg)?)],
    })
}

fn seed_configs(args: &Args, kind: Option<ByzantineKind>, signatures: SignatureCheck) -> Vec<SimConfig> {
    (args.first_seed..args.first_seed.saturating_add(args.seeds))
        .map(|seed| {
            let kind = kind.unwrap_or_else(|| random_kind(seed));
            SimConfig { signatures, ..SimConfig::standard(seed, args.validators, kind) }
        })
        .collect()
}

/// Returns the kind a `random` run uses for `seed`. The seed fixes it, so the run replays.
fn random_kind(seed: u64) -> ByzantineKind {
    let kinds = ByzantineKind::ALL;
    let index = (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize % kinds.len();
    kinds.get(index).copied().unwrap_or(ByzantineKind::None)
}

fn replay(seed: u64, args: &Args, signatures: SignatureCheck) -> anyhow::Result<()> {
    let kind = match kinds(&args.byzantine)?.as_slice() {
        [Some(kind)] => *kind,
        [None] => random_kind(seed),
        _ => bail!("--seed replays one run; pass one byzantine kind or random, not all"),
    };
    let config = SimConfig { signatures, verbose: args.verbose, ..SimConfig::standard(seed, args.validators, kind) };
    let report = hashbridge_sim::run(config);
    println!("{}", serde_json::to_string_pretty(&report).context("encoding the report failed")?);
    if !report.passed() {
        std::process::exit(1);
    }
    Ok(())
}

fn print_summary(label: &str, summary: &Summary, seconds: f64, json: bool) -> anyhow::Result<()> {
    if json {
        let mut value = serde_json::to_value(summary).context("encoding the summary failed")?;
        if let Some(object) = value.as_object_mut() {
            object.insert("kind".into(), serde_json::Value::String(label.to_string()));
            object.insert("seconds".into(), serde_json::json!(seconds));
        }
        println!("{}", serde_json::to_string(&value).context("encoding the summary failed")?);
        return Ok(());
    }
    println!(
        "validators={} byzantine={label} runs={} passed={} commits={} view_changes={} safety_violations={} liveness_failures={} max_recovery_ms={} seconds={seconds:.1}",
        summary.validators,
        summary.runs,
        summary.passed,
        summary.commits,
        summary.view_changes,
        summary.safety_violations,
        summary.liveness_failures,
        summary.max_recovery_ms,
    );
    for failure in &summary.failures {
        let first = failure.violations.first();
        println!(
            "  failed seed {}: {} ({}); replay with: cargo run --release -p hashbridge-sim -- --seed {} --validators {} --byzantine {}",
            failure.seed,
            first.map_or("", |v| v.property),
            first.map_or("", |v| v.detail.as_str()),
            failure.seed,
            failure.validators,
            failure.byzantine,
        );
    }
    Ok(())
}
