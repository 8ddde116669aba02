use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use hashbridge_crypto::merkle::{self, Frontier, ProofError, SubtreeHashes};
use hashbridge_crypto::Hash32;
use hashbridge_ledger::{BlockExecution, StateReader};
use hashbridge_types::codec::{self, Canonical, CodecError};
use hashbridge_types::{AnchorState, Block, BlockHeader, CertifiedBlock, CommitCertificate, LogEntry, TransactionLocation};
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, Options, WriteBatch, WriteOptions, DB};
use thiserror::Error;

/// Version of the on-disk layout; a store of another version is not opened.
pub const SCHEMA_VERSION: u32 = 1;

const CF_META: &str = "meta";
const CF_HEADERS: &str = "headers";
const CF_BLOCKS: &str = "blocks";
const CF_CERTIFICATES: &str = "certificates";
const CF_BLOCK_INDEX: &str = "block_index";
const CF_TRANSACTIONS: &str = "transactions";
const CF_ANCHORS: &str = "anchors";
const CF_LOG_ENTRIES: &str = "log_entries";
const CF_LOG_NODES: &str = "log_nodes";
const CF_CONSENSUS: &str = "consensus";

const ALL_FAMILIES: [&str; 10] = [
    CF_META,
    CF_HEADERS,
    CF_BLOCKS,
    CF_CERTIFICATES,
    CF_BLOCK_INDEX,
    CF_TRANSACTIONS,
    CF_ANCHORS,
    CF_LOG_ENTRIES,
    CF_LOG_NODES,
    CF_CONSENSUS,
];

const KEY_SCHEMA: &[u8] = b"schema_version";
const KEY_GENESIS: &[u8] = b"genesis_hash";
const KEY_HEAD: &[u8] = b"head";
const KEY_FRONTIER: &[u8] = b"log_frontier";

/// A failed store operation. The node treats every variant as fatal and stops.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("RocksDB error in {path}: {source}")]
    Rocks { path: PathBuf, source: rocksdb::Error },
    #[error("store {path} is corrupt: {detail}. Stop the node, move the data folder aside (keep it for diagnosis), and start the node with an empty data folder to resync from peers; see docs/operations.md")]
    Corrupt { path: PathBuf, detail: String },
    #[error("data folder {path} belongs to the chain with genesis {found}, but the genesis file given has hash {expected}; point the node at the right genesis file or at another data folder")]
    WrongChain { path: PathBuf, expected: Hash32, found: Hash32 },
    #[error("data folder {path} has schema version {found}, but this build reads version {SCHEMA_VERSION}")]
    WrongSchema { path: PathBuf, found: u32 },
    #[error("block {height} does not extend the head at height {head}")]
    NotNext { height: u64, head: u64 },
    #[error("decoding a stored record failed: {0}")]
    Codec(#[from] CodecError),
}

/// The latest committed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Head {
    pub height: u64,
    pub hash: Hash32,
    pub timestamp_ms: u64,
}

impl Canonical for Head {
    const MAX_ENCODED_BYTES: usize = 64;
    const NAME: &'static str = "head record";
}

#[derive(bincode::Encode, bincode::Decode)]
struct FrontierRecord {
    size: u64,
    peaks: Vec<Hash32>,
}

impl Canonical for FrontierRecord {
    const MAX_ENCODED_BYTES: usize = 64 * 33 + 16;
    const NAME: &'static str = "log frontier";
}

/// The RocksDB store of one node. The runtime commits to it and the API reads from it.
/// The cached head and frontier are behind one lock, so readers see them change together.
pub struct Store {
    db: DB,
    path: PathBuf,
    genesis_hash: Hash32,
    tip: RwLock<Tip>,
}

#[derive(Debug, Clone, Default)]
struct Tip {
    head: Option<Head>,
    frontier: Frontier,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).field("head", &self.head()).finish_non_exhaustive()
    }
}

fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

fn node_key(size: u64, start: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&size.to_be_bytes());
    key[8..].copy_from_slice(&start.to_be_bytes());
    key
}

