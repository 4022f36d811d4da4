//! Compile-time checks of the driver's auto traits: everything that can
//! reach a stage stays on its thread; only the ways in from other threads
//! cross them.

use static_assertions::{assert_impl_all, assert_not_impl_any};

use super::shards::{
    CallError, Inbox, LocalShards, Mesh, Reply, Shard, ShardFailure, ShardSendError, Shards,
    ShardsBuilder, SpawnBody, StartError,
};
use super::{
    Driver, DriverGone, DriverHandle, Event, JoinHandle, Notify, Receiver, RemoteEvent,
    RemoteHandle, RemoteReceiver, RemoteSender, Sender, Task, Waiter, Waker,
};

// G8, for the driver: tasks never migrate, so nothing that reaches one
// crosses threads, whatever the state or the messages are.
assert_not_impl_any!(Driver<u32>: Send, Sync);
assert_not_impl_any!(Task<'static, u32>: Send, Sync);
assert_not_impl_any!(DriverHandle: Send, Sync);
assert_not_impl_any!(Waker: Send, Sync);
assert_not_impl_any!(JoinHandle<u32>: Send, Sync);
assert_not_impl_any!(Sender<u32>: Send, Sync);
assert_not_impl_any!(Receiver<u32>: Send, Sync);
assert_not_impl_any!(Notify: Send, Sync);
assert_not_impl_any!(Event: Send, Sync);
// A remote channel's receiver stays with its driver too.
assert_not_impl_any!(RemoteReceiver<u32>: Send, Sync);

// The ways in from other threads, and only them.
assert_impl_all!(RemoteHandle: Send, Sync, Clone);
assert_impl_all!(RemoteSender<u32>: Send, Sync, Clone);
assert_impl_all!(RemoteEvent: Send, Sync, Clone);
assert_impl_all!(DriverGone: Send, Sync, std::error::Error);
assert_impl_all!(Waiter: Send, Sync, Copy);
// A remote sender of messages that cannot cross threads is not `Send`
// (and cannot be made: `remote_channel` asks `T: Send`).
assert_not_impl_any!(RemoteSender<std::rc::Rc<u32>>: Send, Sync);

// Shards: tasks, stages and drivers stay on their thread; the mesh, the
// replies and the errors that carry messages cross threads. A mesh is
// `Send` whatever the shards' state is (states never cross), but not for
// messages that are not `Send`.
assert_impl_all!(Mesh<u32, u32>: Send, Sync, Clone);
assert_impl_all!(Mesh<u32, std::rc::Rc<u32>>: Send, Sync, Clone);
assert_not_impl_any!(Mesh<std::rc::Rc<u32>, u32>: Send, Sync);
assert_impl_all!(Reply<u32>: Send, Sync);
assert_impl_all!(SpawnBody<std::rc::Rc<u32>>: Send);
assert_impl_all!(ShardSendError<u32>: Send, Sync, std::error::Error);
assert_impl_all!(CallError<u32>: Send, Sync, std::error::Error);
assert_impl_all!(ShardFailure: Send, std::error::Error);
assert_impl_all!(StartError: Send, Sync, std::error::Error);
assert_impl_all!(Shards<u32>: Send, Sync);
assert_impl_all!(ShardsBuilder: Send, Sync, Clone);
assert_not_impl_any!(Inbox<u32>: Send, Sync);
assert_not_impl_any!(Shard<u32, u32>: Send, Sync);
assert_not_impl_any!(LocalShards<u32, u32>: Send, Sync);
assert_not_impl_any!(crate::Stage<u32>: Send, Sync);
assert_not_impl_any!(crate::Co<u32>: Send, Sync);
