//! Who holds units of each lot (`lot_holders/<gtin>/<lot>`) and each organization's stock by
//! GTIN and lot (`stock/<organization>/<gtin>`): counters kept exact on every custody and status
//! change, so that the reach of a recall and a stock level are one read each, however many packs
//! there are. A call collects its changes in a [`Tally`] and writes each counter once.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use rxchain_sdk::{PANIC, abort, storage_get, storage_remove, storage_set};
use rxchain_trace_types::{Pack, keys};

/// Counter changes of one call, written by [`Tally::write`].
#[derive(Default)]
pub struct Tally {
    /// (gtin, lot) → organization → change of the packs it holds.
    holders: BTreeMap<(String, String), BTreeMap<String, i64>>,
    /// (organization, gtin) → lot → change of the packs in its stock.
    stock: BTreeMap<(String, String), BTreeMap<String, i64>>,
}

impl Tally {
    /// `organization` gains (`change` > 0) or loses custody of packs of `pack`'s lot.
    pub fn holders(&mut self, organization: &str, pack: &Pack, change: i64) {
        *self
            .holders
            .entry((pack.id.gtin.clone(), pack.lot.clone()))
            .or_default()
            .entry(String::from(organization))
            .or_default() += change;
    }

    /// `organization`'s stock of `pack`'s GTIN and lot changes by `change`.
    pub fn stock(&mut self, organization: &str, pack: &Pack, change: i64) {
        *self
            .stock
            .entry((String::from(organization), pack.id.gtin.clone()))
            .or_default()
            .entry(pack.lot.clone())
            .or_default() += change;
    }

    pub fn write(self) {
        for ((gtin, lot), changes) in self.holders {
            let key = keys::lot_holders(&gtin, &lot);
            let mut counts: BTreeMap<String, u64> = storage_get(&key).unwrap_or_default();
            apply(&mut counts, changes, &key);
            // Kept even when empty: it records that the lot exists, for recalls.
            storage_set(&key, &counts);
        }
        for ((organization, gtin), changes) in self.stock {
            let key = keys::stock(&organization, &gtin);
            let mut counts: BTreeMap<String, u64> = storage_get(&key).unwrap_or_default();
            apply(&mut counts, changes, &key);
            if counts.is_empty() {
                storage_remove(&key);
            } else {
                storage_set(&key, &counts);
            }
        }
    }
}

/// Adds the changes, dropping entries that reach zero. A count below zero means the counters
/// and the pack records disagree: a bug, which fails the call rather than be written.
fn apply(counts: &mut BTreeMap<String, u64>, changes: BTreeMap<String, i64>, key: &[u8]) {
    for (name, change) in changes {
        if change == 0 {
            continue;
        }
        let before = counts.get(&name).copied().unwrap_or(0);
        let Some(after) = before.checked_add_signed(change) else {
            abort(
                PANIC,
                &format!(
                    "counter {} of '{name}' would go from {before} by {change}",
                    String::from_utf8_lossy(key)
                ),
            );
        };
        if after == 0 {
            counts.remove(&name);
        } else {
            counts.insert(name, after);
        }
    }
}
