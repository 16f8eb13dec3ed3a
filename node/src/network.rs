//! Peer-to-peer networking on libp2p, permissioned.
//!
//! Transport: TCP with Noise (authenticated encryption; a peer's id is its Ed25519 node key)
//! and Yamux multiplexing. Behaviours:
//! - an allow-list: only node keys of the consortium (genesis validators, and later the
//!   registry's node keys) may hold a connection; every other peer is refused on connect, both
//!   ways;
//! - gossipsub for batches of transactions, with message ids derived from the content, so a batch
//!   is forwarded once and not echoed around the mesh;
//! - request-response on two protocols, consensus messages and block sync, each with its own
//!   size limit (a length prefix is checked before anything is read);
//! - identify, so peers learn each other's listen addresses.
//!
//! [`Network::start`] runs the swarm on a tokio task; the node talks to it through
//! [`NetworkHandle`] (commands) and receives [`NetworkEvent`]s. The consensus driver that uses it
//! for PBFT and block sync is the next step (issue: multi-node).

use crate::NodeError;
use libp2p::futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, allow_block_list, gossipsub, identify, identity, noise, tcp,
    yamux,
};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub mod gossip;

/// The first byte of every request on the consensus channel: what the rest is. One enum for
/// both engines' drivers, so a tag is never given two meanings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ConsensusTag {
    /// A PBFT message in its signed envelope (the tag is also the envelope's format version).
    PbftEnvelope = 1,
    /// Ready transactions a backup forwards to the primary.
    ForwardedTransactions = 2,
    /// An openraft RPC (postcard-encoded).
    RaftRpc = 3,
    /// A Raft validator's signature over a block it applied (for the finality certificate).
    Attestation = 4,
}

impl ConsensusTag {
    /// The tag a request starts with; `None` for an empty request or an unknown tag.
    pub fn of(bytes: &[u8]) -> Option<ConsensusTag> {
        match bytes.first()? {
            1 => Some(ConsensusTag::PbftEnvelope),
            2 => Some(ConsensusTag::ForwardedTransactions),
            3 => Some(ConsensusTag::RaftRpc),
            4 => Some(ConsensusTag::Attestation),
            _ => None,
        }
    }

    /// A request buffer that starts with this tag, the payload to be appended.
    pub fn start(self) -> Vec<u8> {
        vec![self as u8]
    }
}

/// Largest gossip message (a batch of transactions, see [`gossip`], plus gossipsub's framing).
pub const GOSSIP_MESSAGE_BYTES_MAX: usize = gossip::GOSSIP_MESSAGE_BYTES_MAX + 1024;
/// Largest consensus message: a PBFT pre-prepare carries its block (genesis caps PBFT blocks at
/// 12 MiB of transactions), a new view a few blocks and certificates.
pub const CONSENSUS_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Largest block-sync request or response (a batch of blocks with certificates).
pub const BLOCK_SYNC_MESSAGE_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Longest a request waits for its response.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Commands and events queued between the node and the network task.
pub const QUEUE_MESSAGES_MAX: usize = 10_000;
/// Connections idle this long are closed.
pub const IDLE_CONNECTION_TIMEOUT_MS: u64 = 60_000;

const TRANSACTIONS_TOPIC: &str = "rxchain/transactions/1";
const CONSENSUS_PROTOCOL: &str = "/rxchain/consensus/1";
const BLOCK_SYNC_PROTOCOL: &str = "/rxchain/block-sync/1";
const IDENTIFY_PROTOCOL: &str = "/rxchain/1";

/// The peer id of a node's 32-byte Ed25519 public key.
pub fn peer_id(public_key: &[u8; 32]) -> Result<PeerId, NodeError> {
    let key = identity::ed25519::PublicKey::try_from_bytes(public_key)
        .map_err(|error| NodeError::Config(format!("node key: {error}")))?;
    Ok(identity::PublicKey::from(key).to_peer_id())
}

