//! The back-office flow end to end, with real node processes: anchor a PDF in Shenzhen,
//! verify it in Hong Kong and at the regulator's observer, check the receipt offline, and
//! exercise revocation, supersession, hex spellings and duplicates.

mod support;

use std::path::Path;
use std::process::Output;

use hashbridge_types::{Action, RevocationReason};
use serde_json::Value;
use support::*;

const SAMPLE_PDF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/sample-credit-report.pdf");

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Null)
}

fn explain(output: &Output) -> String {
    format!("exit {:?}\nstdout: {}\nstderr: {}", output.status.code(), String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn anchor(chain: &TestChain, node: usize, institution: &str, report: &Path) -> Output {
    hashbridge(&[
        "--output",
        "json",
        "anchor",
        path_str(report),
        "--node",
        &chain.nodes[node].api,
        "--key",
        path_str(&chain.account_key_path(institution)),
    ])
}

fn verify(chain: &TestChain, node: usize, report: &Path, package: &Path) -> Output {
    hashbridge(&[
        "--output",
        "json",
        "verify",
        path_str(report),
        "--package",
        path_str(package),
        "--node",
        &chain.nodes[node].api,
        "--genesis",
        path_str(&chain.genesis),
    ])
}

#[test]
fn pdf_anchored_in_shenzhen_verifies_in_hong_kong() {
    let mut chain = TestChain::new(4, 1);
    chain.start_all();
    let shenzhen = chain.dir.path().join("shenzhen");
    let hong_kong = chain.dir.path().join("hong-kong");
    std::fs::create_dir_all(&shenzhen).unwrap();
    std::fs::create_dir_all(&hong_kong).unwrap();
    let report = shenzhen.join("report.pdf");
    std::fs::copy(SAMPLE_PDF, &report).unwrap();
    assert!(std::fs::read(&report).unwrap().starts_with(b"%PDF-"));

    // Node 0 is the Shenzhen agency's validator.
    let anchored = anchor(&chain, 0, "sz-credit", &report);
    assert!(anchored.status.success(), "{}", explain(&anchored));
    let anchored = json(&anchored);
    let commitment = anchored["commitment"].as_str().unwrap().to_string();
    let package = shenzhen.join("report.pdf.hbpkg.json");
    let receipt = shenzhen.join("report.pdf.receipt.json");
    assert!(package.exists() && receipt.exists());
    let package_text = std::fs::read_to_string(&package).unwrap();
    assert!(package_text.contains(&commitment));

    // Only the report and its package cross the border.
    let carried = hong_kong.join("report.pdf");
    let carried_package = hong_kong.join("report.pdf.hbpkg.json");
    std::fs::copy(&report, &carried).unwrap();
    std::fs::copy(&package, &carried_package).unwrap();

    // Node 1 is the Hong Kong bank's validator; node 4 the regulator's observer.
    let at_bank = verify(&chain, 1, &carried, &carried_package);
    assert!(at_bank.status.success(), "{}", explain(&at_bank));
    let at_bank = json(&at_bank);
    assert_eq!(at_bank["anchored"], true);
    assert_eq!(at_bank["anchor"]["issuer"]["id"], "sz-credit");
    assert_eq!(at_bank["anchor"]["issuer"]["jurisdiction"], "CN-GD");
    assert_eq!(at_bank["anchor"]["status"]["state"], "active");

    let height = anchored["height"].as_u64().unwrap();
    chain.wait_height(4, height);
    let at_observer = verify(&chain, 4, &carried, &carried_package);
    assert!(at_observer.status.success(), "{}", explain(&at_observer));

    // One changed byte: not anchored, exit code 1.
    let tampered = hong_kong.join("tampered.pdf");
    let mut bytes = std::fs::read(&carried).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&tampered, &bytes).unwrap();
    let rejected = verify(&chain, 1, &tampered, &carried_package);
    assert_eq!(rejected.status.code(), Some(1), "{}", explain(&rejected));
    assert_eq!(json(&rejected)["anchored"], false);

    // Offline receipt checks: good report passes, tampered report and edited receipt fail.
    let offline = hashbridge(&["--output", "json", "receipt", "verify", path_str(&receipt), "--genesis", path_str(&chain.genesis), "--report", path_str(&carried), "--package", path_str(&carried_package)]);
    assert!(offline.status.success(), "{}", explain(&offline));
    assert_eq!(json(&offline)["report_matches"], true);
    let offline_tampered = hashbridge(&["receipt", "verify", path_str(&receipt), "--genesis", path_str(&chain.genesis), "--report", path_str(&tampered), "--package", path_str(&carried_package)]);
    assert_eq!(offline_tampered.status.code(), Some(1), "{}", explain(&offline_tampered));

    let mut edited: Value = serde_json::from_str(&std::fs::read_to_string(&receipt).unwrap()).unwrap();
    edited["header"]["log_size"] = Value::from(edited["header"]["log_size"].as_u64().unwrap() + 1);
    let edited_path = hong_kong.join("edited.receipt.json");
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    let offline_edited = hashbridge(&["receipt", "verify", path_str(&edited_path), "--genesis", path_str(&chain.genesis)]);
    assert!(!offline_edited.status.success(), "{}", explain(&offline_edited));
    assert!(String::from_utf8_lossy(&offline_edited.stderr).contains("certificate"), "{}", explain(&offline_edited));

    // Revoked by its issuer: verify reports it and exits 3. Another issuer may not revoke.
    let other = hashbridge(&["revoke", &commitment, "--reason", "withdrawn", "--node", &chain.nodes[2].api, "--key", path_str(&chain.account_key_path("qh-credit"))]);
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("only the institution that anchored"), "{}", explain(&other));
    let revoked = hashbridge(&["revoke", path_str(&package), "--reason", "withdrawn", "--node", &chain.nodes[0].api, "--key", path_str(&chain.account_key_path("sz-credit"))]);
    assert!(revoked.status.success(), "{}", explain(&revoked));
    let after = verify(&chain, 1, &carried, &carried_package);
    assert_eq!(after.status.code(), Some(3), "{}", explain(&after));
    assert_eq!(json(&after)["anchor"]["status"]["state"], "revoked");
    assert_eq!(json(&after)["anchor"]["status"]["reason"], "withdrawn");

    // The regulator's account has no issuer role, so its anchor is rejected.
    let regulator = chain.account_key("gba-regulator");
    let attempt = chain.sign(4, &regulator, Action::Anchor(record(random_hash())));
    assert_eq!(chain.submit(4, &attempt).0, 202);
    assert_eq!(chain.wait_transaction(4, &attempt.id())["result"], "unauthorized");
}

