//! The crate's own event sources and the objects they wait on: time,
//! channels (and channels fed from other threads), notify objects, events,
//! semaphores, and futures (with blocking work on a thread pool). Each file
//! also adds the constructor of its objects to
//! [`DriverHandle`](super::DriverHandle).

pub(crate) mod channel;
pub(crate) mod event;
pub(crate) mod future;
pub(crate) mod notify;
pub(crate) mod receive;
pub(crate) mod remote_channel;
pub(crate) mod semaphore;
pub(crate) mod time;
