//! The crate's own event sources and the objects they wait on: time,
//! channels, notify objects and events. Each file also adds the
//! constructor of its objects to [`DriverHandle`](super::DriverHandle).

pub(crate) mod channel;
pub(crate) mod event;
pub(crate) mod notify;
pub(crate) mod time;
