//! Published test vectors: RFC 8032 Ed25519, NIST SHA-256 and the Certificate Transparency
//! Merkle tree data. The files live in `tests/vectors/`; `PROVENANCE.md` there names their
//! sources.

use std::path::PathBuf;

use base64::Engine;
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::merkle::{self, leaf_hash};
use hashbridge_crypto::{Hash32, KeyPair, PublicKey, Signature};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn read_json(relative: &str) -> Value {
    let text = std::fs::read_to_string(vectors_dir().join(relative)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex32(value: &Value) -> Hash32 {
    Hash32::parse(value.as_str().unwrap()).unwrap()
}

fn hex_list(value: &Value) -> Vec<Hash32> {
    value.as_array().map(|a| a.iter().map(hex32).collect()).unwrap_or_default()
}

fn check_ed25519(seed: &str, public: &str, message: &[u8], signature: &str) {
    let seed: [u8; 32] = hex::decode(seed).unwrap().try_into().unwrap();
    let key = KeyPair::from_seed(seed, KeyPurpose::Account);
    assert_eq!(key.public_key().to_hex(), public);
    let produced = key.sign(message);
    assert_eq!(hex::encode(produced.0), signature);
    let parsed = PublicKey::parse(public).unwrap();
    parsed.verify(message, &Signature::parse(signature).unwrap()).unwrap();
}

#[test]
fn rfc8032_ed25519() {
    let file = read_json("ed25519/rfc8032.json");
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 5);
    for v in vectors {
        let message = hex::decode(v["message"].as_str().unwrap()).unwrap();
        check_ed25519(v["secret_key"].as_str().unwrap(), v["public_key"].as_str().unwrap(), &message, v["signature"].as_str().unwrap());
    }
}

#[test]
fn supercop_ed25519_sign_input() {
    // Each line is `sk||pk:pk:msg:sig||msg:` in hex, with sk the 32-byte seed.
    let text = std::fs::read_to_string(vectors_dir().join("ed25519/sign.input")).unwrap();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(':').collect();
        let seed = &fields[0][..64];
        let public = fields[1];
        let message = hex::decode(fields[2]).unwrap();
        let signature = &fields[3][..128];
        check_ed25519(seed, public, &message, signature);
        count += 1;
    }
    assert_eq!(count, 1024);
}

fn nist_rsp_cases(relative: &str) -> Vec<(usize, Vec<u8>, String)> {
    let text = std::fs::read_to_string(vectors_dir().join(relative)).unwrap();
    let mut cases = Vec::new();
    let mut length_bits = None;
    let mut message = None;
    for line in text.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Len = ") {
            length_bits = Some(value.parse::<usize>().unwrap());
        } else if let Some(value) = line.strip_prefix("Msg = ") {
            message = Some(hex::decode(value).unwrap());
        } else if let Some(value) = line.strip_prefix("MD = ") {
            let bits = length_bits.take().unwrap();
            let mut bytes = message.take().unwrap();
            // `Len = 0` is written with `Msg = 00`; the length decides.
            bytes.truncate(bits / 8);
            cases.push((bits, bytes, value.to_string()));
        }
    }
    cases
}

#[test]
fn nist_sha256_short_and_long() {
    let short = nist_rsp_cases("sha256/SHA256ShortMsg.rsp");
    let long = nist_rsp_cases("sha256/SHA256LongMsg.rsp");
    assert_eq!(short.len(), 65);
    assert_eq!(long.len(), 64);
    for (bits, message, digest) in short.iter().chain(long.iter()) {
        assert_eq!(&Hash32::sha256(message).to_hex(), digest, "message of {bits} bits");
    }
}

#[test]
fn nist_sha256_examples() {
    let file = read_json("sha256/nist_examples.json");
    for v in file["vectors"].as_array().unwrap() {
        let unit = hex::decode(v["message_hex"].as_str().unwrap()).unwrap();
        let message = unit.repeat(v["repeat"].as_u64().unwrap() as usize);
        assert_eq!(Hash32::sha256(&message).to_hex(), v["digest"].as_str().unwrap(), "{}", v["name"]);
        assert_eq!(digest_in_chunks(&message).to_hex(), v["digest"].as_str().unwrap(), "{}", v["name"]);
    }
}

/// Feeds the message in uneven chunks, so chunk boundaries are exercised.
fn digest_in_chunks(message: &[u8]) -> Hash32 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for chunk in message.chunks(997) {
        hasher.update(chunk);
    }
    Hash32(hasher.finalize().into())
}