impl Store {
    /// Opens or creates the store in `path` for the chain with `genesis_hash`, then checks
    /// its integrity.
    pub fn open(path: &Path, genesis_hash: Hash32) -> Result<Self, StorageError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        options.set_keep_log_file_num(4);
        // The default recovery mode silently drops write-ahead log records after the first
        // damaged one, which would lose synced blocks and votes. This mode reports any
        // damage instead. A killed process cannot tear a record, because every write is one
        // synced write call. A power loss during a write can, and then the store is reported
        // corrupt and the operator resyncs the node into an empty data folder.
        options.set_wal_recovery_mode(rocksdb::DBRecoveryMode::AbsoluteConsistency);
        let families = ALL_FAMILIES.iter().map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&options, path, families)
            .map_err(|source| StorageError::Rocks { path: path.to_path_buf(), source })?;

        let mut store = Store { db, path: path.to_path_buf(), genesis_hash, tip: RwLock::new(Tip::default()) };
        store.initialize_or_check_identity()?;
        store.load_head()?;
        store.check_integrity()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn genesis_hash(&self) -> Hash32 {
        self.genesis_hash
    }

    fn tip(&self) -> RwLockReadGuard<'_, Tip> {
        // Writers only assign a whole new `Tip` under the lock, so even a poisoned lock
        // contains a consistent tip.
        self.tip.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn tip_mut(&self) -> RwLockWriteGuard<'_, Tip> {
        self.tip.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The latest committed block, or `None` before block 1.
    pub fn head(&self) -> Option<Head> {
        self.tip().head
    }

    /// Height of the latest committed block, 0 before block 1.
    pub fn height(&self) -> u64 {
        self.head().map_or(0, |h| h.height)
    }

    /// Hash of the latest committed block, or the genesis hash before block 1.
    pub fn head_hash(&self) -> Hash32 {
        self.head().map_or(self.genesis_hash, |h| h.hash)
    }

    /// The anchor log's frontier after the latest committed block.
    pub fn frontier(&self) -> Frontier {
        self.tip().frontier.clone()
    }

    /// The head and the log frontier, read together.
    pub fn head_and_frontier(&self) -> (Option<Head>, Frontier) {
        let tip = self.tip();
        (tip.head, tip.frontier.clone())
    }

    fn rocks(&self) -> impl Fn(rocksdb::Error) -> StorageError + '_ {
        |source| StorageError::Rocks { path: self.path.clone(), source }
    }

    fn corrupt(&self, detail: impl Into<String>) -> StorageError {
        StorageError::Corrupt { path: self.path.clone(), detail: detail.into() }
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily, StorageError> {
        self.db.cf_handle(name).ok_or_else(|| self.corrupt(format!("column family {name} is missing")))
    }

    fn get(&self, family: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let cf = self.cf(family)?;
        self.db.get_cf(cf, key).map_err(self.rocks())
    }

    fn get_decoded<T: Canonical>(&self, family: &str, key: &[u8]) -> Result<Option<T>, StorageError> {
        match self.get(family, key)? {
            None => Ok(None),
            Some(bytes) => codec::decode(&bytes).map(Some).map_err(|e| self.corrupt(format!("{family}: {e}"))),
        }
    }

    fn initialize_or_check_identity(&mut self) -> Result<(), StorageError> {
        let schema = self.get(CF_META, KEY_SCHEMA)?;
        let genesis = self.get(CF_META, KEY_GENESIS)?;
        match (schema, genesis) {
            (None, None) => {
                let meta = self.cf(CF_META)?;
                let mut batch = WriteBatch::default();
                batch.put_cf(meta, KEY_SCHEMA, SCHEMA_VERSION.to_be_bytes());
                batch.put_cf(meta, KEY_GENESIS, self.genesis_hash.0);
                self.write_synced(batch)
            }
            (Some(schema), Some(genesis)) => {
                let found_schema = <[u8; 4]>::try_from(schema.as_slice()).map(u32::from_be_bytes).map_err(|_| self.corrupt("schema version record has the wrong length"))?;
                if found_schema != SCHEMA_VERSION {
                    return Err(StorageError::WrongSchema { path: self.path.clone(), found: found_schema });
                }
                let found = <[u8; 32]>::try_from(genesis.as_slice()).map(Hash32).map_err(|_| self.corrupt("genesis hash record has the wrong length"))?;
                if found != self.genesis_hash {
                    return Err(StorageError::WrongChain { path: self.path.clone(), expected: self.genesis_hash, found });
                }
                Ok(())
            }
            _ => Err(self.corrupt("only one of the schema version and genesis hash records is present")),
        }
    }

    fn load_head(&mut self) -> Result<(), StorageError> {
        let head = self.get_decoded::<Head>(CF_META, KEY_HEAD)?;
        let frontier = match self.get_decoded::<FrontierRecord>(CF_META, KEY_FRONTIER)? {
            None => Frontier::default(),
            Some(record) => Frontier::from_parts(record.size, record.peaks).ok_or_else(|| self.corrupt("log frontier has the wrong number of peaks for its size"))?,
        };
        *self.tip_mut() = Tip { head, frontier };
        Ok(())
    }

    /// Checks that the head block, its certificate, the block index and the log frontier
    /// agree, and that nothing was written past the head.
    fn check_integrity(&self) -> Result<(), StorageError> {
        let (head, frontier) = self.head_and_frontier();
        let Some(head) = head else {
            if frontier.size() != 0 {
                return Err(self.corrupt("the log has entries but no block is recorded as head"));
            }
            return Ok(());
        };
        let header = self.header(head.height)?.ok_or_else(|| self.corrupt(format!("head block {} has no header", head.height)))?;
        if header.hash() != head.hash {
            return Err(self.corrupt(format!("header at height {} hashes to {}, but the head record says {}", head.height, header.hash(), head.hash)));
        }
        if self.block(head.height)?.is_none() {
            return Err(self.corrupt(format!("head block {} has no body", head.height)));
        }
        let certificate = self.certificate(head.height)?.ok_or_else(|| self.corrupt(format!("head block {} has no commit certificate", head.height)))?;
        if certificate.block_hash != head.hash {
            return Err(self.corrupt(format!("certificate at height {} is for another block", head.height)));
        }
        if frontier.size() != header.log_size || frontier.root() != header.log_root {
            return Err(self.corrupt(format!(
                "anchor log has size {} and root {}, but head block {} records size {} and root {}",
                frontier.size(),
                frontier.root(),
                head.height,
                header.log_size,
                header.log_root
            )));
        }
        if head.height > 1 {
            let parent = self.header(head.height - 1)?.ok_or_else(|| self.corrupt(format!("block {} is missing", head.height - 1)))?;
            if parent.hash() != header.parent_hash {
                return Err(self.corrupt(format!("block {} does not link to block {}", head.height, head.height - 1)));
            }
        }
        if self.get(CF_HEADERS, &height_key(head.height + 1))?.is_some() {
            return Err(self.corrupt(format!("a header exists at height {} above the head {}", head.height + 1, head.height)));
        }
        Ok(())
    }

    fn write_synced(&self, batch: WriteBatch) -> Result<(), StorageError> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(batch, &options).map_err(self.rocks())
    }

    /// Writes a committed block, its certificate and everything its execution changed in
    /// one synced batch, then advances the head. Only one caller may commit at a time.
    pub fn commit_block(&self, certified: &CertifiedBlock, execution: &BlockExecution) -> Result<(), StorageError> {
        let header = &certified.block.header;
        let height = header.height;
        if height != self.height() + 1 || header.parent_hash != self.head_hash() {
            return Err(StorageError::NotNext { height, head: self.height() });
        }
        let hash = header.hash();
        let key = height_key(height);
        let mut batch = WriteBatch::default();

        batch.put_cf(self.cf(CF_HEADERS)?, key, codec::encode(header));
        batch.put_cf(self.cf(CF_BLOCKS)?, key, codec::encode(&certified.block));
        batch.put_cf(self.cf(CF_CERTIFICATES)?, key, codec::encode(&certified.certificate));
        batch.put_cf(self.cf(CF_BLOCK_INDEX)?, hash.0, key);

        let transactions = self.cf(CF_TRANSACTIONS)?;
        for (index, outcome) in execution.outcomes.iter().enumerate() {
            let location = TransactionLocation { height, index: index as u32, result: outcome.result };
            batch.put_cf(transactions, outcome.id.0, codec::encode(&location));
        }
        let anchors = self.cf(CF_ANCHORS)?;
        for (commitment, state) in &execution.anchors {
            batch.put_cf(anchors, commitment.0, codec::encode(state));
        }
        let entries = self.cf(CF_LOG_ENTRIES)?;
        let nodes = self.cf(CF_LOG_NODES)?;
        for ((index, entry), leaf) in execution.log_entries.iter().zip(&execution.leaf_hashes) {
            batch.put_cf(entries, height_key(*index), codec::encode(entry));
            batch.put_cf(nodes, node_key(1, *index), leaf.0);
        }
        for subtree in &execution.completed_subtrees {
            batch.put_cf(nodes, node_key(subtree.size, subtree.start), subtree.hash.0);
        }

        let head = Head { height, hash, timestamp_ms: header.timestamp_ms };
        let frontier = FrontierRecord { size: execution.frontier.size(), peaks: execution.frontier.peaks().to_vec() };
        let meta = self.cf(CF_META)?;
        batch.put_cf(meta, KEY_HEAD, codec::encode(&head));
        batch.put_cf(meta, KEY_FRONTIER, codec::encode(&frontier));

        // Readers of the tip wait for the write, so a proof is never asked of a log size
        // the cached tip does not know yet.
        let mut tip = self.tip_mut();
        self.write_synced(batch)?;
        *tip = Tip { head: Some(head), frontier: execution.frontier.clone() };
        Ok(())
    }

    pub fn header(&self, height: u64) -> Result<Option<BlockHeader>, StorageError> {
        self.get_decoded(CF_HEADERS, &height_key(height))
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, StorageError> {
        self.get_decoded(CF_BLOCKS, &height_key(height))
    }

    pub fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StorageError> {
        self.get_decoded(CF_CERTIFICATES, &height_key(height))
    }

    pub fn certified_block(&self, height: u64) -> Result<Option<CertifiedBlock>, StorageError> {
        let (Some(block), Some(certificate)) = (self.block(height)?, self.certificate(height)?) else {
            return Ok(None);
        };
        Ok(Some(CertifiedBlock { block, certificate }))
    }

    pub fn height_of_block(&self, hash: &Hash32) -> Result<Option<u64>, StorageError> {
        match self.get(CF_BLOCK_INDEX, &hash.0)? {
            None => Ok(None),
            Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice()).map(|b| Some(u64::from_be_bytes(b))).map_err(|_| self.corrupt("block index entry has the wrong length")),
        }
    }

    pub fn anchor_state(&self, commitment: &Hash32) -> Result<Option<AnchorState>, StorageError> {
        self.get_decoded(CF_ANCHORS, &commitment.0)
    }

    pub fn transaction_location(&self, id: &Hash32) -> Result<Option<TransactionLocation>, StorageError> {
        self.get_decoded(CF_TRANSACTIONS, &id.0)
    }

    pub fn log_entry(&self, index: u64) -> Result<Option<LogEntry>, StorageError> {
        self.get_decoded(CF_LOG_ENTRIES, &height_key(index))
    }

    /// The inclusion proof of log entry `index` in the log of `tree_size` entries.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash32>, StorageError> {
        let log_size = self.frontier().size();
        if tree_size > log_size {
            return Err(self.corrupt(format!("proof requested for log size {tree_size}, beyond the log's size {log_size}")));
        }
        merkle::inclusion_proof(self, index, tree_size).map_err(|e| match e {
            ProofError::Source(source) => source,
            other => self.corrupt(other.to_string()),
        })
    }

    /// Writes one consensus record with `sync`, so it survives a crash once this returns.
    pub fn put_consensus(&self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_CONSENSUS)?, key, value);
        self.write_synced(batch)
    }

    pub fn get_consensus(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.get(CF_CONSENSUS, key)
    }

    /// Every consensus record whose key starts with `prefix`, in key order.
    pub fn consensus_records(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
        let cf = self.cf(CF_CONSENSUS)?;
        let mut records = Vec::new();
        for item in self.db.prefix_iterator_cf(cf, prefix) {
            let (key, value) = item.map_err(self.rocks())?;
            if !key.starts_with(prefix) {
                break;
            }
            records.push((key.to_vec(), value.to_vec()));
        }
        Ok(records)
    }

    /// Deletes consensus records with keys in `[from, to)`.
    pub fn delete_consensus_range(&self, from: &[u8], to: &[u8]) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_CONSENSUS)?, from, to);
        self.write_synced(batch)
    }
}

impl SubtreeHashes for Store {
    type Error = StorageError;

    fn subtree_hash(&self, start: u64, size: u64) -> Result<Hash32, StorageError> {
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        if size.is_power_of_two() && start % size == 0 {
            let bytes = self.get(CF_LOG_NODES, &node_key(size, start))?.ok_or_else(|| self.corrupt(format!("log node for {size} entries at {start} is missing")))?;
            return <[u8; 32]>::try_from(bytes.as_slice()).map(Hash32).map_err(|_| self.corrupt("log node has the wrong length"));
        }
        // The left part of an RFC 6962 split is always a perfect, aligned subtree.
        let k = 1u64 << (63 - (size - 1).leading_zeros());
        let left = self.subtree_hash(start, k)?;
        let right = self.subtree_hash(start + k, size - k)?;
        Ok(merkle::node_hash(&left, &right))
    }
}

impl StateReader for Store {
    type Error = StorageError;

    fn anchor(&self, commitment: &Hash32) -> Result<Option<AnchorState>, StorageError> {
        self.anchor_state(commitment)
    }

    fn transaction(&self, id: &Hash32) -> Result<Option<TransactionLocation>, StorageError> {
        self.transaction_location(id)
    }
}
