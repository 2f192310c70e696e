//! The principal database behind the KDC: one interface, several stores behind it (the model is
//! Heimdal's `lib/hdb`).
//!
//! - the interface (`store.rs`): [`PrincipalStore`], through which the KDC reads and writes
//!   principals, and the records it holds ([`PrincipalEntry`], [`KeyEntry`]);
//! - the stores: [`MemoryStore`] (`memory.rs`, in memory) and [`SqliteStore`] ([`sqlite`], one
//!   SQLite file); a PostgreSQL store is to go beside the SQLite one;
//! - [`master_key`]: the realm master key that encrypts long-term keys at rest in a database
//!   store, its stash file, and how a key is wrapped under it.

pub mod master_key;
mod memory;
pub mod sqlite;
mod store;

pub use master_key::{stash_path, MasterKey};
pub use memory::MemoryStore;
pub use sqlite::{DatabaseInfo, SqliteStore};
pub use store::{password_classes, KeepKeys, KeyEntry, NewKeys, Policy, PrincipalEntry, PrincipalStore};
