//! [`Shard`]: what a shard's main task gets (its index, its mesh, its
//! inbox), and [`Finished`]: what is left of a shard once it ended.

use std::fmt;

use super::inbox::Inbox;
use super::mesh::Mesh;

/// What a shard's main task gets: the shard's index, the [`Mesh`] that
/// reaches every shard, and the shard's [`Inbox`]. `!Send`: it stays on
/// its shard's thread (the mesh, which is `Send`, can be cloned out).
///
/// ```
/// use coshare::driver::shards::{Shard, ShardsBuilder};
/// use coshare::driver::Task;
/// use coshare::{Eff, Yields};
///
/// let mut shards = ShardsBuilder::new()
///     .shards(2)
///     .local(|index, _| index * 10, |t: &mut Task<usize>, shard: Shard<(), usize>| -> Eff<Yields, ()> {
///         *t.state() += shard.index();
///         Ok(()) // the shard ends when its main task does
///     })
///     .unwrap();
/// shards.run_until_idle();
/// let states: Vec<usize> = shards.finish().into_iter().map(|end| end.unwrap().state).collect();
/// assert_eq!(states, [0, 11]);
/// ```
pub struct Shard<M, S: 'static> {
    pub(crate) index: usize,
    pub(crate) mesh: Mesh<M, S>,
    pub(crate) inbox: Inbox<M>,
}

impl<M, S: 'static> Shard<M, S> {
    /// This shard's index, from `0` to the number of shards less one.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The mesh: sends, calls and spawns on any shard.
    pub fn mesh(&self) -> &Mesh<M, S> {
        &self.mesh
    }

    /// The messages sent to this shard, for
    /// [`Task::recv`](crate::driver::Task::recv).
    pub fn inbox(&mut self) -> &mut Inbox<M> {
        &mut self.inbox
    }

    /// The mesh and the inbox, to keep apart (in other tasks, in the
    /// state).
    pub fn into_parts(self) -> (Mesh<M, S>, Inbox<M>) {
        (self.mesh, self.inbox)
    }
}

impl<M, S: 'static> fmt::Debug for Shard<M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shard")
            .field("index", &self.index)
            .field("inbox", &self.inbox)
            .finish_non_exhaustive()
    }
}

/// What is left of a shard that ended without failing: its state (after
/// its tasks were torn down) and the messages that were still in its
/// queue, undelivered (a [`Reply`](super::Reply) among them answers its
/// caller with [`CallError::NoReply`](super::CallError::NoReply) once
/// dropped).
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished<S, M> {
    /// The shard's index.
    pub index: usize,
    /// The shard's state.
    pub state: S,
    /// The messages that were sent to the shard and never received, in
    /// the order they were queued.
    pub undelivered: Vec<M>,
}