#[test]
fn hex_spellings_duplicates_and_supersede() {
    let mut chain = TestChain::new(4, 0);
    chain.start_all();
    let key = chain.account_key("sz-credit");
    let commitment = random_hash();

    let tx = chain.sign(0, &key, Action::Anchor(record(commitment)));
    let (code, body) = chain.submit(0, &tx);
    assert_eq!(code, 202, "{body}");
    let status = chain.wait_transaction(0, &tx.id());
    assert_eq!(status["state"], "committed", "{status}");

    // Upper case, 0x and sha256: spellings find the same anchor.
    let lower = commitment.to_hex();
    for spelling in [lower.clone(), lower.to_uppercase(), format!("0x{lower}"), format!("0X{}", lower.to_uppercase()), format!("sha256:{lower}")] {
        let (code, anchor) = chain.get(1, &format!("/v1/anchors/{spelling}")).unwrap();
        assert_eq!(code, 200, "{spelling}: {anchor}");
        assert_eq!(anchor["commitment"], lower.as_str());
    }
    let (code, error) = chain.get(1, &format!("/v1/anchors/{}", &lower[..63])).unwrap();
    assert_eq!(code, 400);
    assert_eq!(error["error"], "invalid_hex");

    // A second anchor of the same commitment, by any issuer, is rejected as a duplicate.
    let duplicate = chain.sign(1, &chain.account_key("hk-bank"), Action::Anchor(record(commitment)));
    assert_eq!(chain.submit(1, &duplicate).0, 202);
    let status = chain.wait_transaction(1, &duplicate.id());
    assert_eq!(status["state"], "rejected", "{status}");
    assert_eq!(status["result"], "duplicate_commitment");

    // Supersede: the old anchor points at the new one, which is active.
    let replacement = random_hash();
    let supersede = chain.sign(0, &key, Action::Supersede { old: commitment, replacement: record(replacement) });
    assert_eq!(chain.submit(0, &supersede).0, 202);
    assert_eq!(chain.wait_transaction(0, &supersede.id())["state"], "committed");
    let (_, old) = chain.get(2, &format!("/v1/anchors/{commitment}")).unwrap();
    assert_eq!(old["status"]["state"], "superseded", "{old}");
    assert_eq!(old["status"]["by"], replacement.to_hex());
    let (_, new) = chain.get(2, &format!("/v1/anchors/{replacement}")).unwrap();
    assert_eq!(new["status"]["state"], "active");

    // Revoking the superseded anchor is rejected; an unknown commitment cannot be revoked.
    let late = chain.sign(0, &key, Action::Revoke { commitment, reason: RevocationReason::Withdrawn });
    chain.submit(0, &late);
    assert_eq!(chain.wait_transaction(0, &late.id())["result"], "already_inactive");
    let unknown = chain.sign(0, &key, Action::Revoke { commitment: random_hash(), reason: RevocationReason::Other });
    chain.submit(0, &unknown);
    assert_eq!(chain.wait_transaction(0, &unknown.id())["result"], "unknown_commitment");
}

#[test]
fn json_report_anchors_by_canonical_form() {
    let mut chain = TestChain::new(4, 0);
    chain.start_all();
    let folder = chain.dir.path().join("reports");
    std::fs::create_dir_all(&folder).unwrap();
    let pretty = folder.join("report.json");
    std::fs::write(&pretty, "{\n  \"subject\": \"S-1001\",\n  \"score\": 712\n}\n").unwrap();
    let anchored = hashbridge(&["--output", "json", "anchor", path_str(&pretty), "--json", "--kind", "credit.corporate", "--node", &chain.nodes[0].api, "--key", path_str(&chain.account_key_path("sz-credit"))]);
    assert!(anchored.status.success(), "{}", explain(&anchored));

    // The receiver's copy was re-serialised compactly with keys reordered.
    let compact = folder.join("received.json");
    std::fs::write(&compact, r#"{"score":712,"subject":"S-1001"}"#).unwrap();
    let package = folder.join("report.json.hbpkg.json");
    let verified = verify(&chain, 3, &compact, &package);
    assert!(verified.status.success(), "{}", explain(&verified));
    assert_eq!(json(&verified)["anchor"]["record"]["kind"], "credit.corporate");
}
