//! Unit tests of the PBFT engine on a small synchronous cluster: every queued message is
//! delivered in order unless a test drops it.

use std::collections::{BTreeSet, VecDeque};

use super::*;

const START: ChainStart = ChainStart {
    height: 0,
    payload_hash: [7; 32],
};

fn id(index: usize) -> ValidatorId {
    [index as u8 + 1; 32]
}

fn hash(value: u8) -> PayloadHash {
    [value; 32]
}

fn config(validators: usize, own: usize) -> PbftConfig {
    PbftConfig {
        validators: (0..validators).map(id).collect(),
        own_id: id(own),
        checkpoint_interval_sequences: 2,
        watermark_window_sequences: 4,
        proposals_in_flight_max: 4,
        view_change_timeout_ms: 100,
        view_change_timeout_max_ms: 800,
        retransmit_interval_ms: 1_000_000,
        views_ahead_max: 16,
    }
}

struct Cluster {
    engines: Vec<PbftEngine>,
    queue: VecDeque<(usize, usize, Message)>,
    /// Per node: (height, sequence, payload) in the order committed.
    commits: Vec<Vec<(u64, u64, PayloadHash)>>,
    persisted: Vec<Option<PersistedState>>,
    transfers: Vec<Vec<(u64, u64, PayloadHash)>>,
    /// Nodes whose outgoing and incoming messages are dropped.
    down: BTreeSet<usize>,
    now_ms: u64,
}

impl Cluster {
    fn new(validators: usize) -> Self {
        Cluster {
            engines: (0..validators)
                .map(|own| PbftEngine::new(config(validators, own), START, 0).unwrap())
                .collect(),
            queue: VecDeque::new(),
            commits: vec![Vec::new(); validators],
            persisted: vec![None; validators],
            transfers: vec![Vec::new(); validators],
            down: BTreeSet::new(),
            now_ms: 0,
        }
    }

    fn index(&self, id: &ValidatorId) -> usize {
        self.engines
            .iter()
            .position(|engine| engine.own_id() == *id)
            .unwrap()
    }

    fn handle(&mut self, node: usize, input: PbftInput) -> Vec<PbftEffect> {
        let effects = self.engines[node].handle(input);
        self.apply(node, effects.clone());
        effects
    }

    fn apply(&mut self, node: usize, effects: Vec<PbftEffect>) {
        for effect in effects {
            match effect {
                PbftEffect::Broadcast(message) => {
                    for to in 0..self.engines.len() {
                        if to != node {
                            self.queue.push_back((node, to, message.clone()));
                        }
                    }
                }
                PbftEffect::Send { to, message } => {
                    let to = self.index(&to);
                    self.queue.push_back((node, to, message));
                }
                PbftEffect::Commit {
                    height,
                    sequence,
                    payload_hash,
                } => self.commits[node].push((height, sequence, payload_hash)),
                PbftEffect::Persist(state) => self.persisted[node] = Some(*state),
                PbftEffect::StateTransfer {
                    sequence,
                    height,
                    payload_hash,
                    ..
                } => self.transfers[node].push((sequence, height, payload_hash)),
                PbftEffect::ProposalRefused { .. } => {}
            }
        }
    }

    fn deliver_all(&mut self) {
        let mut delivered = 0;
        while let Some((from, to, message)) = self.queue.pop_front() {
            delivered += 1;
            assert!(delivered < 100_000, "message storm");
            if self.down.contains(&from) || self.down.contains(&to) {
                continue;
            }
            let from = self.engines[from].own_id();
            self.handle(to, PbftInput::Message { from, message });
        }
    }

    fn tick_all(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        for node in 0..self.engines.len() {
            if !self.down.contains(&node) {
                self.handle(node, PbftInput::Tick { now_ms });
            }
        }
    }

    fn pending_all(&mut self, payloads: u64) {
        for node in 0..self.engines.len() {
            if !self.down.contains(&node) {
                let now_ms = self.now_ms;
                self.handle(node, PbftInput::Pending { payloads, now_ms });
            }
        }
    }

