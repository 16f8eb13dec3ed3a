//! A PBFT replica driven step by step, for whole-node deterministic simulation.
//!
//! The replica is the real driver (engine, body rules, execution in wasmtime, RocksDB commits,
//! finality certificates, block sync, the request timer) with the two things a simulation must
//! own taken out: time, which it reads from the node's [`crate::runtime::Clock`] (a virtual
//! one), and the network, which is an outbox the simulation empties and delivers with the
//! latency, loss and order it draws from its seed. A simulation calls [`SimulatedReplica::step`]
//! where the real driver's thread would take a pass, and [`SimulatedReplica::receive`] where
//! the libp2p bridge would hand it a message. It can also make one replica Byzantine
//! ([`ByzantineMode`]); outside a simulation only a node with fault injection can be.

use super::{DriverMessage, PROPOSALS_IN_FLIGHT_DEFAULT, Replica};
use crate::NodeError;
use crate::network::ConsensusTag;
use crate::runtime::Node;

pub use super::byzantine::ByzantineMode;

/// Something a replica sent.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: [u8; 32],
    pub message: OutgoingMessage,
}

#[derive(Clone, Debug)]
pub enum OutgoingMessage {
    /// For the receiver's [`SimulatedReplica::receive`].
    Consensus(Vec<u8>),
    /// A block sync request: the receiver's node answers it ([`answer_sync`]) and the answer
    /// goes to the sender's [`SimulatedReplica::synced`].
    SyncRequest(Vec<u8>),
}

/// A replica whose passes and messages a simulation drives.
pub struct SimulatedReplica {
    node: Node,
    replica: Replica,
}

impl SimulatedReplica {
    /// The replica of `node` (opened on a PBFT chain, usually with a virtual clock), honest
    /// unless `byzantine` says how it misbehaves.
    pub fn new(node: &Node, byzantine: Option<ByzantineMode>) -> Result<Self, NodeError> {
        let replica = Replica::new(
            node,
            super::Outbound::Simulated(Vec::new()),
            PROPOSALS_IN_FLIGHT_DEFAULT,
            byzantine,
        )?;
        Ok(SimulatedReplica {
            node: node.clone(),
            replica,
        })
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// A message from validator `from`, as the network bridge hands it over: forwarded
    /// transactions go to admission, everything else to the driver.
    pub fn receive(&mut self, from: [u8; 32], bytes: &[u8]) {
        match ConsensusTag::of(bytes) {
            Some(ConsensusTag::ForwardedTransactions) => {
                crate::runtime::bridge::admit_forwarded(&self.node, &bytes[1..]);
            }
            _ => self.handle(DriverMessage::Consensus {
                from,
                bytes: bytes.to_vec(),
            }),
        }
    }

    /// The answer to this replica's block sync request to `from`.
    pub fn synced(&mut self, from: [u8; 32], result: Result<Vec<u8>, String>) {
        self.handle(DriverMessage::Synced { from, result });
    }

    fn handle(&mut self, message: DriverMessage) {
        if self.replica.halted {
            return;
        }
        self.replica.inner.take_wake();
        match message {
            DriverMessage::Consensus { from, bytes } => self.replica.receive(from, &bytes),
            DriverMessage::Synced { from, result } => self.replica.synced(from, result),
            _ => {}
        }
    }

    /// One pass of the driver at the clock's time: ticks, proposals, commits, sync.
    pub fn step(&mut self) {
        if !self.replica.halted {
            self.replica.inner.take_wake();
            self.replica.step();
        }
    }

    /// What the replica sent since the last call, in order.
    pub fn take_outgoing(&mut self) -> Vec<Outgoing> {
        match &mut self.replica.outbound {
            super::Outbound::Simulated(outbox) => std::mem::take(outbox),
            super::Outbound::Network { .. } => unreachable!("a simulated replica has an outbox"),
        }
    }

    /// The view the replica's engine is in.
    pub fn view(&self) -> u64 {
        self.replica.engine.view()
    }

    /// The primary of the view the replica is in.
    pub fn primary(&self) -> [u8; 32] {
        self.replica.engine.primary()
    }

    /// The primary of `view`.
    pub fn primary_of(&self, view: u64) -> [u8; 32] {
        self.replica.engine.primary_of(view)
    }

    /// Entries the replica keeps for blocks above its head: executed blocks, bodies,
    /// waiting pre-prepares, finality signatures (each bounded; a simulation checks the
    /// bounds).
    pub fn pending(&self) -> Pending {
        Pending {
            executed: self.replica.executed.len(),
            bodies: self.replica.bodies.len(),
            waiting: self.replica.waiting.len(),
            finality_signatures: self.replica.finality.len(),
        }
    }
}

/// How much a replica holds for blocks above its head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    pub executed: usize,
    pub bodies: usize,
    pub waiting: usize,
    pub finality_signatures: usize,
}

impl std::fmt::Debug for SimulatedReplica {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SimulatedReplica")
            .field("node", &self.node)
            .field("view", &self.view())
            .finish()
    }
}

/// The answer `node` gives a block sync request (what the bridge answers on the network).
pub fn answer_sync(node: &Node, request: &[u8]) -> Vec<u8> {
    super::super::block_sync::serve_sync(node.storage(), request)
}