/// Length-prefixed byte messages with a size limit, checked before reading the body.
#[derive(Clone, Debug)]
pub struct LimitedBytesCodec {
    message_bytes_max: usize,
}

async fn read_limited<T>(io: &mut T, limit: usize) -> std::io::Result<Vec<u8>>
where
    T: libp2p::futures::AsyncRead + Unpin + Send,
{
    let mut length = [0u8; 4];
    io.read_exact(&mut length).await?;
    let length = u32::from_be_bytes(length) as usize;
    if length > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("message of {length} bytes, over the limit of {limit}"),
        ));
    }
    let mut bytes = vec![0; length];
    io.read_exact(&mut bytes).await?;
    Ok(bytes)
}

async fn write_limited<T>(io: &mut T, bytes: &[u8], limit: usize) -> std::io::Result<()>
where
    T: libp2p::futures::AsyncWrite + Unpin + Send,
{
    if bytes.len() > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "message of {} bytes, over the limit of {limit}",
                bytes.len()
            ),
        ));
    }
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

impl request_response::Codec for LimitedBytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: libp2p::futures::AsyncRead + Unpin + Send,
    {
        read_limited(io, self.message_bytes_max).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> std::io::Result<Vec<u8>>
    where
        T: libp2p::futures::AsyncRead + Unpin + Send,
    {
        read_limited(io, self.message_bytes_max).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: libp2p::futures::AsyncWrite + Unpin + Send,
    {
        write_limited(io, &request, self.message_bytes_max).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> std::io::Result<()>
    where
        T: libp2p::futures::AsyncWrite + Unpin + Send,
    {
        write_limited(io, &response, self.message_bytes_max).await
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    gossip: gossipsub::Behaviour,
    consensus: request_response::Behaviour<LimitedBytesCodec>,
    sync: request_response::Behaviour<LimitedBytesCodec>,
    identify: identify::Behaviour,
}

/// Which request-response protocol a request uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Consensus,
    BlockSync,
}

/// What the network tells the node.
#[derive(Debug)]
pub enum NetworkEvent {
    Listening(Multiaddr),
    PeerConnected(PeerId),
    PeerDisconnected(PeerId),
    /// A peer joined the transaction gossip (it will receive what is published).
    PeerSubscribed(PeerId),
    /// A connection attempt failed or was refused (e.g. by the allow-list).
    ConnectionRefused {
        peer: Option<PeerId>,
        reason: String,
    },
    /// A batch of transactions arrived by gossip (not yet validated: the node's admission
    /// does that).
    Transactions {
        from: PeerId,
        bytes: Vec<u8>,
    },
    /// A peer asks something; answer with [`NetworkHandle::respond`] and this `request`.
    Request {
        channel: Channel,
        from: PeerId,
        request: u64,
        bytes: Vec<u8>,
    },
}

enum Command {
    Dial(Multiaddr),
    Publish(Vec<u8>, oneshot::Sender<Result<(), String>>),
    Request {
        channel: Channel,
        to: PeerId,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, String>>,
    },
    Respond {
        request: u64,
        bytes: Vec<u8>,
    },
}

/// What a node's network needs.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The node's Ed25519 secret key (its identity on the network).
    pub node_secret_key: [u8; 32],
    pub listen: Multiaddr,
    /// Public keys of the nodes allowed to connect (the consortium's).
    pub allowed_node_keys: Vec<[u8; 32]>,
}

/// Sends commands to the network task.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    local_peer_id: PeerId,
}

