//! [`LocalShards`]: every shard on the current thread, on virtual clocks,
//! run in a fixed order: for tests of a protocol between shards.
//!
//! The shards are the same as on their own threads (same queues, same
//! sources, same wake-ups through each driver's remote handle, which on
//! the driver's own thread wake at once); only who runs them differs. A
//! pass runs each shard's driver until it is idle, in index order; passes
//! repeat until one leaves the queues and replies untouched (an activity
//! counter, bumped by every push, pop, close and answer, says so).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::error::ShardFailure;
use super::mesh::{CloseQueues, Mesh, MeshShared};
use super::runner::Runner;
use super::shard::Finished;
use crate::driver::run::Driver;

/// How a shard of [`LocalShards`] stands.
enum Slot<M, S: 'static> {
    Running(Box<Runner<M, S>>),
    Ended(Result<Finished<S, M>, ShardFailure>),
    /// Taken by [`LocalShards::finish`].
    Gone,
}

/// Every shard on the current thread, each on a virtual clock, run in a
/// fixed order: made by [`ShardsBuilder::local`](super::ShardsBuilder::local),
/// for deterministic tests of what shards say to each other.
///
/// [`run_until_idle`](LocalShards::run_until_idle) runs each shard until
/// it is idle, in index order, and again until no shard sends, receives
/// or answers anything more. A shard whose main task panics fails; as on
/// threads, the other shards are then stopped.
///
/// ```
/// use coshare::driver::shards::{Shard, ShardsBuilder, ShardSendError};
/// use coshare::driver::Task;
/// use coshare::{Eff, Yields};
///
/// let mut shards = ShardsBuilder::new()
///     .shards(2)
///     .local(|_, _| Vec::new(), |t: &mut Task<Vec<String>>, mut shard: Shard<String, Vec<String>>| -> Eff<Yields, ()> {
///         if shard.index() == 1 {
///             return Ok(()); // shard 1 ends at once
///         }
///         while let Ok(word) = t.recv(shard.inbox())? {
///             t.state().push(word);
///         }
///         Ok(())
///     })
///     .unwrap();
/// shards.run_until_idle();
/// assert!(shards.is_running(0) && !shards.is_running(1));
/// let mesh = shards.mesh(); // for the test's own messages
/// mesh.try_send(0, "hello".to_string()).unwrap();
/// let error = mesh.try_send(1, "hello".to_string()).unwrap_err();
/// assert!(matches!(error, ShardSendError::Stopped { shard: 1, .. }));
/// assert_eq!(error.into_message(), "hello"); // given back
/// shards.run_until_idle();
/// let ends = shards.finish();
/// assert_eq!(ends[0].as_ref().unwrap().state, ["hello"]);
/// ```
pub struct LocalShards<M, S: 'static> {
    slots: Vec<Slot<M, S>>,
    shared: Arc<MeshShared<M, S>>,
    activity: Arc<AtomicU64>,
}

impl<M: Send + 'static, S: 'static> LocalShards<M, S> {
    pub(crate) fn new(
        runners: Vec<Result<Runner<M, S>, ShardFailure>>,
        shared: Arc<MeshShared<M, S>>,
        activity: Arc<AtomicU64>,
    ) -> LocalShards<M, S> {
        let slots = runners
            .into_iter()
            .map(|runner| match runner {
                Ok(runner) => Slot::Running(Box::new(runner)),
                Err(failure) => Slot::Ended(Err(failure)),
            })
            .collect();
        let mut shards = LocalShards {
            slots,
            shared,
            activity,
        };
        if shards.failed() {
            shards.stop_all();
        }
        shards
    }

    /// How many shards there are.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no shards (never: at least one is made).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// A mesh for code outside the shards (the test itself): it sends with
    /// [`Mesh::try_send`]; its [`index`](Mesh::index) is `shards()`.
    pub fn mesh(&self) -> Mesh<M, S> {
        Mesh::new(Arc::clone(&self.shared), self.slots.len())
    }

