//! openraft's async runtime: tokio, with the randomness openraft draws (its election timeouts)
//! coming from a generator a simulation can seed.
//!
//! In a node the generator is seeded from the operating system on first use in each thread;
//! the Raft simulation seeds it per run, so a seed replays the same elections.

use openraft::async_runtime::{AsyncRuntime, TokioOneShotSender};
use openraft::{OptionalSend, TokioInstant};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

thread_local! {
    static GENERATOR: RefCell<Option<StdRng>> = const { RefCell::new(None) };
}

/// Seeds this thread's generator (the simulation runs each run on one thread).
pub fn seed_thread(seed: u64) {
    GENERATOR.with(|generator| *generator.borrow_mut() = Some(StdRng::seed_from_u64(seed)));
}

fn with_generator<T>(draw: impl FnOnce(&mut StdRng) -> T) -> T {
    GENERATOR.with(|generator| {
        let mut generator = generator.borrow_mut();
        draw(generator.get_or_insert_with(StdRng::from_entropy))
    })
}

/// A handle to this thread's generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadGenerator;

impl RngCore for ThreadGenerator {
    fn next_u32(&mut self) -> u32 {
        with_generator(|generator| generator.next_u32())
    }

    fn next_u64(&mut self) -> u64 {
        with_generator(|generator| generator.next_u64())
    }

    fn fill_bytes(&mut self, bytes: &mut [u8]) {
        with_generator(|generator| generator.fill_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, bytes: &mut [u8]) -> Result<(), rand::Error> {
        with_generator(|generator| generator.try_fill_bytes(bytes))
    }
}

/// tokio, with [`ThreadGenerator`] for openraft's randomness.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RxRuntime;

impl AsyncRuntime for RxRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = tokio::task::JoinHandle<T>;
    type Sleep = tokio::time::Sleep;
    type Instant = TokioInstant;
    type TimeoutError = tokio::time::error::Elapsed;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = tokio::time::Timeout<T>;
    type ThreadLocalRng = ThreadGenerator;
    type OneshotSender<T: OptionalSend> = TokioOneShotSender<T>;
    type OneshotReceiverError = tokio::sync::oneshot::error::RecvError;
    type OneshotReceiver<T: OptionalSend> = tokio::sync::oneshot::Receiver<T>;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        tokio::task::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        tokio::time::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        tokio::time::sleep_until(deadline)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        tokio::time::timeout(duration, future)
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        tokio::time::timeout_at(deadline, future)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        join_error.is_panic()
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        ThreadGenerator
    }

    fn oneshot<T>() -> (Self::OneshotSender<T>, Self::OneshotReceiver<T>)
    where
        T: OptionalSend,
    {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        (TokioOneShotSender(sender), receiver)
    }
}
