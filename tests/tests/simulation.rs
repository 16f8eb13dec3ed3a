//! The whole-node deterministic simulation (`rxchain_tests::simulation`): a four-validator
//! PBFT consortium of real nodes in virtual time, honest and with each Byzantine attack, over
//! many seeds. `RXCHAIN_SIMULATION_SEEDS` sets the seeds per family (200 unless set).

use rxchain_tests::simulation::{Attack, Report, simulate};

fn seeds() -> u64 {
    std::env::var("RXCHAIN_SIMULATION_SEEDS")
        .ok()
        .and_then(|seeds| seeds.parse().ok())
        .unwrap_or(200)
}

/// Runs a family's seeds and fails with every failed seed's report.
fn family(attack: Option<Attack>, first_seed: u64) {
    let count = seeds();
    let mut failed: Vec<Report> = Vec::new();
    let mut views = 0;
    for seed in first_seed..first_seed + count {
        let report = simulate(seed, attack);
        views += report.view;
        if !report.passed() {
            failed.push(report);
        }
    }
    eprintln!(
        "{attack:?}: {count} seeds, {} failed, {views} views in all",
        failed.len()
    );
    assert!(failed.is_empty(), "{attack:?}: failed seeds: {failed:#?}");
}

#[test]
fn honest_consortium() {
    family(None, 1_000);
}

#[test]
fn junk_bodies() {
    family(Some(Attack::JunkBodies), 2_000);
}

#[test]
fn swapped_bodies() {
    family(Some(Attack::SwappedBodies), 3_000);
}

#[test]
fn future_view_floods() {
    family(Some(Attack::FutureViews), 4_000);
}

#[test]
fn attestation_floods() {
    family(Some(Attack::AttestationFlood), 5_000);
}

#[test]
fn repeated_transactions() {
    family(Some(Attack::RepeatedTransactions), 6_000);
}

#[test]
fn censorship() {
    family(Some(Attack::Censorship), 7_000);
}

/// A seed replays the same run: every delivery and stored block, in the same order.
#[test]
fn a_seed_replays_the_same_run() {
    for attack in [None, Some(Attack::FutureViews), Some(Attack::Censorship)] {
        let first = simulate(42, attack);
        let second = simulate(42, attack);
        assert!(first.passed(), "{first:#?}");
        assert_eq!(
            first.digest, second.digest,
            "{attack:?}: {first:#?} {second:#?}"
        );
        assert_eq!(first.heights, second.heights);
    }
}

/// Soak: `RXCHAIN_SIMULATION_SOAK_SEEDS=2000 cargo test -p rxchain-tests --release --test
/// simulation -- --ignored soak` (from `RXCHAIN_SIMULATION_SOAK_FIRST_SEED`, 100,000 unless
/// set), every family.
#[test]
#[ignore = "long: run explicitly for soak testing"]
fn soak() {
    let count: u64 = std::env::var("RXCHAIN_SIMULATION_SOAK_SEEDS")
        .ok()
        .and_then(|seeds| seeds.parse().ok())
        .unwrap_or(1_000);
    let first: u64 = std::env::var("RXCHAIN_SIMULATION_SOAK_FIRST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(100_000);
    let mut failed = Vec::new();
    for attack in std::iter::once(None).chain(Attack::ALL.map(Some)) {
        for seed in first..first + count {
            let report = simulate(seed, attack);
            if !report.passed() {
                eprintln!("{report:#?}");
                failed.push(report);
            }
        }
    }
    assert!(failed.is_empty(), "{} failed runs", failed.len());
}
