//! Real libp2p swarms on loopback TCP: allowed peers connect, gossip and answer requests; a
//! peer whose key is not in the consortium is refused; size limits hold.

use super::*;
use std::time::Instant;

const DEADLINE_MS: u64 = 20_000;

fn secret(seed: u8) -> [u8; 32] {
    [seed; 32]
}

fn public(seed: u8) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&secret(seed))
        .verifying_key()
        .to_bytes()
}

fn start_node(seed: u8, allowed: &[u8]) -> (NetworkHandle, mpsc::Receiver<NetworkEvent>) {
    start(NetworkConfig {
        node_secret_key: secret(seed),
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        allowed_node_keys: allowed.iter().map(|seed| public(*seed)).collect(),
    })
    .expect("network starts")
}

/// Waits for the first event that `wanted` accepts (returning what it extracts), failing the
/// test at the deadline; other events are kept in `seen`.
async fn wait_for<T>(
    events: &mut mpsc::Receiver<NetworkEvent>,
    seen: &mut Vec<String>,
    mut wanted: impl FnMut(&NetworkEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_millis(DEADLINE_MS);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, events.recv())
            .await
            .unwrap_or_else(|_| panic!("deadline passed; events seen: {seen:?}"))
            .expect("network task alive");
        if let Some(found) = wanted(&event) {
            return found;
        }
        seen.push(format!("{event:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consortium_peers_gossip_and_answer_and_strangers_are_refused() {
    let (node_a, mut events_a) = start_node(1, &[2]);
    let (node_b, mut events_b) = start_node(2, &[1]);
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    let address_a = wait_for(&mut events_a, &mut seen_a, |event| match event {
        NetworkEvent::Listening(address) => Some(address.clone()),
        _ => None,
    })
    .await;
    assert_eq!(node_a.local_peer_id(), peer_id(&public(1)).unwrap());

    node_b.dial(address_a.clone()).await.unwrap();
    let peer_b = node_b.local_peer_id();
    wait_for(&mut events_a, &mut seen_a, |event| match event {
        NetworkEvent::PeerSubscribed(peer) if *peer == peer_b => Some(()),
        _ => None,
    })
    .await;

    // Gossip: A publishes a transaction, B receives exactly those bytes.
    let transaction = b"signed transaction bytes".to_vec();
    node_a
        .publish_transactions(transaction.clone())
        .await
        .unwrap();
    let received = wait_for(&mut events_b, &mut seen_b, |event| match event {
        NetworkEvent::Transactions { bytes, .. } => Some(bytes.clone()),
        _ => None,
    })
    .await;
    assert_eq!(received, transaction);

    // Request-response on the consensus protocol.
    let peer_a = node_a.local_peer_id();
    let requester = node_b.clone();
    let asked = tokio::spawn(async move {
        requester
            .request(Channel::Consensus, peer_a, b"prepare".to_vec())
            .await
    });
    let (request, bytes) = wait_for(&mut events_a, &mut seen_a, |event| match event {
        NetworkEvent::Request {
            channel: Channel::Consensus,
            request,
            bytes,
            ..
        } => Some((*request, bytes.clone())),
        _ => None,
    })
    .await;
    assert_eq!(bytes, b"prepare");
    node_a.respond(request, b"commit".to_vec()).await.unwrap();
    assert_eq!(asked.await.unwrap().unwrap(), b"commit");

    // A consensus message over its size limit is refused before it is sent.
    let oversized = vec![0; CONSENSUS_MESSAGE_BYTES_MAX + 1];
    assert!(
        node_b
            .request(Channel::Consensus, peer_a, oversized)
            .await
            .is_err()
    );

    // A stranger (its key is in nobody's allow-list but its own) cannot hold a connection.
    let (stranger, mut stranger_events) = start_node(9, &[1]);
    let mut seen_stranger = Vec::new();
    stranger.dial(address_a).await.unwrap();
    wait_for(
        &mut stranger_events,
        &mut seen_stranger,
        |event| match event {
            NetworkEvent::ConnectionRefused { .. } | NetworkEvent::PeerDisconnected(_) => Some(()),
            _ => None,
        },
    )
    .await;
    let stranger_peer = stranger.local_peer_id();
    while let Ok(event) = events_a.try_recv() {
        assert!(
            !matches!(event, NetworkEvent::PeerConnected(peer) if peer == stranger_peer),
            "a peer outside the consortium got a connection"
        );
    }
    // And the stranger's gossip reaches no one.
    assert!(
        stranger
            .publish_transactions(b"spam".to_vec())
            .await
            .is_err()
    );
}
