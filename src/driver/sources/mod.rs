//! The crate's own event sources and the objects they wait on: time,
//! channels, notify objects, events and semaphores. Each file also adds the
//! constructor of its objects to [`DriverHandle`](super::DriverHandle).

pub(crate) mod channel;
pub(crate) mod event;
pub(crate) mod notify;
pub(crate) mod semaphore;
pub(crate) mod time;
