//! The node's RocksDB store.
//!
//! Column families:
//!
//! | family | key | value |
//! |---|---|---|
//! | `meta` | name | schema version, genesis hash, head, log frontier |
//! | `headers` | height (u64 big-endian) | encoded `BlockHeader` |
//! | `blocks` | height | encoded `Block` |
//! | `certificates` | height | encoded `CommitCertificate` |
//! | `block_index` | block hash | height |
//! | `transactions` | transaction id | encoded `TransactionLocation` |
//! | `anchors` | commitment | encoded `AnchorState` |
//! | `log_entries` | log index | encoded `LogEntry` |
//! | `log_nodes` | subtree size, start (both u64 big-endian) | hash of that perfect subtree |
//! | `consensus` | key chosen by the consensus runtime | its persisted record |
//!
//! A committed block, its certificate and every index entry it creates are written in one
//! atomic `WriteBatch` with `sync` set, so after a crash either all of a block is found or
//! none of it. Consensus records are also written with `sync`, because a vote must be on
//! disk before it is sent. On open, [`Store::open`] checks that the head block, its
//! certificate and the log frontier agree, and reports a torn or corrupt store instead of
//! starting on it.

mod store;

pub use store::{Head, StorageError, Store, SCHEMA_VERSION};