    fn propose(&mut self, node: usize, payload: PayloadHash) -> Vec<PbftEffect> {
        self.handle(
            node,
            PbftInput::Propose {
                payload_hash: payload,
            },
        )
    }
}

fn broadcasts(effects: &[PbftEffect]) -> Vec<&Message> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            PbftEffect::Broadcast(message) => Some(message),
            _ => None,
        })
        .collect()
}

#[test]
fn normal_case_commits_everywhere() {
    let mut cluster = Cluster::new(4);
    assert!(cluster.engines[0].can_propose());
    assert!(!cluster.engines[1].can_propose());
    let effects = cluster.propose(0, hash(9));
    // The pre-prepare is persisted before it is sent.
    assert!(matches!(effects[0], PbftEffect::Persist(_)));
    assert!(matches!(
        effects[1],
        PbftEffect::Broadcast(Message::PrePrepare(_))
    ));
    cluster.deliver_all();
    for node in 0..4 {
        assert_eq!(cluster.commits[node], vec![(1, 1, hash(9))], "node {node}");
        assert_eq!(cluster.engines[node].height(), 1);
    }
    // Redelivering everything changes nothing: commits happen exactly once.
    cluster.propose(0, hash(10));
    cluster.deliver_all();
    for node in 0..4 {
        assert_eq!(
            cluster.commits[node],
            vec![(1, 1, hash(9)), (2, 2, hash(10))]
        );
    }
}

#[test]
fn backup_refuses_to_propose() {
    let mut cluster = Cluster::new(4);
    let effects = cluster.propose(1, hash(9));
    assert_eq!(
        effects,
        vec![PbftEffect::ProposalRefused {
            payload_hash: hash(9),
            reason: RefusalReason::NotPrimary
        }]
    );
    let effects = cluster.propose(0, NULL_PAYLOAD_HASH);
    assert!(matches!(
        effects[0],
        PbftEffect::ProposalRefused {
            reason: RefusalReason::NullPayload,
            ..
        }
    ));
}

#[test]
fn silent_primary_is_replaced_after_timeout() {
    let mut cluster = Cluster::new(4);
    cluster.down.insert(0);
    cluster.pending_all(1);
    cluster.tick_all(50);
    cluster.deliver_all();
    assert!((1..4).all(|node| cluster.engines[node].view() == 0));
    // The timer armed at 0 expires at 100.
    cluster.tick_all(100);
    cluster.deliver_all();
    for node in 1..4 {
        assert_eq!(cluster.engines[node].view(), 1, "node {node}");
        assert!(cluster.engines[node].view_active(), "node {node}");
        assert_eq!(cluster.engines[node].primary(), id(1));
    }
    // The new primary orders.
    cluster.propose(1, hash(5));
    cluster.deliver_all();
    for node in 1..4 {
        assert_eq!(cluster.commits[node], vec![(1, 1, hash(5))]);
    }
}

#[test]
fn view_change_timeout_backs_off_per_view() {
    // Only two of four replicas alive: no quorum for any view. Each starts its first view
    // change after the base timeout, and the next only after a quorum of view changes, which
    // never comes: a lone replica must not race through views.
    let mut cluster = Cluster::new(4);
    cluster.down.insert(0);
    cluster.down.insert(3);
    cluster.pending_all(1);
    cluster.tick_all(100);
    cluster.deliver_all();
    for now_ms in (200..5_000).step_by(100) {
        cluster.tick_all(now_ms);
        cluster.deliver_all();
    }
    assert_eq!(cluster.engines[1].view(), 1);
    assert!(!cluster.engines[1].view_active());
    // With a quorum (node 3 back) the view changes, and timeouts double per consecutive view.
    cluster.down.remove(&3);
    cluster.engines[3].handle(PbftInput::Pending {
        payloads: 1,
        now_ms: 5_000,
    });
    cluster.tick_all(5_100);
    cluster.deliver_all();
    // Node 3 joined view 1 (f+1 asked for it); its primary, node 1, installed it.
    assert_eq!(cluster.engines[3].view(), 1);
    assert!(cluster.engines[1].view_active());
    assert_eq!(cluster.engines[1].timeout_ms(), 200);
    // Nothing executes (node 1 proposes nothing): each further view waits longer.
    let mut changes = Vec::new();
    let mut last_view = 1;
    for now_ms in (5_100..20_000).step_by(50) {
        cluster.tick_all(now_ms);
        cluster.deliver_all();
        if cluster.engines[2].view() != last_view {
            last_view = cluster.engines[2].view();
            changes.push(now_ms);
        }
    }
    let gaps: Vec<u64> = changes.windows(2).map(|pair| pair[1] - pair[0]).collect();
    // 400 ms (+ a tick to see the quorum), then the 800 ms cap; never faster.
    assert!(gaps.len() >= 3, "{changes:?}");
    assert!(gaps[0] >= 400 && gaps[0] < gaps[1], "{gaps:?}");
    assert!(
        gaps[1..].iter().all(|gap| (800..=900).contains(gap)),
        "{gaps:?}"
    );
}

