//! [`ShardsBuilder`]: how many shards, how deep their queues, which clock;
//! then shards on a thread each ([`start`](ShardsBuilder::start)) or all
//! on the current thread ([`local`](ShardsBuilder::local)).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::error::{ShardFailure, StartError};
use super::local::LocalShards;
use super::mesh::{Mesh, MeshShared};
use super::runner::{Main, MakeState, Runner};
use super::shard::{Finished, Shard};
use super::threads::{Control, Shards, shard_thread};
use crate::driver::handle::DriverHandle;
use crate::driver::task::Task;
use crate::effect::{Eff, Yields};

/// The queue capacity of a shard when none is set.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// Sets up shards: one driver per thread, each with its own state, joined
/// by a [`Mesh`] of bounded queues. See the [module docs](super).
///
/// ```
/// use coshare::driver::shards::ShardsBuilder;
///
/// let builder = ShardsBuilder::new().shards(4).queue_capacity(64);
/// # drop(builder);
/// ```
#[derive(Clone, Debug)]
pub struct ShardsBuilder {
    shards: Option<usize>,
    capacity: usize,
    virtual_clock: bool,
    pin_to_cores: bool,
}

impl Default for ShardsBuilder {
    fn default() -> Self {
        ShardsBuilder::new()
    }
}

impl ShardsBuilder {
    /// One shard per core ([`std::thread::available_parallelism`], or one
    /// if that is unknown), queues of [`DEFAULT_QUEUE_CAPACITY`] messages,
    /// real clocks.
    pub fn new() -> Self {
        ShardsBuilder {
            shards: None,
            capacity: DEFAULT_QUEUE_CAPACITY,
            virtual_clock: false,
            pin_to_cores: false,
        }
    }

    /// How many shards (threads) to run. Zero is refused when starting
    /// ([`StartError::NoShards`]).
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// How many messages each shard's queue holds (and, apart, how many
    /// task bodies its queue of spawns holds) before senders wait. Zero is
    /// refused when starting ([`StartError::ZeroCapacity`]).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Runs each shard's driver on a virtual clock (see
    /// [`DriverBuilder::virtual_clock`](crate::driver::DriverBuilder::virtual_clock)).
    /// [`local`](ShardsBuilder::local) always does.
    pub fn virtual_clock(mut self) -> Self {
        self.virtual_clock = true;
        self
    }

    /// Pins each shard's thread to one CPU, before its state is built:
    /// shard `i` to the `i`-th of the CPUs the calling thread may run on,
    /// going round again when there are more shards than CPUs. A shard then
    /// keeps its caches and is never moved by the scheduler; leave the
    /// other CPUs to the rest of the program (a benchmark client, say).
    ///
    /// [`start`](ShardsBuilder::start) fails with
    /// [`StartError::Cpus`] if the CPUs cannot be listed; a shard whose
    /// thread cannot be pinned fails with [`ShardFailure::Pin`] (and stops
    /// the others). [`local`](ShardsBuilder::local) runs every shard on the
    /// calling thread and pins nothing.
    pub fn pin_to_cores(mut self) -> Self {
        self.pin_to_cores = true;
        self
    }

    fn count(&self) -> Result<usize, StartError> {
        if self.capacity == 0 {
            return Err(StartError::ZeroCapacity);
        }
        let shards = self.shards.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        if shards == 0 {
            return Err(StartError::NoShards);
        }
        Ok(shards)
    }

