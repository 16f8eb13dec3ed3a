//! Transaction gossip in batches.
//!
//! Every admitted transaction reaches every validator by gossip. Published one by one, each
//! transaction cost every node a gossipsub message: a message id, a Noise frame, a Yamux frame
//! and a TCP send per peer, which made networking the largest share of a cluster's CPU. A node
//! therefore collects what it admits for a moment ([`GOSSIP_BATCH_DELAY_MS`]) or until a batch
//! is full and publishes the batch as one message. A receiver admits each transaction of a
//! batch on its own, so one bad transaction costs only itself.
//!
//! Wire format: the Borsh encoding of `Vec<Vec<u8>>`, each element a transaction's canonical
//! bytes.

use crate::validation::TRANSACTION_BYTES_MAX;

/// Longest an admitted transaction waits for its batch to be published.
pub const GOSSIP_BATCH_DELAY_MS: u64 = 2;
/// Transaction bytes after which a batch is published at once.
pub const GOSSIP_BATCH_BYTES_MAX: usize = 256 * 1024;
/// Transactions after which a batch is published at once.
pub const GOSSIP_BATCH_TRANSACTIONS_MAX: usize = 1024;
/// Largest gossip message: a batch reaches its byte limit with at most one maximal
/// transaction more, plus Borsh's length prefixes.
pub const GOSSIP_MESSAGE_BYTES_MAX: usize =
    GOSSIP_BATCH_BYTES_MAX + TRANSACTION_BYTES_MAX + 4 * (GOSSIP_BATCH_TRANSACTIONS_MAX + 1);

/// Transactions waiting to be gossiped.
#[derive(Debug, Default)]
pub struct Outbox {
    transactions: Vec<Vec<u8>>,
    bytes: usize,
    /// A publication of this batch is already scheduled.
    flush_scheduled: bool,
}

/// What [`Outbox::push`] asks the caller to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    /// The batch is full: publish it now.
    PublishNow(Vec<Vec<u8>>),
    /// The first transaction of a batch: schedule its publication.
    ScheduleFlush,
    /// A publication is already scheduled.
    Wait,
}

impl Outbox {
    pub fn push(&mut self, transaction: Vec<u8>) -> Push {
        self.bytes += transaction.len();
        self.transactions.push(transaction);
        if self.bytes >= GOSSIP_BATCH_BYTES_MAX
            || self.transactions.len() >= GOSSIP_BATCH_TRANSACTIONS_MAX
        {
            return Push::PublishNow(self.take());
        }
        if self.flush_scheduled {
            Push::Wait
        } else {
            self.flush_scheduled = true;
            Push::ScheduleFlush
        }
    }

    /// Empties the outbox (a scheduled flush that finds it empty publishes nothing).
    pub fn take(&mut self) -> Vec<Vec<u8>> {
        self.bytes = 0;
        self.flush_scheduled = false;
        std::mem::take(&mut self.transactions)
    }
}

/// The gossip message of a batch.
pub fn encode_batch(transactions: &[Vec<u8>]) -> Vec<u8> {
    borsh::to_vec(transactions).expect("writing to a Vec cannot fail")
}

/// The transactions of a gossip message; `None` when it is not a batch within the limits.
pub fn decode_batch(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    if bytes.len() > GOSSIP_MESSAGE_BYTES_MAX {
        return None;
    }
    let transactions: Vec<Vec<u8>> = borsh::from_slice(bytes).ok()?;
    (transactions.len() <= GOSSIP_BATCH_TRANSACTIONS_MAX).then_some(transactions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_published_when_full_or_after_its_delay() {
        let mut outbox = Outbox::default();
        assert_eq!(outbox.push(vec![1; 100]), Push::ScheduleFlush);
        assert_eq!(outbox.push(vec![2; 100]), Push::Wait);
        assert_eq!(outbox.take(), vec![vec![1; 100], vec![2; 100]]);
        // After a flush the next transaction schedules a new one.
        assert_eq!(outbox.push(vec![3; 10]), Push::ScheduleFlush);
        assert_eq!(outbox.take(), vec![vec![3; 10]]);
        assert!(outbox.take().is_empty());

        for index in 0..GOSSIP_BATCH_TRANSACTIONS_MAX - 1 {
            assert_ne!(
                outbox.push(vec![0; 8]),
                Push::PublishNow(Vec::new()),
                "{index}"
            );
        }
        match outbox.push(vec![0; 8]) {
            Push::PublishNow(batch) => assert_eq!(batch.len(), GOSSIP_BATCH_TRANSACTIONS_MAX),
            other => panic!("expected a full batch, got {other:?}"),
        }
        assert_eq!(
            outbox.push(vec![0; GOSSIP_BATCH_BYTES_MAX / 2]),
            Push::ScheduleFlush
        );
        match outbox.push(vec![0; GOSSIP_BATCH_BYTES_MAX / 2]) {
            Push::PublishNow(batch) => assert_eq!(batch.len(), 2),
            other => panic!("expected a full batch, got {other:?}"),
        }
    }

    #[test]
    fn batches_round_trip_and_oversized_ones_are_refused() {
        let batch = vec![vec![7u8; 300], vec![8u8; 20]];
        assert_eq!(decode_batch(&encode_batch(&batch)), Some(batch));
        let largest = vec![
            vec![0u8; GOSSIP_BATCH_BYTES_MAX - 1],
            vec![0u8; TRANSACTION_BYTES_MAX],
        ];
        assert!(encode_batch(&largest).len() <= GOSSIP_MESSAGE_BYTES_MAX);
        assert!(decode_batch(&encode_batch(&largest)).is_some());
        let too_many = vec![Vec::new(); GOSSIP_BATCH_TRANSACTIONS_MAX + 1];
        assert_eq!(decode_batch(&encode_batch(&too_many)), None);
        assert_eq!(decode_batch(&vec![0u8; GOSSIP_MESSAGE_BYTES_MAX + 1]), None);
        assert_eq!(decode_batch(b"not borsh"), None);
    }
}
