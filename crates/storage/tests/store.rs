//! Store tests on a real RocksDB in a temporary folder.

use hashbridge_config::genesis::{ConsensusParams, Genesis, Institution, InstitutionRole, NodeEntry, NodeRole};
use hashbridge_crypto::keys::KeyPurpose;
use hashbridge_crypto::merkle;
use hashbridge_crypto::{Hash32, KeyPair};
use hashbridge_ledger::{check_includable, execute_block, BlockExecution, LedgerContext};
use hashbridge_storage::{StorageError, Store};
use hashbridge_types::block::transaction_root;
use hashbridge_types::{
    Action, AnchorRecord, AnchorStatus, Block, BlockHeader, CertifiedBlock, CommitCertificate, Nonce, ResultCode, RevocationReason,
    Transaction, TransactionPayload, ValidatorSignature, VotePhase, VoteStatement,
};

struct Chain {
    genesis: Genesis,
    validators: Vec<KeyPair>,
    issuer: KeyPair,
    other_issuer: KeyPair,
}

fn chain() -> Chain {
    let validators: Vec<KeyPair> = (0..4).map(|i| KeyPair::from_seed([10 + i; 32], KeyPurpose::Node)).collect();
    let issuer = KeyPair::from_seed([1; 32], KeyPurpose::Account);
    let other_issuer = KeyPair::from_seed([2; 32], KeyPurpose::Account);
    let institution = |id: &str, key: &KeyPair| Institution {
        id: id.into(),
        name: id.into(),
        jurisdiction: "HK".into(),
        roles: vec![InstitutionRole::Issuer],
        account_keys: vec![key.public_key()],
    };
    let genesis = Genesis {
        chain_id: "store-test".into(),
        crypto_suite: "sha256-ed25519".into(),
        consensus: ConsensusParams::default(),
        institutions: vec![institution("sz-credit", &issuer), institution("hk-credit", &other_issuer)],
        nodes: validators
            .iter()
            .enumerate()
            .map(|(i, k)| NodeEntry { name: format!("v{i}"), public_key: k.public_key(), institution: "sz-credit".into(), role: NodeRole::Validator, weight: 1 })
            .collect(),
    };
    genesis.validate().unwrap();
    Chain { genesis, validators, issuer, other_issuer }
}

fn record(byte: u8) -> AnchorRecord {
    AnchorRecord { commitment: Hash32([byte; 32]), kind: "credit.personal".into(), issued_at_ms: 1, expires_at_ms: None, metadata: vec![] }
}

fn sign(key: &KeyPair, nonce: u8, action: Action) -> Transaction {
    TransactionPayload { chain_id: "store-test".into(), sender: key.public_key(), nonce: Nonce([nonce; 16]), valid_until: 100, action }.sign(key)
}

/// Executes `txs` on top of the store and commits them with a real certificate.
fn commit(store: &mut Store, chain: &Chain, txs: Vec<Transaction>) -> BlockExecution {
    let ctx = LedgerContext::from_genesis(&chain.genesis);
    let height = store.height() + 1;
    let ids: Vec<(Hash32, &Transaction)> = txs.iter().map(|tx| (check_includable(&ctx, &*store, height, tx).unwrap(), tx)).collect();
    let execution = execute_block(&ctx, &*store, &store.frontier(), height, 1000 + height, &ids).unwrap();
    let header = BlockHeader {
        height,
        parent_hash: store.head_hash(),
        timestamp_ms: 1000 + height,
        proposer: chain.validators[0].public_key(),
        transaction_root: transaction_root(&txs),
        transaction_count: txs.len() as u32,
        log_root: execution.log_root(),
        log_size: execution.log_size(),
        validator_set_hash: chain.genesis.validator_set().hash(),
    };
    let hash = header.hash();
    let digest = VoteStatement { chain_id: "store-test", phase: VotePhase::Commit, height, view: 0, block_hash: hash }.digest();
    let signatures = chain.validators[..3]
        .iter()
        .map(|k| ValidatorSignature { validator: k.public_key(), signature: k.sign(digest.as_bytes()) })
        .collect();
    let certificate = CommitCertificate { height, view: 0, block_hash: hash, signatures };
    certificate.verify("store-test", &chain.genesis.validator_set(), height, &hash).unwrap();
    store.commit_block(&CertifiedBlock { block: Block { header, transactions: txs }, certificate }, &execution).unwrap();
    execution
}

