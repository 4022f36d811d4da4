//! [`Runner`]: one shard's driver, its main task and the task that spawns
//! what other shards send; and how a shard ends. Used by both ways of
//! running shards (a thread each, or all on the current thread).
//!
//! A shard's life:
//!
//! ```text
//! start: state = make_state(index, handle); spawn the spawner, then main
//! run:   until main finishes (returns, is interrupted or panics),
//!        or the shard is stopped
//! end:   close its queues (later sends give their message back)
//!        → main's outcome → tear down every task → drain the queue
//!        → Finished { state, undelivered } or a ShardFailure
//! ```

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use super::error::ShardFailure;
use super::inbox::{Inbox, LaneRecv};
use super::mesh::{Mesh, Peer};
use super::shard::{Finished, Shard};
use crate::driver::builder::DriverBuilder;
use crate::driver::handle::DriverHandle;
use crate::driver::join::{JoinError, JoinHandle};
use crate::driver::run::Driver;
use crate::driver::task::Task;
use crate::effect::{Eff, Yields};
use crate::error::SpawnError;

/// Builds a shard's state on its thread.
pub(crate) type MakeState<S> = dyn Fn(usize, &DriverHandle) -> S + Send + Sync;
/// A shard's main task.
pub(crate) type Main<M, S> = dyn Fn(&mut Task<'_, S>, Shard<M, S>) -> Eff<Yields, ()> + Send + Sync;

/// One running shard. See the module docs.
pub(crate) struct Runner<M, S: 'static> {
    pub(crate) index: usize,
    pub(crate) driver: Driver<S>,
    main: JoinHandle<()>,
    peer: Peer<M, S>,
}

impl<M: 'static, S: 'static> Runner<M, S> {
    /// Builds the shard's driver and state and spawns its tasks. A panic
    /// of `make_state` is the shard's failure.
    pub(crate) fn start(
        mesh: Mesh<M, S>,
        virtual_clock: bool,
        make_state: &dyn Fn(usize, &DriverHandle) -> S,
        main: &Arc<Main<M, S>>,
    ) -> Result<Runner<M, S>, ShardFailure> {
        let index = mesh.index();
        let peer = mesh.shared().peers[index].clone();
        let built = panic::catch_unwind(AssertUnwindSafe(|| {
            let builder = if virtual_clock {
                DriverBuilder::new().virtual_clock()
            } else {
                DriverBuilder::new()
            };
            builder.build_with(|handle| make_state(index, handle))
        }));
        let mut driver = built.map_err(|payload| ShardFailure::Panicked {
            shard: index,
            payload,
        })?;
        #[cfg(feature = "tracing")]
        driver
            .handle()
            .shared()
            .reactor
            .borrow_mut()
            .tasks
            .set_shard(index);
        let spawns = Arc::clone(&peer.spawns);
        driver
            .spawn(move |t: &mut Task<'_, S>| -> Eff<Yields, ()> {
                while let Ok(body) = t.wait(LaneRecv::new(&spawns, index))? {
                    // A body that cannot get a stack is dropped, unrun, as
                    // one still queued when the shard stops.
                    drop(t.spawn(body));
                }
                Ok(())
            })
            .map_err(|error| spawn_failure(index, error))?;
        let shard = Shard {
            index,
            inbox: Inbox::new(Arc::clone(&peer.messages), index),
            mesh,
        };
        let main = Arc::clone(main);
        let main = driver
            .spawn(move |t: &mut Task<'_, S>| main(t, shard))
            .map_err(|error| spawn_failure(index, error))?;
        Ok(Runner {
            index,
            driver,
            main,
            peer,
        })
    }

    /// Whether the main task has finished, and with it the shard.
    pub(crate) fn main_finished(&self) -> bool {
        self.main.is_finished()
    }

    /// Runs the driver until the main task has finished, or until it is
    /// asked to stop, or until nothing is left that could wake a task.
    pub(crate) fn run(&mut self) {
        let main = &self.main;
        // A deadlock ends the run like a stop: the shard ends, and its
        // tasks are torn down.
        let _ = self.driver.run_until_state(|_| main.is_finished());
    }

    /// Ends the shard: closes its queues, tears down its tasks, and gives
    /// what is left, or why it failed. A message still queued is handed
    /// back with the state; on a failure it is dropped on this thread (a
    /// [`Reply`](super::Reply) in it answers its caller).
    pub(crate) fn end(self) -> Result<Finished<S, M>, ShardFailure> {
        let Runner {
            index,
            driver,
            mut main,
            peer,
        } = self;
        peer.messages.close();
        peer.spawns.close();
        let outcome = main.try_join();
        let state = panic::catch_unwind(AssertUnwindSafe(|| driver.into_state()));
        let undelivered = peer.messages.drain();
        drop(peer.spawns.drain());
        if let Some(Err(JoinError::Panicked(payload))) = outcome {
            let payload = payload.unwrap_or_else(|| Box::new("the main task panicked"));
            return Err(ShardFailure::Panicked {
                shard: index,
                payload,
            });
        }
        let state = state.map_err(|payload| ShardFailure::Panicked {
            shard: index,
            payload,
        })?;
        Ok(Finished {
            index,
            state,
            undelivered,
        })
    }
}

fn spawn_failure<F>(shard: usize, error: SpawnError<F>) -> ShardFailure {
    ShardFailure::Spawn {
        shard,
        error: error.into(),
    }
}
