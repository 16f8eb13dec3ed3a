//! The task between libp2p and a multi-node driver, shared by the PBFT and Raft drivers.
//!
//! It keeps the validators dialed, counts connected peers, admits gossiped and forwarded
//! transactions, answers block sync from storage, and routes consensus requests: PBFT
//! messages go to the driver thread; Raft RPCs are answered by openraft, attestations go to
//! the driver thread. A node cut off by fault injection takes nothing in; one given an inbound
//! delay handles consensus messages and gossip that much later.

use super::{DriverMessage, Node, committed_nonce};
use crate::metrics::Metrics;
use crate::network::ConsensusTag;
use crate::network::{Channel, NetworkEvent, NetworkHandle};
use crate::raft::TypeConfig;
use crate::raft::network::answer_rpc;
use libp2p::{Multiaddr, PeerId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

/// Bytes of forwarded transactions per message, at most (under the consensus message limit).
const FORWARD_BYTES_MAX: u64 = 768 * 1024;
/// Inbound messages held back by a fault-injection delay (sleeping or ready), at most; more
/// are dropped (lost).
const DELAYED_MESSAGES_MAX: usize = 65_536;
/// Unconnected validators are dialed again this often.
const REDIAL_INTERVAL_MS: u64 = 500;

/// Where consensus requests go.
pub(super) enum ConsensusRoute {
    /// PBFT: every message to the driver thread.
    Driver(mpsc::Sender<DriverMessage>),
    /// Raft: RPCs to openraft (once it started), attestations to the driver thread.
    Raft {
        raft: Arc<OnceLock<openraft::Raft<TypeConfig>>>,
        driver: mpsc::Sender<DriverMessage>,
    },
}

/// The ready transactions of this node's mempool (as a block would take them, up to the
/// forwarding size), tagged for the consensus channel.
pub(super) fn forwarded_transactions(
    node: &super::Inner,
    transactions_max: u32,
    bytes_max: u64,
) -> Vec<u8> {
    let transactions: Vec<Vec<u8>> = node
        .mempool
        .lock()
        .expect("mempool lock")
        .select(
            transactions_max as usize,
            bytes_max.min(FORWARD_BYTES_MAX),
            node.head.borrow().height + 1,
            |sender| committed_nonce(&node.storage, sender),
        )
        .iter()
        .map(|transaction| transaction.encode())
        .collect();
    tracing::debug!(
        count = transactions.len(),
        "forwarding waiting transactions"
    );
    let mut bytes = ConsensusTag::ForwardedTransactions.start();
    borsh::to_writer(&mut bytes, &transactions).expect("writing to a Vec cannot fail");
    bytes
}

/// Admits transactions another replica forwarded (refusals, duplicates above all, are normal).
pub(super) fn admit_forwarded(node: &Node, bytes: &[u8]) {
    match borsh::from_slice::<Vec<Vec<u8>>>(bytes) {
        Ok(transactions) => {
            for transaction in transactions {
                let _ = node.submit_from_peer(&transaction);
            }
        }
        Err(error) => tracing::warn!(%error, "undecodable forwarded transactions"),
    }
}

/// Runs until the network's event stream ends.
pub(super) async fn run(
    node: Node,
    network: NetworkHandle,
    mut events: tokio::sync::mpsc::Receiver<NetworkEvent>,
    route: ConsensusRoute,
    validators_by_peer: HashMap<PeerId, [u8; 32]>,
    addresses: Vec<Multiaddr>,
    mut all_connected: Option<tokio::sync::oneshot::Sender<()>>,
) {
    let mut connected: HashSet<PeerId> = HashSet::new();
    if validators_by_peer.is_empty()
        && let Some(sender) = all_connected.take()
    {
        let _ = sender.send(());
    }
    let mut redial = tokio::time::interval(Duration::from_millis(REDIAL_INTERVAL_MS));
    let (delayed_sender, mut delayed) = tokio::sync::mpsc::channel(DELAYED_MESSAGES_MAX);
    let held = Arc::new(AtomicUsize::new(0));
    loop {
        tokio::select! {
            _ = redial.tick() => {
                if connected.len() < validators_by_peer.len() {
                    for address in &addresses {
                        let _ = network.dial(address.clone()).await;
                    }
                }
            }
            Some(event) = delayed.recv() => {
                // Held back by fault injection; handled like any other, once.
                if !handle(&node, &network, &route, &validators_by_peer, &mut connected, event).await {
                    return;
                }
            }
            event = events.recv() => {
                let Some(event) = event else { return };
                let delay_ms = node.inbound_delay_ms();
                if delay_ms > 0
                    && matches!(
                        event,
                        NetworkEvent::Transactions { .. }
                            | NetworkEvent::Request { channel: Channel::Consensus, .. }
                    )
                {
                    // Each held message is a sleeping task: bounded, the excess is lost (as
                    // on a congested link).
                    if held.load(Ordering::Relaxed) < DELAYED_MESSAGES_MAX {
                        held.fetch_add(1, Ordering::Relaxed);
                        let delayed_sender = delayed_sender.clone();
                        let held = held.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                            let _ = delayed_sender.try_send(event);
                            held.fetch_sub(1, Ordering::Relaxed);
                        });
                    }
                    continue;
                }
                if !handle(&node, &network, &route, &validators_by_peer, &mut connected, event).await {
                    return;
                }
                if connected.len() == validators_by_peer.len()
                    && let Some(sender) = all_connected.take()
                {
                    let _ = sender.send(());
                }
            }
        }
    }
}