#[test]
fn commit_index_and_reopen() {
    let chain = chain();
    let dir = tempfile::tempdir().unwrap();
    let genesis_hash = chain.genesis.hash();
    let anchor_tx = sign(&chain.issuer, 1, Action::AnchorBatch { anchors: (1..=5).map(record).collect() });
    let anchor_id = anchor_tx.id();
    {
        let mut store = Store::open(dir.path(), genesis_hash).unwrap();
        commit(&mut store, &chain, vec![anchor_tx.clone()]);
        let second = commit(
            &mut store,
            &chain,
            vec![
                sign(&chain.issuer, 2, Action::Anchor(record(1))),
                sign(&chain.other_issuer, 3, Action::Revoke { commitment: Hash32([2; 32]), reason: RevocationReason::Withdrawn }),
                sign(&chain.issuer, 4, Action::Revoke { commitment: Hash32([2; 32]), reason: RevocationReason::Withdrawn }),
                sign(&chain.issuer, 5, Action::Supersede { old: Hash32([3; 32]), replacement: record(6) }),
            ],
        );
        let results: Vec<ResultCode> = second.outcomes.iter().map(|o| o.result).collect();
        assert_eq!(results, [ResultCode::DuplicateCommitment, ResultCode::NotIssuer, ResultCode::Ok, ResultCode::Ok]);
    }

    let store = Store::open(dir.path(), genesis_hash).unwrap();
    assert_eq!(store.height(), 2);
    assert_eq!(store.transaction_location(&anchor_id).unwrap().unwrap().height, 1);
    assert!(matches!(store.anchor_state(&Hash32([2; 32])).unwrap().unwrap().status, AnchorStatus::Revoked { height: 2, .. }));
    assert!(matches!(store.anchor_state(&Hash32([3; 32])).unwrap().unwrap().status, AnchorStatus::Superseded { by, .. } if by == Hash32([6; 32])));
    assert!(store.anchor_state(&Hash32([6; 32])).unwrap().unwrap().status.is_active());

    // Every log entry proves into the head's log root.
    let header = store.header(2).unwrap().unwrap();
    for index in 0..header.log_size {
        let entry = store.log_entry(index).unwrap().unwrap();
        let proof = store.inclusion_proof(index, header.log_size).unwrap();
        merkle::verify_inclusion(&entry.leaf_hash(), index, header.log_size, &proof, &header.log_root).unwrap();
    }
    // A replayed transaction is not includable.
    let ctx = LedgerContext::from_genesis(&chain.genesis);
    assert!(check_includable(&ctx, &store, 3, &anchor_tx).is_err());
}

#[test]
fn wrong_genesis_is_rejected() {
    let chain = chain();
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), chain.genesis.hash()).unwrap());
    let err = Store::open(dir.path(), Hash32([9; 32])).unwrap_err();
    assert!(matches!(err, StorageError::WrongChain { .. }), "{err}");
}

#[test]
fn torn_store_is_reported() {
    let chain = chain();
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::open(dir.path(), chain.genesis.hash()).unwrap();
        commit(&mut store, &chain, vec![sign(&chain.issuer, 1, Action::Anchor(record(1)))]);
        commit(&mut store, &chain, vec![sign(&chain.issuer, 2, Action::Anchor(record(2)))]);
    }
    // Remove the head's certificate behind the store's back, as a torn write would.
    {
        let families = ["meta", "headers", "blocks", "certificates", "block_index", "transactions", "anchors", "log_entries", "log_nodes", "consensus"];
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), families).unwrap();
        db.delete_cf(db.cf_handle("certificates").unwrap(), 2u64.to_be_bytes()).unwrap();
    }
    let err = Store::open(dir.path(), chain.genesis.hash()).unwrap_err().to_string();
    assert!(err.contains("is corrupt") && err.contains("no commit certificate"), "{err}");
    assert!(err.contains("empty data folder"), "the message says what to do: {err}");
}

#[test]
fn consensus_records_round_trip() {
    let chain = chain();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), chain.genesis.hash()).unwrap();
    store.put_consensus(b"vote/0001", b"a").unwrap();
    store.put_consensus(b"vote/0002", b"b").unwrap();
    store.put_consensus(b"other", b"c").unwrap();
    let votes = store.consensus_records(b"vote/").unwrap();
    assert_eq!(votes.len(), 2);
    store.delete_consensus_range(b"vote/0001", b"vote/0002").unwrap();
    assert_eq!(store.consensus_records(b"vote/").unwrap().len(), 1);
}
