//! End-to-end checks of the offline commands, running the real `hashbridge` binary.

use std::path::Path;
use std::process::{Command, Output};

const SALT: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn hashbridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hashbridge")).args(args).output().unwrap()
}

fn json_output(args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--output", "json"];
    full.extend_from_slice(args);
    let output = hashbridge(&full);
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn commitment_of(path: &Path, extra: &[&str]) -> String {
    let mut args = vec!["report", "hash", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    json_output(&args)["commitment"].as_str().unwrap().to_string()
}

#[test]
fn json_report_commitment_ignores_formatting() {
    let dir = tempfile::tempdir().unwrap();
    let pretty = dir.path().join("pretty.json");
    let compact = dir.path().join("compact.json");
    let changed = dir.path().join("changed.json");
    std::fs::write(&pretty, "{\n  \"subject\": \"S-1001\",\n  \"score\": 712,\n  \"issued\": \"2026-11-30\"\n}\n").unwrap();
    std::fs::write(&compact, r#"{"issued":"2026-11-30","score":712,"subject":"S-1001"}"#).unwrap();
    std::fs::write(&changed, r#"{"issued":"2026-11-30","score":713,"subject":"S-1001"}"#).unwrap();

    let salted = ["--json", "--salt", SALT];
    let a = commitment_of(&pretty, &salted);
    let b = commitment_of(&compact, &salted);
    let c = commitment_of(&changed, &salted);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a, "60f79a7356b57b385aa206cce91c87395cfced7b6c38d19be245b0a1d9094f34", "the worked example in docs/commitment.md");

    // Without --json the raw bytes differ, so the commitments differ.
    assert_ne!(commitment_of(&pretty, &["--salt", SALT]), commitment_of(&compact, &["--salt", SALT]));
    // The salt may be given in upper case with a 0x prefix.
    let upper = format!("0x{}", SALT.to_uppercase());
    assert_eq!(commitment_of(&pretty, &["--json", "--salt", &upper]), a);
}

#[test]
fn random_salt_and_package() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.pdf");
    std::fs::write(&report, b"%PDF-1.4 sample").unwrap();
    let package = dir.path().join("report.pdf.hbpkg.json");
    let first = json_output(&["report", "hash", report.to_str().unwrap(), "--package", package.to_str().unwrap()]);
    let second = commitment_of(&report, &[]);
    assert_ne!(first["commitment"].as_str().unwrap(), second, "each run draws a new salt");
    assert!(first.get("salt").is_none(), "with a package the salt stays in the package");
    let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&package).unwrap()).unwrap();
    assert_eq!(stored["commitment"], first["commitment"]);
    assert_eq!(stored["salt"].as_str().unwrap().len(), 64);
}

#[test]
fn bad_hex_salt_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.txt");
    std::fs::write(&report, b"abc").unwrap();
    let output = hashbridge(&["report", "hash", report.to_str().unwrap(), "--salt", "12zz"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"12zz\""), "{stderr}");
    assert!(stderr.contains("'z'"), "{stderr}");
}

#[test]
fn generated_chain_passes_genesis_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chain");
    let chain = json_output(&["chain", "new", "--out", out.to_str().unwrap()]);
    assert_eq!(chain["nodes"].as_array().unwrap().len(), 5);

    let check = json_output(&["genesis", "check", out.join("genesis.toml").to_str().unwrap()]);
    assert_eq!(check["genesis_hash"], chain["genesis_hash"]);
    assert_eq!(check["validators"].as_array().unwrap().len(), 4);
    assert_eq!(check["quorum_weight"], 3);
    assert_eq!(check["faults_tolerated"], 1);

    let again = hashbridge(&["chain", "new", "--out", out.to_str().unwrap()]);
    assert!(!again.status.success(), "an existing chain must not be overwritten");
}

#[test]
fn duplicate_node_key_fails_genesis_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chain");
    json_output(&["chain", "new", "--out", out.to_str().unwrap()]);
    let genesis_path = out.join("genesis.toml");
    let text = std::fs::read_to_string(&genesis_path).unwrap();

    let genesis: toml::Value = toml::from_str(&text).unwrap();
    let nodes = genesis["nodes"].as_array().unwrap();
    let first = nodes[0]["public_key"].as_str().unwrap();
    let second = nodes[1]["public_key"].as_str().unwrap();
    std::fs::write(&genesis_path, text.replace(second, first)).unwrap();

    let output = hashbridge(&["genesis", "check", genesis_path.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nodes[1].public_key"), "{stderr}");
    assert!(stderr.contains("duplicate key"), "{stderr}");
}

#[test]
fn keys_new_and_show_never_print_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let created = json_output(&["keys", "new", "--out", path.to_str().unwrap()]);
    let shown = json_output(&["keys", "show", path.to_str().unwrap()]);
    assert_eq!(created["public_key"], shown["public_key"]);
    assert!(shown["peer_id"].as_str().unwrap().starts_with("12D3KooW"));

    let text = std::fs::read_to_string(&path).unwrap();
    let secret = text.lines().find(|l| l.starts_with("secret_key")).unwrap().split('"').nth(1).unwrap().to_string();
    let human = hashbridge(&["keys", "show", path.to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&human.stdout).contains(&secret));
    assert!(!shown.to_string().contains(&secret));

    std::fs::write(&path, "format = \"something\"\n").unwrap();
    let bad = hashbridge(&["keys", "show", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success(), "{stderr}");
    assert!(stderr.contains("node.key"), "{stderr}");
}
