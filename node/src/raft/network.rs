//! openraft's RPCs over the node's libp2p consensus channel.
//!
//! A request is [`crate::network::ConsensusTag::RaftRpc`] followed by the postcard encoding of a [`RaftRpc`]; the answer
//! is the postcard encoding of a [`RaftRpcAnswer`]. Peers are the other validators, addressed
//! by node id (the index of their key among the ascending validator keys) and authenticated by
//! Noise. A node cut off by fault injection sends nothing.

use super::{RaftNodeId, TypeConfig};
use crate::network::{Channel, NetworkHandle};
use libp2p::PeerId;
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// An RPC from one Raft node to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftRpc {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<RaftNodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
}

/// The answer to a [`RaftRpc`], as the receiving Raft node gave it.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftRpcAnswer {
    AppendEntries(Result<AppendEntriesResponse<RaftNodeId>, RaftError<RaftNodeId>>),
    Vote(Result<VoteResponse<RaftNodeId>, RaftError<RaftNodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<RaftNodeId>, RaftError<RaftNodeId, InstallSnapshotError>>,
    ),
}

/// Encodes an RPC with its tag.
pub fn encode_rpc(rpc: &RaftRpc) -> Vec<u8> {
    let mut bytes = crate::network::ConsensusTag::RaftRpc.start();
    bytes.extend(postcard::to_stdvec(rpc).expect("raft messages encode"));
    bytes
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TransportError(String);

/// Makes a [`RaftPeer`] per target node.
#[derive(Clone, Debug)]
pub struct RaftPeers {
    pub network: NetworkHandle,
    /// Peer id of each node id (index); this node's own entry is never used.
    pub peers: Vec<PeerId>,
    /// Fault injection: while set, nothing is sent.
    pub isolated: Arc<AtomicBool>,
}

impl RaftNetworkFactory<TypeConfig> for RaftPeers {
    type Network = RaftPeer;

    async fn new_client(&mut self, target: RaftNodeId, _node: &BasicNode) -> Self::Network {
        RaftPeer {
            network: self.network.clone(),
            peer: self.peers.get(target as usize).copied(),
            isolated: self.isolated.clone(),
        }
    }
}

/// Sends RPCs to one node.
#[derive(Debug)]
pub struct RaftPeer {
    network: NetworkHandle,
    peer: Option<PeerId>,
    isolated: Arc<AtomicBool>,
}

impl RaftPeer {
    async fn call<E: std::error::Error>(
        &self,
        rpc: RaftRpc,
    ) -> Result<RaftRpcAnswer, RPCError<RaftNodeId, BasicNode, E>> {
        let unreachable =
            |message: String| RPCError::Unreachable(Unreachable::new(&TransportError(message)));
        let Some(peer) = self.peer else {
            return Err(unreachable("no such node".into()));
        };
        if self.isolated.load(Ordering::Relaxed) {
            return Err(unreachable("cut off by fault injection".into()));
        }
        let bytes = self
            .network
            .request(Channel::Consensus, peer, encode_rpc(&rpc))
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        postcard::from_bytes(&bytes).map_err(|error| {
            RPCError::Network(NetworkError::new(&TransportError(format!(
                "undecodable raft answer: {error}"
            ))))
        })
    }
}

fn unexpected<E: std::error::Error>() -> RPCError<RaftNodeId, BasicNode, E> {
    RPCError::Network(NetworkError::new(&TransportError(
        "a raft answer of another kind".into(),
    )))
}

impl RaftNetwork<TypeConfig> for RaftPeer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        AppendEntriesResponse<RaftNodeId>,
        RPCError<RaftNodeId, BasicNode, RaftError<RaftNodeId>>,
    > {
        match self.call(RaftRpc::AppendEntries(rpc)).await? {
            RaftRpcAnswer::AppendEntries(answer) => answer.map_err(|error| {
                RPCError::RemoteError(openraft::error::RemoteError::new(0, error))
            }),
            _ => Err(unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<RaftNodeId>,
        RPCError<RaftNodeId, BasicNode, RaftError<RaftNodeId, InstallSnapshotError>>,
    > {
        match self.call(RaftRpc::InstallSnapshot(rpc)).await? {
            RaftRpcAnswer::InstallSnapshot(answer) => answer.map_err(|error| {
                RPCError::RemoteError(openraft::error::RemoteError::new(0, error))
            }),
            _ => Err(unexpected()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<RaftNodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<RaftNodeId>, RPCError<RaftNodeId, BasicNode, RaftError<RaftNodeId>>>
    {
        match self.call(RaftRpc::Vote(rpc)).await? {
            RaftRpcAnswer::Vote(answer) => answer.map_err(|error| {
                RPCError::RemoteError(openraft::error::RemoteError::new(0, error))
            }),
            _ => Err(unexpected()),
        }
    }
}

/// Answers an RPC with the local Raft node.
pub async fn answer_rpc(raft: &openraft::Raft<TypeConfig>, bytes: &[u8]) -> Option<Vec<u8>> {
    let rpc: RaftRpc = postcard::from_bytes(bytes).ok()?;
    let answer = match rpc {
        RaftRpc::AppendEntries(request) => {
            RaftRpcAnswer::AppendEntries(raft.append_entries(request).await)
        }
        RaftRpc::Vote(request) => RaftRpcAnswer::Vote(raft.vote(request).await),
        RaftRpc::InstallSnapshot(request) => {
            RaftRpcAnswer::InstallSnapshot(raft.install_snapshot(request).await)
        }
    };
    Some(postcard::to_stdvec(&answer).expect("raft answers encode"))
}