#[test]
fn equivocating_primary_is_detected_and_replaced() {
    let mut cluster = Cluster::new(4);
    // Node 0 sends payload 1 to node 1 and payload 2 to nodes 2 and 3.
    let first = Vote {
        view: 0,
        sequence: 1,
        payload_hash: hash(1),
        sender: id(0),
    };
    let second = Vote {
        payload_hash: hash(2),
        ..first.clone()
    };
    cluster.down.insert(0);
    cluster.handle(
        1,
        PbftInput::Message {
            from: id(0),
            message: Message::PrePrepare(first),
        },
    );
    for node in [2, 3] {
        cluster.handle(
            node,
            PbftInput::Message {
                from: id(0),
                message: Message::PrePrepare(second.clone()),
            },
        );
    }
    cluster.deliver_all();
    // Node 1 saw the other pre-prepare inside a prepare, proved it, and everyone moved on.
    for node in 1..4 {
        assert_eq!(cluster.engines[node].view(), 1, "node {node}");
        assert!(cluster.engines[node].view_active(), "node {node}");
    }
    // Nodes 2 and 3 also saw node 1's prepare for the other payload and moved before
    // preparing: nothing was final, and the new primary orders afresh.
    for node in 1..4 {
        assert!(cluster.commits[node].is_empty(), "node {node}");
    }
    cluster.propose(1, hash(3));
    cluster.deliver_all();
    for node in 1..4 {
        assert_eq!(cluster.commits[node], vec![(1, 1, hash(3))], "node {node}");
    }
}

#[test]
fn invalid_proposal_starts_a_view_change() {
    let mut cluster = Cluster::new(4);
    let pre_prepare = Vote {
        view: 0,
        sequence: 1,
        payload_hash: hash(66),
        sender: id(0),
    };
    cluster.down.insert(0);
    for node in 1..4 {
        cluster.handle(
            node,
            PbftInput::InvalidProposal {
                from: id(0),
                pre_prepare: pre_prepare.clone(),
            },
        );
    }
    cluster.deliver_all();
    for node in 1..4 {
        assert_eq!(cluster.engines[node].view(), 1);
        assert!(cluster.engines[node].view_active());
        assert!(cluster.commits[node].is_empty());
    }
    // A report about someone who is not the primary changes nothing.
    let before = cluster.engines[2].view();
    cluster.handle(
        2,
        PbftInput::InvalidProposal {
            from: id(3),
            pre_prepare: Vote {
                view: 1,
                sender: id(3),
                ..pre_prepare
            },
        },
    );
    assert_eq!(cluster.engines[2].view(), before);
}