/// Handles one network event; `false` when the driver is gone (the bridge ends).
///
/// Long because it is one `match` over the network's events and channels.
async fn handle(
    node: &Node,
    network: &NetworkHandle,
    route: &ConsensusRoute,
    validators_by_peer: &HashMap<PeerId, [u8; 32]>,
    connected: &mut HashSet<PeerId>,
    event: NetworkEvent,
) -> bool {
    match event {
        NetworkEvent::PeerConnected(peer) => {
            if validators_by_peer.contains_key(&peer) {
                connected.insert(peer);
            }
            Metrics::set(&node.metrics().peers_connected, connected.len() as u64);
        }
        NetworkEvent::PeerDisconnected(peer) => {
            connected.remove(&peer);
            Metrics::set(&node.metrics().peers_connected, connected.len() as u64);
        }
        NetworkEvent::PeerSubscribed(_) => node.gossip_unsent(),
        NetworkEvent::Transactions { .. }
        | NetworkEvent::Request {
            channel: Channel::BlockSync,
            ..
        } if node.is_isolated() => {}
        NetworkEvent::Request {
            channel: Channel::Consensus,
            request,
            ..
        } if node.is_isolated() => {
            // An empty answer is no message: the sender treats it as lost.
            let _ = network.respond(request, Vec::new()).await;
        }
        NetworkEvent::Transactions { bytes, .. } => {
            // Admitted off this task: verifying signatures takes milliseconds,
            // and consensus messages wait behind this task.
            node.receive_gossip(bytes);
        }
        NetworkEvent::Request {
            channel: Channel::Consensus,
            from,
            request,
            bytes,
        } => {
            let Some(validator) = validators_by_peer.get(&from).copied() else {
                let _ = network.respond(request, Vec::new()).await;
                return true;
            };
            match (ConsensusTag::of(&bytes), route) {
                (Some(ConsensusTag::ForwardedTransactions), _) => {
                    let _ = network.respond(request, Vec::new()).await;
                    let node = node.clone();
                    tokio::task::spawn_blocking(move || admit_forwarded(&node, &bytes[1..]));
                }
                (Some(ConsensusTag::RaftRpc), ConsensusRoute::Raft { raft, .. }) => {
                    let Some(raft) = raft.get().cloned() else {
                        let _ = network.respond(request, Vec::new()).await;
                        return true;
                    };
                    let network = network.clone();
                    tokio::spawn(async move {
                        let answer = answer_rpc(&raft, &bytes[1..]).await.unwrap_or_default();
                        let _ = network.respond(request, answer).await;
                    });
                }
                (Some(ConsensusTag::Attestation), ConsensusRoute::Raft { driver, .. })
                | (_, ConsensusRoute::Driver(driver)) => {
                    let _ = network.respond(request, Vec::new()).await;
                    if driver
                        .send(DriverMessage::Consensus {
                            from: validator,
                            bytes,
                        })
                        .is_err()
                    {
                        return false;
                    }
                }
                _ => {
                    let _ = network.respond(request, Vec::new()).await;
                }
            }
        }
        NetworkEvent::Request {
            channel: Channel::BlockSync,
            request,
            bytes,
            ..
        } => {
            let storage = node.storage().clone();
            let network = network.clone();
            tokio::spawn(async move {
                let response = tokio::task::spawn_blocking(move || {
                    super::block_sync::serve_sync(&storage, &bytes)
                })
                .await;
                if let Ok(response) = response {
                    let _ = network.respond(request, response).await;
                }
            });
        }
        NetworkEvent::ConnectionRefused { peer, reason } => {
            tracing::debug!(?peer, %reason, "connection failed or refused");
        }
        _ => {}
    }
    true
}