    /// Shard `index`'s driver while it runs (to look at its state or its
    /// tasks, or to run it alone); `None` once it ended.
    pub fn driver(&mut self, index: usize) -> Option<&mut Driver<S>> {
        match self.slots.get_mut(index)? {
            Slot::Running(runner) => Some(&mut runner.driver),
            _ => None,
        }
    }

    /// Whether shard `index` still runs.
    pub fn is_running(&self, index: usize) -> bool {
        matches!(self.slots.get(index), Some(Slot::Running(_)))
    }

    /// Runs every shard until all are idle and none has anything more to
    /// say to another; shards whose main task finished end (see
    /// [`finish`](LocalShards::finish)). Time does not advance.
    pub fn run_until_idle(&mut self) {
        loop {
            let before = self.activity.load(Ordering::Relaxed);
            for index in 0..self.slots.len() {
                if let Slot::Running(runner) = &mut self.slots[index] {
                    runner.driver.run_until_idle();
                    if runner.main_finished() {
                        self.end(index);
                    }
                }
            }
            if self.failed() {
                self.stop_all();
            }
            if self.activity.load(Ordering::Relaxed) == before {
                return;
            }
        }
    }

    /// Lets `duration` of virtual time pass: every shard in turn runs
    /// until its clock is `duration` later than now (the others wait
    /// meanwhile), then the shards run until idle. A protocol that needs
    /// finer steps takes several.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until_idle();
        for index in 0..self.slots.len() {
            if let Slot::Running(runner) = &mut self.slots[index] {
                // Virtual clocks, and every wait on another shard is an
                // outside wait: a run to a deadline cannot deadlock.
                let _ = runner.driver.run_for(duration);
                if runner.main_finished() {
                    self.end(index);
                }
            }
        }
        self.run_until_idle();
    }

    /// A graceful stop: closes every inbox (see
    /// [`Shards::shutdown`](super::Shards::shutdown)). Run the shards
    /// afterwards to let them end.
    pub fn shutdown(&mut self) {
        self.shared.close_inboxes();
    }

    /// Ends shard `index` now, as a stopped shard on its thread ends: its
    /// queues close (sends to it give their message back), its tasks are
    /// torn down. Nothing if it ended already.
    pub fn stop(&mut self, index: usize) {
        if self.is_running(index) {
            self.end(index);
            if self.failed() {
                self.stop_all();
            }
        }
    }

    /// Ends every shard that still runs, in index order, and gives what is
    /// left of each one, or why it failed, in shard order.
    pub fn finish(mut self) -> Vec<Result<Finished<S, M>, ShardFailure>> {
        self.stop_all();
        self.slots
            .iter_mut()
            .map(|slot| match std::mem::replace(slot, Slot::Gone) {
                Slot::Ended(result) => result,
                _ => unreachable!("every shard ended"),
            })
            .collect()
    }

    fn end(&mut self, index: usize) {
        if !matches!(self.slots[index], Slot::Running(_)) {
            return;
        }
        if let Slot::Running(runner) = std::mem::replace(&mut self.slots[index], Slot::Gone) {
            self.slots[index] = Slot::Ended(runner.end());
        }
    }

    fn failed(&self) -> bool {
        self.slots
            .iter()
            .any(|slot| matches!(slot, Slot::Ended(Err(_))))
    }

    /// Closes every queue first (so that no shard's teardown sends to one
    /// not yet torn down), then ends every running shard.
    fn stop_all(&mut self) {
        self.shared.close_all();
        for index in 0..self.slots.len() {
            self.end(index);
        }
    }
}

impl<M, S: 'static> fmt::Debug for LocalShards<M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let running: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| matches!(slot, Slot::Running(_)))
            .map(|(index, _)| index)
            .collect();
        f.debug_struct("LocalShards")
            .field("shards", &self.slots.len())
            .field("running", &running)
            .finish_non_exhaustive()
    }
}
