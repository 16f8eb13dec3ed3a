//! Scan counts: how often each code was looked up through this node, and from where.
//!
//! A code scanned many times in many places is likely cloned. The count is this node's
//! observation, kept in the module's own storage namespace (not consensus state), shown on the
//! verification page and in the `x-rxchain-scan-count` header, never in the proven bundle.

use borsh::{BorshDeserialize, BorshSerialize};
use rxchain_node::NodeError;
use rxchain_node::storage::ModuleStore;
use std::sync::Mutex;

/// Most distinct places a scan record remembers.
pub const SCAN_PLACES_MAX: usize = 32;

/// Key prefix of scan records in the module's namespace.
const SCAN_KEY_PREFIX: &[u8] = b"scan/";

/// How often a code was looked up through this node, and from how many places (network
/// prefixes).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ScanRecord {
    pub count: u64,
    pub first_ms: u64,
    pub last_ms: u64,
    /// Distinct places, at most [`SCAN_PLACES_MAX`] (later ones are counted, not listed).
    pub places: Vec<String>,
}

/// The scan counters of one node.
#[derive(Debug)]
pub struct Scans {
    store: ModuleStore,
    /// Serializes the read-modify-write of records, so concurrent scans are all counted.
    lock: Mutex<()>,
}

impl Scans {
    pub fn new(store: ModuleStore) -> Scans {
        Scans {
            store,
            lock: Mutex::new(()),
        }
    }

    fn key(code: &str) -> Vec<u8> {
        [SCAN_KEY_PREFIX, code.as_bytes()].concat()
    }

    /// Counts one lookup of `code` from `place` and returns the record including it.
    pub fn record(&self, code: &str, place: &str, now_ms: u64) -> Result<ScanRecord, NodeError> {
        let _serialized = self.lock.lock().expect("scan lock");
        let key = Scans::key(code);
        let mut record = match self.store.get(&key)? {
            Some(bytes) => ScanRecord::try_from_slice(&bytes)
                .map_err(|error| NodeError::Corrupt(format!("scan record: {error}")))?,
            None => ScanRecord {
                first_ms: now_ms,
                ..ScanRecord::default()
            },
        };
        record.count += 1;
        record.last_ms = now_ms;
        if !record.places.iter().any(|known| known == place)
            && record.places.len() < SCAN_PLACES_MAX
        {
            record.places.push(place.to_string());
        }
        self.store
            .put(&key, &borsh::to_vec(&record).expect("encodes"))?;
        Ok(record)
    }
}