impl NetworkHandle {
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    async fn send(&self, command: Command) -> Result<(), NodeError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NodeError::ShuttingDown)
    }

    pub async fn dial(&self, address: Multiaddr) -> Result<(), NodeError> {
        self.send(Command::Dial(address)).await
    }

    /// Gossips a batch of transactions to the consortium's nodes.
    pub async fn publish_transactions(&self, bytes: Vec<u8>) -> Result<(), NodeError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Publish(bytes, reply)).await?;
        answer
            .await
            .map_err(|_| NodeError::ShuttingDown)?
            .map_err(NodeError::Network)
    }

    /// Sends a request and waits for the response.
    pub async fn request(
        &self,
        channel: Channel,
        to: PeerId,
        bytes: Vec<u8>,
    ) -> Result<Vec<u8>, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request {
            channel,
            to,
            bytes,
            reply,
        })
        .await?;
        answer
            .await
            .map_err(|_| NodeError::ShuttingDown)?
            .map_err(NodeError::Network)
    }

    /// Answers a request received as [`NetworkEvent::Request`].
    pub async fn respond(&self, request: u64, bytes: Vec<u8>) -> Result<(), NodeError> {
        self.send(Command::Respond { request, bytes }).await
    }
}

/// Starts the network task; returns the handle and the stream of events.
pub fn start(
    config: NetworkConfig,
) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NodeError> {
    let network_error = |error: String| NodeError::Network(error);
    let keypair = identity::Keypair::ed25519_from_bytes(config.node_secret_key)
        .map_err(|error| network_error(error.to_string()))?;
    let local_peer_id = keypair.public().to_peer_id();
    let mut allowed = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
    for key in &config.allowed_node_keys {
        allowed.allow_peer(peer_id(key)?);
    }
    let gossip_config = gossipsub::ConfigBuilder::default()
        .max_transmit_size(GOSSIP_MESSAGE_BYTES_MAX)
        // Transactions carry their sender's signature and peers are authenticated by Noise, so
        // gossip messages are not signed again: that would cost an Ed25519 signature per
        // transaction and a verification per transaction on every node.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        // The same batch from two peers is one message: forwarded once, then ignored.
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::from(crate::hash::sm3(&message.data).to_vec())
        })
        .build()
        .map_err(|error| network_error(error.to_string()))?;
    let request_config = request_response::Config::default()
        .with_request_timeout(Duration::from_millis(REQUEST_TIMEOUT_MS));
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|error| network_error(error.to_string()))?
        .with_behaviour(|key| {
            Ok(Behaviour {
                allowed,
                gossip: gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Anonymous,
                    gossip_config,
                )?,
                consensus: request_response::Behaviour::with_codec(
                    LimitedBytesCodec {
                        message_bytes_max: CONSENSUS_MESSAGE_BYTES_MAX,
                    },
                    [(
                        StreamProtocol::new(CONSENSUS_PROTOCOL),
                        ProtocolSupport::Full,
                    )],
                    request_config.clone(),
                ),
                sync: request_response::Behaviour::with_codec(
                    LimitedBytesCodec {
                        message_bytes_max: BLOCK_SYNC_MESSAGE_BYTES_MAX,
                    },
                    [(
                        StreamProtocol::new(BLOCK_SYNC_PROTOCOL),
                        ProtocolSupport::Full,
                    )],
                    request_config,
                ),
                identify: identify::Behaviour::new(identify::Config::new(
                    IDENTIFY_PROTOCOL.into(),
                    key.public(),
                )),
            })
        })
        .map_err(|error| network_error(error.to_string()))?
        .with_swarm_config(|swarm_config| {
            swarm_config
                .with_idle_connection_timeout(Duration::from_millis(IDLE_CONNECTION_TIMEOUT_MS))
        })
        .build();
    let topic = gossipsub::IdentTopic::new(TRANSACTIONS_TOPIC);
    swarm
        .behaviour_mut()
        .gossip
        .subscribe(&topic)
        .map_err(|error| network_error(error.to_string()))?;
    swarm
        .listen_on(config.listen)
        .map_err(|error| network_error(error.to_string()))?;

    let (command_sender, commands) = mpsc::channel(QUEUE_MESSAGES_MAX);
    let (event_sender, events) = mpsc::channel(QUEUE_MESSAGES_MAX);
    tokio::spawn(run(swarm, topic, commands, event_sender));
    Ok((
        NetworkHandle {
            commands: command_sender,
            local_peer_id,
        },
        events,
    ))
}

type Pending = HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, String>>>;