#[test]
fn ct_reference_tree() {
    let file = read_json("merkle/ct_reference.json");
    let leaves: Vec<Vec<u8>> = file["leaves"].as_array().unwrap().iter().map(|l| hex::decode(l.as_str().unwrap()).unwrap()).collect();
    let hashes: Vec<Hash32> = leaves.iter().map(|l| leaf_hash(l)).collect();
    assert_eq!(hashes, hex_list(&file["leaf_hashes"]));

    for r in file["roots"].as_array().unwrap() {
        let size = r["tree_size"].as_u64().unwrap() as usize;
        assert_eq!(merkle::root(&hashes[..size]), hex32(&r["root"]), "root of size {size}");
    }
    let root_of = |size: u64| merkle::root(&hashes[..size as usize]);

    for p in file["inclusion_proofs"].as_array().unwrap() {
        let index = p["leaf_index"].as_u64().unwrap();
        let size = p["tree_size"].as_u64().unwrap();
        let path = hex_list(&p["path"]);
        assert_eq!(merkle::inclusion_proof(hashes.as_slice(), index, size).unwrap(), path, "inclusion {index} in {size}");
        merkle::verify_inclusion(&hashes[index as usize], index, size, &path, &root_of(size)).unwrap();
    }
    for p in file["consistency_proofs"].as_array().unwrap() {
        let first = p["size1"].as_u64().unwrap();
        let second = p["size2"].as_u64().unwrap();
        let path = hex_list(&p["path"]);
        assert_eq!(merkle::consistency_proof(hashes.as_slice(), first, second).unwrap(), path, "consistency {first} to {second}");
        merkle::verify_consistency(first, second, &path, &root_of(first), &root_of(second)).unwrap();
    }
}

fn b64(value: &Value) -> Hash32 {
    b64_optional(value).unwrap()
}

/// Decodes a base64 hash; `None` for null, empty or wrong-length values, which the
/// single-entry probe files use to describe malformed input.
fn b64_optional(value: &Value) -> Option<Hash32> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(value.as_str()?).ok()?;
    bytes.try_into().ok().map(Hash32)
}

fn b64_list(value: &Value) -> Vec<Hash32> {
    value.as_array().map(|a| a.iter().map(b64).collect()).unwrap_or_default()
}

fn json_files(relative: &str) -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    let mut stack = vec![vectors_dir().join(relative)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                files.push((path, value));
            }
        }
    }
    files
}

#[test]
fn transparency_dev_inclusion_files() {
    let files = json_files("merkle/transparency-dev/inclusion");
    assert!(files.len() >= 9);
    for (path, v) in files {
        let index = v["leafIdx"].as_i64().unwrap();
        let size = v["treeSize"].as_i64().unwrap();
        let root = b64_optional(&v["root"]);
        let leaf = b64_optional(&v["leafHash"]);
        let result = if index < 0 || size < 0 {
            Err(())
        } else if let (Some(root), Some(leaf)) = (root, leaf) {
            merkle::verify_inclusion(&leaf, index as u64, size as u64, &b64_list(&v["proof"]), &root).map_err(|_| ())
        } else {
            Err(())
        };
        assert_eq!(result.is_err(), v["wantErr"].as_bool().unwrap(), "{}", path.display());
    }
}

#[test]
fn transparency_dev_consistency_files() {
    let files = json_files("merkle/transparency-dev/consistency");
    assert_eq!(files.len(), 5);
    for (path, v) in files {
        let first = v["size1"].as_u64().unwrap();
        let second = v["size2"].as_u64().unwrap();
        let proof = b64_list(&v["proof"]);
        let result = merkle::verify_consistency(first, second, &proof, &b64(&v["root1"]), &b64(&v["root2"]));
        assert_eq!(result.is_err(), v["wantErr"].as_bool().unwrap(), "{}", path.display());
    }
}

#[test]
fn mutated_ct_proofs_fail() {
    // Flipping one bit of any proof hash, dropping or adding a hash, or shifting the index
    // must make every reference inclusion proof fail.
    let file = read_json("merkle/ct_reference.json");
    let hashes = hex_list(&file["leaf_hashes"]);
    for p in file["inclusion_proofs"].as_array().unwrap() {
        let index = p["leaf_index"].as_u64().unwrap();
        let size = p["tree_size"].as_u64().unwrap();
        let path = hex_list(&p["path"]);
        let root = merkle::root(&hashes[..size as usize]);
        let leaf = hashes[index as usize];
        for i in 0..path.len() {
            let mut bad = path.clone();
            bad[i].0[0] ^= 1;
            assert!(merkle::verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
        if !path.is_empty() {
            assert!(merkle::verify_inclusion(&leaf, index, size, &path[1..], &root).is_err());
        }
        let mut longer = path.clone();
        longer.push(Hash32::ZERO);
        assert!(merkle::verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        if index + 1 < size {
            let smaller_root = merkle::root(&hashes[..size as usize - 1]);
            assert!(merkle::verify_inclusion(&leaf, index, size, &path, &smaller_root).is_err());
        }
    }
}