#[test]
fn forged_duplicate_and_foreign_votes_are_not_counted() {
    // The primary needs prepares from two distinct backups.
    let mut primary = PbftEngine::new(config(4, 0), START, 0).unwrap();
    primary.handle(PbftInput::Propose {
        payload_hash: hash(3),
    });
    let pre_prepare = Vote {
        view: 0,
        sequence: 1,
        payload_hash: hash(3),
        sender: id(0),
    };
    let prepare_from = |sender: ValidatorId| Message::Prepare {
        vote: Vote {
            sender,
            ..pre_prepare.clone()
        },
        pre_prepare: pre_prepare.clone(),
    };
    // Node 2's prepare, many times: counts once.
    for _ in 0..5 {
        primary.handle(PbftInput::Message {
            from: id(2),
            message: prepare_from(id(2)),
        });
    }
    // Node 3's prepare arriving from node 2: the outer sender is not the peer, dropped.
    primary.handle(PbftInput::Message {
        from: id(2),
        message: prepare_from(id(3)),
    });
    // A prepare from an id outside the validator set: dropped.
    let stranger = [200; 32];
    let effects = primary.handle(PbftInput::Message {
        from: stranger,
        message: prepare_from(stranger),
    });
    assert!(effects.is_empty());
    assert!(primary.entries[&1].prepared.is_none());
    // A commit proof of duplicated and foreign votes is refused.
    let commit = |sender| Vote {
        sender,
        ..pre_prepare.clone()
    };
    primary.handle(PbftInput::Message {
        from: id(2),
        message: Message::CommitProof {
            commits: vec![commit(id(2)), commit(id(2)), commit(stranger)],
            sender: id(2),
        },
    });
    assert_eq!(primary.last_executed_sequence(), 0);
    // Node 3's genuine prepare makes it prepared.
    let effects = primary.handle(PbftInput::Message {
        from: id(3),
        message: prepare_from(id(3)),
    });
    assert!(
        broadcasts(&effects)
            .iter()
            .any(|message| matches!(message, Message::Commit(_)))
    );
    // Commits: duplicates of one backup's do not make a quorum of three.
    for _ in 0..3 {
        primary.handle(PbftInput::Message {
            from: id(1),
            message: Message::Commit(commit(id(1))),
        });
    }
    assert_eq!(primary.height(), 0);
    let effects = primary.handle(PbftInput::Message {
        from: id(2),
        message: Message::Commit(commit(id(2))),
    });
    assert!(effects.contains(&PbftEffect::Commit {
        height: 1,
        sequence: 1,
        payload_hash: hash(3)
    }));
}

#[test]
fn checkpoints_collect_garbage_and_watermarks_bound_the_log() {
    let mut cluster = Cluster::new(4);
    // Window 4: sequences 1..=4 may be proposed before any checkpoint is stable.
    for value in 1..=4 {
        let effects = cluster.propose(0, hash(value));
        assert!(
            !effects
                .iter()
                .any(|effect| matches!(effect, PbftEffect::ProposalRefused { .. }))
        );
    }
    let refused = cluster.propose(0, hash(5));
    assert!(matches!(
        refused[0],
        PbftEffect::ProposalRefused {
            reason: RefusalReason::Busy,
            ..
        }
    ));
    cluster.deliver_all();
    for node in 0..4 {
        assert_eq!(cluster.commits[node].len(), 4);
        // Checkpoints at 2 and 4 became stable; the log below 4 is gone.
        assert_eq!(cluster.engines[node].stable_checkpoint_sequence(), 4);
        assert_eq!(cluster.engines[node].high_watermark(), 8);
        assert_eq!(cluster.engines[node].log_len(), 0);
    }
    // A pre-prepare above the high watermark (and one below the low one) is ignored.
    for sequence in [9, 3] {
        let effects = cluster.engines[1].handle(PbftInput::Message {
            from: id(0),
            message: Message::PrePrepare(Vote {
                view: 0,
                sequence,
                payload_hash: hash(40),
                sender: id(0),
            }),
        });
        assert!(effects.is_empty(), "sequence {sequence}");
    }
    // Ordering continues past the old high watermark.
    for value in 5..=9 {
        cluster.propose(0, hash(value));
        cluster.deliver_all();
    }
    for node in 0..4 {
        assert_eq!(cluster.commits[node].len(), 9);
        assert_eq!(cluster.engines[node].stable_checkpoint_sequence(), 8);
        assert!(cluster.engines[node].log_len() <= 4);
    }
}

