//! [`Receive`]: what a task can receive from, the receiver of a channel
//! ([`Receiver`]) or of a remote channel
//! ([`RemoteReceiver`](crate::driver::RemoteReceiver)), so that one
//! [`Task::recv`](crate::driver::Task::recv) and one
//! [`wait::recv`](crate::driver::wait::recv) serve both.

use super::channel::{Receiver, Recv, RecvError};
use crate::driver::source::Source;

/// Keeps [`Receive`] to the crate's receivers.
pub(crate) mod sealed {
    pub trait Sealed {}
}

/// The receiving end of a channel, which a task can wait on:
/// [`Receiver`], and [`RemoteReceiver`](crate::driver::RemoteReceiver) (fed
/// from other threads). [`Task::recv`](crate::driver::Task::recv) and
/// [`wait::recv`](crate::driver::wait::recv) take either. Sealed.
pub trait Receive: sealed::Sealed {
    /// The messages.
    type Item;
    /// The source that waits for the next message.
    type Recv<'a>: Source<Output = Result<Self::Item, RecvError>>
    where
        Self: 'a;

    /// The source that waits for the next message: `Err(RecvError)` once
    /// every sender is gone and the channel is empty.
    fn recv_source(&mut self) -> Self::Recv<'_>;
}

impl<T> sealed::Sealed for Receiver<T> {}

impl<T> Receive for Receiver<T> {
    type Item = T;
    type Recv<'a>
        = Recv<'a, T>
    where
        T: 'a;

    #[inline(always)]
    fn recv_source(&mut self) -> Recv<'_, T> {
        Recv { rx: self }
    }
}
