//! The files an operator writes or generates: the genesis file shared by every node, the
//! node config file each node reads, and the generator behind `hashbridge chain new`.
//!
//! Both files are TOML, parsed into typed structs with defaults and then validated. A
//! validation error names the field, the value and the fix.

pub mod generate;
pub mod genesis;
pub mod node;

pub use genesis::{Genesis, GenesisError};
pub use node::{NodeConfig, NodeConfigError};
