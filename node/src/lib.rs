//! The rxchain node: chain types, storage, execution, mempool, API and the runtime that ties
//! them together.
//!
//! How the parts fit, from the bottom up:
//! - [`hash`]: SM3 everywhere, and RFC 6962-style Merkle trees (leaf and inner nodes
//!   domain-separated) with inclusion proofs.
//! - [`transaction`], [`block`], [`receipt`]: the chain's data, with one canonical binary encoding
//!   (borsh behind a version byte) for everything that is hashed or signed; Ed25519 signatures
//!   verified strictly.
//! - [`storage`]: RocksDB with a column family per kind; a block and all its effects commit in
//!   one synced write batch.
//! - [`executor`]: runs a block's transactions through the wasmtime contract host against an
//!   overlay of the committed state and produces receipts, indexed events and the state root.
//! - [`mempool`]: admitted transactions per sender in nonce order, with explicit limits.
//! - [`validation`]: the admission checks and their precise error codes.
//! - [`runtime`]: the node itself: admission, the consensus driver (engines are pure, the driver
//!   does I/O and time), block building, commit, and notification of waiters.
//! - [`network`]: libp2p networking (Noise, Yamux, gossip, request-response), allow-listed to
//!   the consortium's node keys; the PBFT replica driver (`runtime::replica`) runs on it.
//! - [`api`]: the HTTP API (axum) with one error type mapped to JSON.
//! - [`epcis`]: EPCIS 2.0 capture (validated, mapped to trace contract calls, anchored) and
//!   queries, per the standard's REST binding.
//! - [`proof`] and [`verification`]: proof bundles checkable offline, and the consumer-facing
//!   GS1 Digital Link verification page (HTML for people, the bundle as JSON for programs).

pub mod api;
pub mod block;
pub mod epcis;
pub mod error;
pub mod executor;
pub mod hash;
pub mod label;
pub mod mempool;
pub mod metrics;
pub mod network;
pub mod proof;
pub mod raft;
pub mod receipt;
pub mod runtime;
pub mod signature;
pub mod state;
pub mod storage;
pub mod transaction;
pub mod validation;
pub mod verification;

pub use error::NodeError;
pub use runtime::{Node, NodeConfig};
pub use transaction::{SignedTransaction, TransactionBody};
pub use validation::TransactionError;