async fn run(
    mut swarm: libp2p::Swarm<Behaviour>,
    topic: gossipsub::IdentTopic,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetworkEvent>,
) {
    let mut pending: Pending = HashMap::new();
    let mut response_channels: HashMap<u64, (Channel, ResponseChannel<Vec<u8>>)> = HashMap::new();
    let mut next_request: u64 = 0;
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return };
                match command {
                    Command::Dial(address) => {
                        if let Err(error) = swarm.dial(address) {
                            let _ = events.send(NetworkEvent::ConnectionRefused { peer: None, reason: error.to_string() }).await;
                        }
                    }
                    Command::Publish(bytes, reply) => {
                        let result = swarm.behaviour_mut().gossip.publish(topic.clone(), bytes).map(|_| ()).map_err(|error| error.to_string());
                        let _ = reply.send(result);
                    }
                    Command::Request { channel, to, bytes, reply } => {
                        let behaviour = swarm.behaviour_mut();
                        let id = match channel {
                            Channel::Consensus => behaviour.consensus.send_request(&to, bytes),
                            Channel::BlockSync => behaviour.sync.send_request(&to, bytes),
                        };
                        pending.insert(id, reply);
                    }
                    Command::Respond { request, bytes } => {
                        if let Some((channel, response)) = response_channels.remove(&request) {
                            let behaviour = swarm.behaviour_mut();
                            // A peer that went away meanwhile gets no answer; nothing to do.
                            let _ = match channel {
                                Channel::Consensus => behaviour.consensus.send_response(response, bytes),
                                Channel::BlockSync => behaviour.sync.send_response(response, bytes),
                            };
                        }
                    }
                }
            }
            event = swarm.select_next_some() => {
                let forward = match event {
                    SwarmEvent::NewListenAddr { address, .. } => Some(NetworkEvent::Listening(address)),
                    SwarmEvent::ConnectionEstablished { peer_id, .. } => Some(NetworkEvent::PeerConnected(peer_id)),
                    SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => Some(NetworkEvent::PeerDisconnected(peer_id)),
                    SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => Some(NetworkEvent::ConnectionRefused { peer: peer_id, reason: error.to_string() }),
                    SwarmEvent::IncomingConnectionError { error, .. } => Some(NetworkEvent::ConnectionRefused { peer: None, reason: error.to_string() }),
                    SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message { propagation_source, message, .. })) => {
                        Some(NetworkEvent::Transactions { from: propagation_source, bytes: message.data })
                    }
                    SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Subscribed { peer_id, .. })) => Some(NetworkEvent::PeerSubscribed(peer_id)),
                    SwarmEvent::Behaviour(BehaviourEvent::Consensus(event)) => handle_request_event(Channel::Consensus, event, &mut pending, &mut response_channels, &mut next_request),
                    SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => handle_request_event(Channel::BlockSync, event, &mut pending, &mut response_channels, &mut next_request),
                    _ => None,
                };
                if let Some(event) = forward
                    && events.send(event).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

fn handle_request_event(
    channel: Channel,
    event: request_response::Event<Vec<u8>, Vec<u8>>,
    pending: &mut Pending,
    response_channels: &mut HashMap<u64, (Channel, ResponseChannel<Vec<u8>>)>,
    next_request: &mut u64,
) -> Option<NetworkEvent> {
    match event {
        request_response::Event::Message { peer, message, .. } => match message {
            request_response::Message::Request {
                request,
                channel: response,
                ..
            } => {
                *next_request += 1;
                response_channels.insert(*next_request, (channel, response));
                Some(NetworkEvent::Request {
                    channel,
                    from: peer,
                    request: *next_request,
                    bytes: request,
                })
            }
            request_response::Message::Response {
                request_id,
                response,
            } => {
                if let Some(reply) = pending.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
                None
            }
        },
        request_response::Event::OutboundFailure {
            request_id, error, ..
        } => {
            if let Some(reply) = pending.remove(&request_id) {
                let _ = reply.send(Err(error.to_string()));
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