#[test]
fn lagging_replica_syncs_past_a_stable_checkpoint() {
    let mut cluster = Cluster::new(4);
    cluster.down.insert(3);
    for value in 1..=4 {
        cluster.propose(0, hash(value));
        cluster.deliver_all();
    }
    assert!(cluster.commits[3].is_empty());
    cluster.down.remove(&3);
    // Its status tells the others it is behind; they send the stable checkpoint.
    cluster.engines[3].last_retransmit_ms = 0;
    let now_ms = 1_000_000;
    cluster.handle(3, PbftInput::Tick { now_ms });
    cluster.deliver_all();
    assert_eq!(cluster.transfers[3], vec![(4, 4, hash(4))]);
    cluster.handle(
        3,
        PbftInput::StateTransferred {
            sequence: 4,
            height: 4,
            payload_hash: hash(4),
        },
    );
    assert_eq!(cluster.engines[3].height(), 4);
    // And it takes part again.
    cluster.propose(0, hash(5));
    cluster.deliver_all();
    assert_eq!(cluster.commits[3], vec![(5, 5, hash(5))]);
}

#[test]
fn lagging_replica_catches_up_from_commit_proofs() {
    let mut cluster = Cluster::new(4);
    cluster.down.insert(3);
    cluster.propose(0, hash(1));
    cluster.deliver_all();
    cluster.down.remove(&3);
    cluster.engines[3].last_retransmit_ms = 0;
    cluster.handle(3, PbftInput::Tick { now_ms: 1_000_000 });
    cluster.deliver_all();
    assert_eq!(cluster.commits[3], vec![(1, 1, hash(1))]);
    assert!(cluster.transfers[3].is_empty());
}