    /// Starts the shards, a thread each. On shard `i`'s thread,
    /// `make_state(i, handle)` builds its state (which need not be `Send`),
    /// then `main` runs as its main task with the shard's [`Shard`]; the
    /// shard ends when `main` does (its other tasks are then torn down),
    /// or when it is stopped. `finish` then turns what is left of it
    /// ([`Finished`]: state and undelivered messages) into the `Send`
    /// value [`Shards::join`] returns.
    ///
    /// A task's panic stays in that task (its joiner sees it); a panic of
    /// `main`, `make_state` or `finish` is the shard's failure, reported
    /// with its index, and it stops the other shards.
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// use coshare::driver::shards::{Finished, Reply, Shard, ShardsBuilder};
    /// use coshare::driver::Task;
    /// use coshare::{Eff, Yields};
    ///
    /// // Shard 1 keeps a total of what it is asked to add; shard 0 asks it
    /// // once and tells the caller the answer.
    /// type Add = (u64, Reply<u64>);
    /// let (told, answer) = mpsc::channel();
    /// let shards = ShardsBuilder::new()
    ///     .shards(2)
    ///     .start(
    ///         |_, _| 0u64,
    ///         move |t: &mut Task<u64>, mut shard: Shard<Add, u64>| -> Eff<Yields, ()> {
    ///             if shard.index() == 0 {
    ///                 let total = shard.mesh().call(t, 1, |reply| (5, reply))?.unwrap();
    ///                 told.send(total).unwrap();
    ///                 return Ok(()); // shard 0 ends here
    ///             }
    ///             while let Ok((n, reply)) = t.recv(shard.inbox())? {
    ///                 *t.state() += n;
    ///                 let _ = reply.send(*t.state());
    ///             }
    ///             Ok(()) // the inbox closed: shard 1 ends
    ///         },
    ///         |end: Finished<u64, Add>| end.state,
    ///     )
    ///     .unwrap();
    /// assert_eq!(answer.recv().unwrap(), 5);
    /// shards.shutdown();
    /// let totals: Vec<u64> = shards.join().into_iter().map(Result::unwrap).collect();
    /// assert_eq!(totals, [0, 5]);
    /// ```
    pub fn start<M, S, T>(
        self,
        make_state: impl Fn(usize, &DriverHandle) -> S + Send + Sync + 'static,
        main: impl Fn(&mut Task<'_, S>, Shard<M, S>) -> Eff<Yields, ()> + Send + Sync + 'static,
        finish: impl Fn(Finished<S, M>) -> T + Send + Sync + 'static,
    ) -> Result<Shards<T>, StartError>
    where
        M: Send + 'static,
        S: 'static,
        T: Send + 'static,
    {
        let count = self.count()?;
        let cpus = if self.pin_to_cores {
            match core_affinity::get_core_ids() {
                Some(cpus) if !cpus.is_empty() => Some(cpus),
                _ => return Err(StartError::Cpus),
            }
        } else {
            None
        };
        let shared = Arc::new(MeshShared::<M, S>::new(count, self.capacity, None));
        let control = Arc::new(Control::new(shared.clone(), count));
        let make_state: Arc<MakeState<S>> = Arc::new(make_state);
        let main: Arc<Main<M, S>> = Arc::new(main);
        let finish: Arc<dyn Fn(Finished<S, M>) -> T + Send + Sync> = Arc::new(finish);
        let mut threads = Vec::with_capacity(count);
        for index in 0..count {
            let mesh = Mesh::new(Arc::clone(&shared), index);
            let (make_state, main, finish, control_here) = (
                Arc::clone(&make_state),
                Arc::clone(&main),
                Arc::clone(&finish),
                Arc::clone(&control),
            );
            let virtual_clock = self.virtual_clock;
            let cpu = cpus.as_ref().map(|cpus| cpus[index % cpus.len()]);
            let spawned = std::thread::Builder::new()
                .name(format!("shard-{index}"))
                .spawn(move || {
                    shard_thread(
                        mesh,
                        virtual_clock,
                        cpu,
                        make_state,
                        main,
                        finish,
                        control_here,
                    )
                });
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    // Dropping the shards started so far stops and joins them.
                    drop(Shards::new(control, threads));
                    return Err(StartError::Thread {
                        shard: index,
                        error,
                    });
                }
            }
        }
        Ok(Shards::new(control, threads))
    }

    /// Makes the shards on the current thread, each on a virtual clock, for
    /// tests: nothing runs until [`LocalShards::run_until_idle`] (or
    /// [`run_for`](LocalShards::run_for)), which runs them in index order.
    /// `make_state` and `main` are as for [`start`](ShardsBuilder::start);
    /// [`LocalShards::finish`] gives each shard's [`Finished`] itself.
    ///
    /// ```
    /// use coshare::driver::shards::{Shard, ShardsBuilder, StartError};
    /// use coshare::driver::Task;
    /// use coshare::{Eff, Yields};
    ///
    /// let main = |_: &mut Task<()>, _: Shard<(), ()>| -> Eff<Yields, ()> { Ok(()) };
    /// let error = ShardsBuilder::new().shards(0).local(|_, _| (), main).unwrap_err();
    /// assert!(matches!(error, StartError::NoShards));
    /// ```
    pub fn local<M, S>(
        self,
        make_state: impl Fn(usize, &DriverHandle) -> S + 'static,
        main: impl Fn(&mut Task<'_, S>, Shard<M, S>) -> Eff<Yields, ()> + Send + Sync + 'static,
    ) -> Result<LocalShards<M, S>, StartError>
    where
        M: Send + 'static,
        S: 'static,
    {
        let count = self.count()?;
        let activity = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(MeshShared::<M, S>::new(
            count,
            self.capacity,
            Some(Arc::clone(&activity)),
        ));
        let main: Arc<Main<M, S>> = Arc::new(main);
        let runners: Vec<Result<Runner<M, S>, ShardFailure>> = (0..count)
            .map(|index| {
                Runner::start(
                    Mesh::new(Arc::clone(&shared), index),
                    true,
                    &make_state,
                    &main,
                )
            })
            .collect();
        Ok(LocalShards::new(runners, shared, activity))
    }
}
