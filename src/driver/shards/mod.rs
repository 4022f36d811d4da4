//! Thread-per-core: one driver per thread (a *shard*), each with its own
//! state, joined by typed messages.
//!
//! One thread is where the crate's guarantees live. To use more cores,
//! run more drivers: [`ShardsBuilder::start`] starts `N` threads (one per
//! core by default), builds each shard's state *on its thread* (so it
//! need not be `Send`) and runs the shard's main task. Tasks never move
//! between threads; messages do. Each shard reaches every other through
//! its [`Mesh`] (`Send + Sync + Clone`):
//!
//! * [`Mesh::send`] puts a message of type `M` in another shard's bounded
//!   queue, waiting while it is full (back-pressure; [`Mesh::try_send`]
//!   does not wait, and works from any thread); the shard's tasks receive
//!   from its [`Inbox`] with [`Task::recv`](crate::driver::Task::recv);
//! * [`Mesh::call`] sends a request carrying a [`Reply`] and waits for
//!   the answer, as straight-line code;
//! * [`Mesh::spawn_on`] sends a `Send` closure that runs as a task on the
//!   other shard, on its state.
//!
//! ```
//! use coshare::driver::shards::{Reply, Shard, ShardsBuilder};
//! use coshare::driver::Task;
//! use coshare::{Eff, Yields};
//! use std::collections::HashMap;
//!
//! // A key-value store split over two shards by key: each shard owns the
//! // keys that hash to it, and asks the owner for the others.
//! enum Op {
//!     Set(String, u64, Reply<()>),
//!     Get(String, Reply<Option<u64>>),
//! }
//! type Store = HashMap<String, u64>;
//! fn owner(key: &str, shards: usize) -> usize {
//!     key.len() % shards
//! }
//!
//! let mut shards = ShardsBuilder::new()
//!     .shards(2)
//!     .local(|_, _| Store::new(), |t: &mut Task<Store>, mut shard: Shard<Op, Store>| -> Eff<Yields, ()> {
//!         if shard.index() == 0 {
//!             // A client of the store, in a task of shard 0.
//!             let mesh = shard.mesh().clone();
//!             t.spawn(move |t: &mut Task<Store>| -> Eff<Yields, ()> {
//!                 for key in ["a", "bb"] {
//!                     let to = owner(key, mesh.shards());
//!                     mesh.call(t, to, |reply| Op::Set(key.into(), 7, reply))?.unwrap();
//!                 }
//!                 let to = owner("bb", mesh.shards());
//!                 let got = mesh.call(t, to, |reply| Op::Get("bb".into(), reply))?.unwrap();
//!                 assert_eq!(got, Some(7));
//!                 Ok(())
//!             })
//!             .unwrap();
//!         }
//!         // Every shard serves its part of the store.
//!         while let Ok(op) = t.recv(shard.inbox())? {
//!             match op {
//!                 Op::Set(key, value, reply) => {
//!                     t.state().insert(key, value);
//!                     let _ = reply.send(());
//!                 }
//!                 Op::Get(key, reply) => {
//!                     let value = t.state().get(&key).copied();
//!                     let _ = reply.send(value);
//!                 }
//!             }
//!         }
//!         Ok(())
//!     })
//!     .unwrap();
//! shards.run_until_idle();
//! shards.shutdown();
//! let stores: Vec<Store> = shards.finish().into_iter().map(|end| end.unwrap().state).collect();
//! assert_eq!(stores[0]["bb"], 7);
//! assert_eq!(stores[1]["a"], 7);
//! ```
//!
//! # Order, back-pressure, and nothing lost
//!
//! * Messages sent by one task (or one thread) to one shard arrive in the
//!   order they were sent. Tasks that wait for room are woken in the
//!   order they started waiting, one per free place; a woken task that
//!   finds the place taken again waits again, at the back.
//! * A send to a shard that stopped (its main task ended, it failed, or
//!   the shards are shutting down) returns [`ShardSendError::Stopped`]
//!   with the message; to an index past the last shard,
//!   [`ShardSendError::NoSuchShard`]. A call whose request was queued but
//!   never answered returns [`CallError::NoReply`] (its [`Reply`] was
//!   dropped), so no caller waits for a shard that is gone.
//! * Messages still queued when a shard ends are handed back with its
//!   state ([`Finished::undelivered`]); spawn requests still queued are
//!   dropped unrun.
//!
//! # Ending
//!
//! A shard ends when its main task does: its queues close, its other
//! tasks are torn down (each pending wait returns `Err(Interrupt)`), and
//! `finish` turns its state and undelivered messages into a `Send` value.
//! [`Shards::shutdown`] closes every inbox, so main tasks that loop over
//! their inbox end once it is empty (a graceful stop); [`Shards::stop`]
//! also ends every shard at its driver's next round. A shard whose main
//! task, state factory or `finish` panics fails: [`Shards::join`]
//! reports a [`ShardFailure`] with its index, and the other shards are
//! stopped, so none is left waiting for it.
//!
//! # Tests
//!
//! [`ShardsBuilder::local`] makes the same shards on the current thread,
//! each on a virtual clock; [`LocalShards::run_until_idle`] runs them in
//! index order until none has anything more to say to another. A protocol
//! between shards is then tested as deterministically as one task.
//!
//! # Connections on every core
//!
//! With the `io` feature each shard can listen on the same port with
//! `SO_REUSEPORT` ([`TcpListenOptions::reuse_port`](crate::driver::TcpListenOptions)):
//! the kernel spreads new connections over the shards' listeners, and no
//! connection crosses a thread. The other way, one acceptor (a thread of
//! its own, with a blocking `std::net::TcpListener`) sending each
//! `std::net::TcpStream` (which is `Send`) to a shard, which registers it
//! with [`DriverHandle::tcp_stream_from_std`](crate::driver::DriverHandle::tcp_stream_from_std),
//! costs a message per connection and leaves the acceptor's core busier,
//! but lets the program choose the shard (by load, or by what the client
//! asks). An acceptor outside the shards gets a [`Mesh`] from one of them
//! (it is `Send`). `SO_REUSEPORT` spreads by a hash of the addresses, so a few long
//! connections can land on one shard; when a shard stops, connections
//! queued on its listener are reset by the kernel.
//!
//! # Cores
//!
//! By default the operating system places the shards' threads.
//! [`ShardsBuilder::pin_to_cores`] pins shard `i` to the `i`-th CPU the
//! caller may run on, before its state is built, so that a shard keeps its
//! caches; it suits a machine whose cores are the shards' own. A shard
//! that cannot be pinned fails ([`ShardFailure::Pin`]) rather than run
//! unpinned unnoticed.
//!
//! # The rooms of this module
//!
//! ```text
//!   builder.rs (ShardsBuilder: start on threads, or local)
//!     threads.rs (Shards: a thread each, stop, join)   local.rs (LocalShards)
//!       runner.rs (one shard: start, run, end)
//!         shard.rs (Shard, Finished)
//!           mesh.rs (Mesh: send, call, spawn_on; SendMessage)
//!             inbox.rs (Inbox, LaneRecv)   reply.rs (Reply, the answer's wait)
//!               lane.rs (the bounded queue into a shard, its waits)
//!               error.rs (ShardSendError, CallError, ShardFailure, StartError)
//! ```

mod builder;
mod error;
mod inbox;
mod lane;
mod local;
mod mesh;
mod reply;
mod runner;
mod shard;
mod threads;

pub use builder::{DEFAULT_QUEUE_CAPACITY, ShardsBuilder};
pub use error::{CallError, ShardFailure, ShardSendError, StartError};
pub use inbox::{Inbox, LaneRecv};
pub use local::LocalShards;
pub use mesh::{Mesh, SendMessage, SpawnBody};
pub use reply::{Answer, NoReply, Reply};
pub use shard::{Finished, Shard};
pub use threads::Shards;