#[test]
fn restart_keeps_view_and_prepared_state() {
    let mut cluster = Cluster::new(4);
    // Node 1 prepares payload 1 at sequence 1 (commits are lost), then times out into view 1.
    let pre_prepare = Vote {
        view: 0,
        sequence: 1,
        payload_hash: hash(1),
        sender: id(0),
    };
    cluster.handle(
        1,
        PbftInput::Message {
            from: id(0),
            message: Message::PrePrepare(pre_prepare.clone()),
        },
    );
    for sender in [2, 3] {
        cluster.handle(
            1,
            PbftInput::Message {
                from: id(sender),
                message: Message::Prepare {
                    vote: Vote {
                        sender: id(sender),
                        ..pre_prepare.clone()
                    },
                    pre_prepare: pre_prepare.clone(),
                },
            },
        );
    }
    assert!(cluster.engines[1].entries[&1].prepared.is_some());
    cluster.queue.clear();
    // Restart from the last persist: same view, same vote, same certificate.
    let state = cluster.persisted[1].clone().unwrap();
    let mut restarted = PbftEngine::restore(config(4, 1), START, state, 10).unwrap();
    assert_eq!(restarted.view(), 0);
    assert!(restarted.entries[&1].sent_prepare);
    assert!(restarted.entries[&1].sent_commit);
    // A conflicting pre-prepare for the same view and sequence is proof, not a second vote.
    let effects = restarted.handle(PbftInput::Message {
        from: id(0),
        message: Message::PrePrepare(Vote {
            payload_hash: hash(2),
            ..pre_prepare.clone()
        }),
    });
    assert!(
        !broadcasts(&effects)
            .iter()
            .any(|message| matches!(message, Message::Prepare { .. }))
    );
    assert_eq!(restarted.view(), 1);
    // Its view change carries the prepared certificate, and survives another restart.
    let view_change = broadcasts(&effects)
        .into_iter()
        .find_map(|message| match message {
            Message::ViewChange(view_change) => Some(view_change.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(view_change.prepared.len(), 1);
    assert_eq!(view_change.prepared[0].pre_prepare.payload_hash, hash(1));
    let persisted = effects
        .iter()
        .find_map(|effect| match effect {
            PbftEffect::Persist(state) => Some((**state).clone()),
            _ => None,
        })
        .unwrap();
    let again = PbftEngine::restore(config(4, 1), START, persisted, 20).unwrap();
    assert_eq!(again.view(), 1);
    assert!(!again.view_active());
    assert_eq!(again.own_view_change.as_ref(), Some(&view_change));
}

#[test]
fn new_view_fills_gaps_with_null_payloads() {
    let mut cluster = Cluster::new(4);
    // Sequence 2 prepares everywhere but sequence 1's pre-prepare is lost; no commit quorum
    // for 2 either (commits dropped). The new view re-proposes 2 and fills 1 with null.
    cluster.propose(0, hash(1));
    cluster.queue.clear();
    cluster.propose(0, hash(2));
    cluster
        .queue
        .retain(|(_, _, message)| !matches!(message, Message::Commit(_)));
    let mut prepares_only = VecDeque::new();
    while let Some((from, to, message)) = cluster.queue.pop_front() {
        let from_id = cluster.engines[from].own_id();
        let effects = cluster.engines[to].handle(PbftInput::Message {
            from: from_id,
            message,
        });
        for effect in effects {
            if let PbftEffect::Broadcast(message @ Message::Prepare { .. }) = effect {
                for other in 0..4 {
                    if other != to {
                        prepares_only.push_back((to, other, message.clone()));
                    }
                }
            }
        }
    }
    cluster.queue = prepares_only;
    cluster.deliver_all();
    cluster
        .queue
        .retain(|(_, _, message)| !matches!(message, Message::Commit(_)));
    assert!(cluster.engines[1].entries[&2].prepared.is_some());
    cluster.down.insert(0);
    cluster.pending_all(1);
    cluster.tick_all(100);
    cluster.deliver_all();
    for node in 1..4 {
        assert_eq!(cluster.engines[node].view(), 1);
        assert_eq!(cluster.engines[node].last_executed_sequence(), 2);
        // Height 1 is payload 2: the null at sequence 1 executed as nothing.
        assert_eq!(cluster.commits[node], vec![(1, 2, hash(2))], "node {node}");
    }
}

#[test]
fn configuration_is_validated() {
    let mut unsorted = config(4, 0);
    unsorted.validators.swap(0, 1);
    assert!(PbftEngine::new(unsorted, START, 0).is_err());
    let mut stranger = config(4, 0);
    stranger.own_id = [99; 32];
    assert!(PbftEngine::new(stranger, START, 0).is_err());
    let mut window = config(4, 0);
    window.watermark_window_sequences = 3;
    assert!(PbftEngine::new(window, START, 0).is_err());
    let mut timeout = config(4, 0);
    timeout.view_change_timeout_max_ms = 10;
    assert!(PbftEngine::new(timeout, START, 0).is_err());
    // One validator orders alone (f = 0, quorum 1).
    let mut alone = PbftEngine::new(config(1, 0), START, 0).unwrap();
    let effects = alone.handle(PbftInput::Propose {
        payload_hash: hash(4),
    });
    assert!(effects.contains(&PbftEffect::Commit {
        height: 1,
        sequence: 1,
        payload_hash: hash(4)
    }));
}

/// One replica completes the view change to view 1 (it got the others' view changes, they never
/// got its own) and times out into view 2 alone; the other two wait for a quorum for view 1 that
/// only it can complete. Its view change for view 1, kept and re-sent when their status shows
/// them still in view 1, ends the split (the soak's seeds 1,024,609 and 1,044,092).
#[test]
fn a_replica_that_left_a_view_completes_it_for_those_still_in_it() {
    let mut cluster = Cluster::new(4);
    cluster.down.insert(0);
    cluster.pending_all(1);
    cluster.tick_all(100);
    // Everything node 3 sends is lost: it hears the others' view changes, they never hear its.
    let drop_from_3 = |cluster: &mut Cluster| {
        let queue = std::mem::take(&mut cluster.queue);
        cluster.queue = queue
            .into_iter()
            .filter(|(from, _, _)| *from != 3)
            .collect();
        cluster.deliver_all();
    };
    drop_from_3(&mut cluster);
    for node in 1..4 {
        assert_eq!(cluster.engines[node].view(), 1);
        assert!(!cluster.engines[node].view_active());
    }
    // Node 3 saw a quorum for view 1, so its view-change timer runs; it moves to view 2.
    let mut now = 100;
    while cluster.engines[3].view() < 2 {
        now += 100;
        assert!(now < 10_000, "node 3 never timed out of view 1");
        cluster.tick_all(now);
        cluster.deliver_all();
    }
    assert!(
        cluster.engines[1]
            .waiting_on()
            .contains("holds view changes from [1, 2], 2 of a quorum of 3"),
        "{}",
        cluster.engines[1].waiting_on()
    );
    assert_eq!(
        (cluster.engines[1].view(), cluster.engines[1].view_active()),
        (1, false)
    );
    // A replica asking again and again gets the kept view change once per retransmit interval
    // (the effects are counted, not delivered).
    let mut sends_on_status = || {
        let effects = cluster.engines[3].handle(PbftInput::Message {
            from: id(2),
            message: Message::Status {
                view: 1,
                last_executed_sequence: 0,
                sender: id(2),
            },
        });
        effects
            .iter()
            .filter(|effect| matches!(effect, PbftEffect::Send { .. }))
            .count()
    };
    assert_eq!(sends_on_status(), 1, "its view change for view 1");
    assert_eq!(sends_on_status(), 0, "not again within the interval");
    // The next status round: nodes 1 and 2 say they are in view 1; node 3 re-sends its view
    // change for view 1, node 1 (primary of view 1) has its quorum and sends the new view.
    cluster.tick_all(1_000_000);
    cluster.deliver_all();
    for node in 1..3 {
        assert_eq!(cluster.engines[node].view(), 1, "node {node}");
        assert!(cluster.engines[node].view_active(), "node {node}");
    }
    // Nothing executes in view 1 either (the work is not proposed), so nodes 1 and 2 move to
    // view 2, where node 3 waits: node 2, its primary, has a quorum.
    cluster.pending_all(1);
    cluster.tick_all(1_000_000 + 10_000);
    cluster.deliver_all();
    for node in 1..4 {
        assert_eq!(cluster.engines[node].view(), 2, "node {node}");
        assert!(cluster.engines[node].view_active(), "node {node}");
    }
    cluster.propose(2, hash(9));
    cluster.deliver_all();
    for node in 1..4 {
        assert_eq!(cluster.commits[node], vec![(1, 1, hash(9))], "node {node}");
    }
}

/// The new view a primary sent is kept after it moves on, and re-sent to replicas whose status
/// shows them still in that view change (the soak's seed 1,009,520); a restart keeps it.
#[test]
fn a_primary_that_moved_on_resends_its_new_view() {
    let mut cluster = Cluster::new(4);
    cluster.down.insert(0);
    cluster.pending_all(1);
    cluster.tick_all(100);
    // Node 1, primary of view 1, gets the quorum; nothing reaches nodes 2 and 3, so they hold
    // only their own view changes (no quorum, no timer) and never see its new view.
    while let Some((from, to, message)) = cluster.queue.pop_front() {
        if to != 1 {
            continue;
        }
        let from = cluster.engines[from].own_id();
        cluster.handle(to, PbftInput::Message { from, message });
    }
    assert!(cluster.engines[1].view_active());
    for node in 2..4 {
        assert!(!cluster.engines[node].view_active(), "node {node}");
    }
    // Node 1 restarts from what it persisted, then times out of view 1 (work outstanding)
    // while the others still wait for its new view.
    let state = cluster.persisted[1].clone().expect("node 1 persisted");
    assert_eq!(state.sent_new_views.len(), 1);
    cluster.engines[1] = PbftEngine::restore(config(4, 1), START, state, 100).unwrap();
    cluster.handle(
        1,
        PbftInput::Pending {
            payloads: 1,
            now_ms: 100,
        },
    );
    cluster.handle(1, PbftInput::Tick { now_ms: 10_000 });
    let queue = std::mem::take(&mut cluster.queue);
    drop(queue);
    assert_eq!(
        (cluster.engines[1].view(), cluster.engines[1].view_active()),
        (2, false)
    );
    // Their status shows them in view 1: node 1 re-sends the new view for view 1.
    cluster.tick_all(1_000_000);
    cluster.deliver_all();
    for node in 2..4 {
        assert!(
            cluster.engines[node].view() >= 1 && cluster.engines[node].view_active(),
            "node {node}: {}",
            cluster.engines[node].waiting_on()
        );
    }
}
