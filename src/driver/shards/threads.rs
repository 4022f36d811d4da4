//! [`Shards`]: shards running on a thread each, and how they are stopped
//! together.
//!
//! Every shard thread registers its driver's [`RemoteHandle`] in the
//! shared [`Control`]. Stopping sets `stopping`, closes every queue and
//! asks every registered driver to stop; a thread that registers after
//! that looks at `stopping` (after taking the same lock) and stops its own
//! driver, so no shard misses a stop that raced with its start.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use super::error::ShardFailure;
use super::mesh::{CloseQueues, Mesh};
use super::runner::{Main, MakeState, Runner};
use super::shard::Finished;
use crate::driver::handle::RemoteHandle;

/// What the shards' threads and their owner share.
pub(crate) struct Control {
    queues: Arc<dyn CloseQueues>,
    stopping: AtomicBool,
    drivers: Mutex<Vec<Option<RemoteHandle>>>,
}

impl Control {
    pub(crate) fn new(queues: Arc<dyn CloseQueues>, shards: usize) -> Control {
        Control {
            queues,
            stopping: AtomicBool::new(false),
            drivers: Mutex::new(vec![None; shards]),
        }
    }

    /// Ignores poisoning: nothing panics while holding the lock.
    fn drivers(&self) -> MutexGuard<'_, Vec<Option<RemoteHandle>>> {
        self.drivers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a shard's driver; stops it at once if the shards are
    /// stopping already.
    fn register(&self, index: usize, driver: RemoteHandle) {
        self.drivers()[index] = Some(driver.clone());
        if self.stopping.load(Ordering::SeqCst) {
            let _ = driver.stop();
        }
    }

    /// Closes every inbox: each shard's main task sees its inbox end.
    pub(crate) fn shutdown(&self) {
        self.queues.close_inboxes();
    }

    /// Closes every queue and asks every driver to stop.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.queues.close_all();
        for driver in self.drivers().iter().flatten() {
            // A driver that is gone has stopped already.
            let _ = driver.stop();
        }
    }
}

/// The body of shard `mesh.index()`'s thread.
pub(crate) fn shard_thread<M: 'static, S: 'static, T>(
    mesh: Mesh<M, S>,
    virtual_clock: bool,
    cpu: Option<core_affinity::CoreId>,
    make_state: Arc<MakeState<S>>,
    main: Arc<Main<M, S>>,
    finish: Arc<dyn Fn(Finished<S, M>) -> T + Send + Sync>,
    control: Arc<Control>,
) -> Result<T, ShardFailure> {
    let index = mesh.index();
    let pinned = match cpu {
        Some(cpu) if !core_affinity::set_for_current(cpu) => Err(ShardFailure::Pin {
            shard: index,
            cpu: cpu.id,
        }),
        _ => Ok(()),
    };
    let result = pinned
        .and_then(|()| run_shard(mesh, virtual_clock, &*make_state, &main, &control))
        .and_then(|finished| {
            panic::catch_unwind(AssertUnwindSafe(|| finish(finished))).map_err(|payload| {
                ShardFailure::Panicked {
                    shard: index,
                    payload,
                }
            })
        });
    if result.is_err() {
        // Nobody is left hanging: every other shard stops too.
        control.stop();
    }
    result
}

fn run_shard<M: 'static, S: 'static>(
    mesh: Mesh<M, S>,
    virtual_clock: bool,
    make_state: &MakeState<S>,
    main: &Arc<Main<M, S>>,
    control: &Control,
) -> Result<Finished<S, M>, ShardFailure> {
    let index = mesh.index();
    let mut runner = Runner::start(mesh, virtual_clock, make_state, main)?;
    control.register(index, runner.driver.remote());
    panic::catch_unwind(AssertUnwindSafe(|| runner.run())).map_err(|payload| {
        ShardFailure::Panicked {
            shard: index,
            payload,
        }
    })?;
    runner.end()
}

/// Shards running on a thread each, started by
/// [`ShardsBuilder::start`](super::ShardsBuilder::start); `T` is what each
/// shard's `finish` makes of it.
///
/// [`shutdown`](Shards::shutdown) closes every inbox, so that the main
/// tasks that loop over their inbox end once it is empty; [`stop`](Shards::stop)
/// also asks every driver to stop at once and tears its tasks down;
/// [`join`](Shards::join) waits for every shard to end. Dropping the
/// shards stops and joins them.
pub struct Shards<T> {
    control: Arc<Control>,
    threads: Vec<JoinHandle<Result<T, ShardFailure>>>,
}

impl<T> Shards<T> {
    pub(crate) fn new(
        control: Arc<Control>,
        threads: Vec<JoinHandle<Result<T, ShardFailure>>>,
    ) -> Shards<T> {
        Shards { control, threads }
    }

    /// How many shards there are.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Whether there are no shards (never: at least one is started).
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// A graceful stop: closes every shard's inbox. Sends from then on
    /// give their message back; the messages sent before are still
    /// received, and then each receiving task sees `Err(RecvError)`. A
    /// shard ends when its main task does.
    pub fn shutdown(&self) {
        self.control.shutdown();
    }

    /// Stops every shard now: closes every queue, and asks each driver to
    /// stop at its next round; each shard's tasks are then torn down (a
    /// pending wait returns `Err(Interrupt)`, cleanup runs without
    /// waiting), and its `finish` gets its state.
    pub fn stop(&self) {
        self.control.stop();
    }

    /// Waits for every shard to end; each one's `finish` result, or why it
    /// failed, in shard order. A shard that failed (its main task or its
    /// `finish` panicked) stopped the others: they end as by
    /// [`stop`](Shards::stop).
    pub fn join(mut self) -> Vec<Result<T, ShardFailure>> {
        join_all(std::mem::take(&mut self.threads))
    }
}

fn join_all<T>(threads: Vec<JoinHandle<Result<T, ShardFailure>>>) -> Vec<Result<T, ShardFailure>> {
    threads
        .into_iter()
        .enumerate()
        .map(|(shard, thread)| {
            thread
                .join()
                .unwrap_or_else(|payload| Err(ShardFailure::Panicked { shard, payload }))
        })
        .collect()
}

impl<T> Drop for Shards<T> {
    /// Stops and joins the shards that were not joined.
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.control.stop();
            drop(join_all(std::mem::take(&mut self.threads)));
        }
    }
}

impl<T> fmt::Debug for Shards<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shards")
            .field("shards", &self.threads.len())
            .finish_non_exhaustive()
    }
}
