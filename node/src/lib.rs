//! The rxchain node, the chain core: chain types, storage, execution, mempool, consensus
//! drivers, API core and the runtime that ties them together. It knows no domain.
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
//! - [`proof`]: proof material, a committed transaction with its Merkle proofs, header and
//!   finality certificate, checkable offline against the genesis validator set.
//! - [`codec`]: JSON ⇄ canonical bytes of contract calls, results and events, one codec per
//!   contract.
//! - [`client`]: the chain client domain code uses (submit, status, wait for finality, query,
//!   events, head, proof material), in process or over HTTP with the same behaviour.
//! - [`app`]: the application seam. A domain (traceability, prescriptions, cold chain) is an
//!   [`app::AppModule`] in a crate of its own under `node/apps/`: its system contracts, codecs,
//!   routes and pages, and a storage namespace. This crate names no domain; the `rxchain`
//!   binary's crate composes the modules.
//! - [`api`]: the HTTP API core (axum) with one error type mapped to JSON; it merges the
//!   modules' routes.

pub mod api;
pub mod app;
pub mod block;
pub mod client;
pub mod codec;
pub mod error;
pub mod executor;
pub mod hash;
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

pub use error::NodeError;
pub use runtime::{Node, NodeConfig};
pub use transaction::{SignedTransaction, TransactionBody};
pub use validation::TransactionError;
