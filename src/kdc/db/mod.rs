//! The principal database behind the KDC: one interface, several stores behind it (the model is
//! Heimdal's `lib/hdb`).
//!
//! - the interface (`store.rs`): [`PrincipalStore`], through which the KDC reads and writes
//!   principals, and the records it holds ([`PrincipalEntry`], [`KeyEntry`]);
//! - the stores: [`MemoryStore`] (`memory.rs`, in memory), [`SqliteStore`] ([`sqlite`], one
//!   SQLite file) and [`PostgresStore`] ([`postgres`], one PostgreSQL database shared by many
//!   KDCs); [`RealmDatabase`] (`database.rs`) is either database store, as a realm is opened;
//! - `cache.rs`: the read cache both database stores keep; [`dump`]: moving a realm between
//!   databases (the dump format);
//! - [`master_key`]: the realm master key that encrypts long-term keys at rest in a database
//!   store, its stash file, and how a key is wrapped under it.

mod cache;
mod database;
pub mod dump;
pub mod master_key;
mod memory;
pub mod postgres;
pub mod sqlite;
mod store;

pub use database::RealmDatabase;
pub use master_key::{stash_path, MasterKey};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::{DatabaseInfo, SqliteStore};
pub use store::{password_classes, KeepKeys, KeyEntry, NewKeys, Policy, PrincipalEntry, PrincipalStore};
