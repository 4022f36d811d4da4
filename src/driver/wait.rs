//! The sources a task can wait on, one function each: give one to
//! [`Task::wait`](super::Task::wait), or several as an HList to
//! [`Task::select`](super::Task::select).
//!
//! ```
//! use std::time::Duration;
//!
//! use coshare::driver::{wait, DriverBuilder, Task};
//! use coshare::{Eff, Yields};
//! use frunk::{hlist, Coproduct};
//!
//! let mut driver = DriverBuilder::new().virtual_clock().build(());
//! let (_tx, mut rx) = driver.handle().channel::<&str>(4);
//! let shutdown = driver.handle().event();
//! let h = driver
//!     .spawn(move |t: &mut Task<()>| -> Eff<Yields, &'static str> {
//!         let fired = t.select(hlist![
//!             wait::recv(&mut rx),
//!             wait::sleep(Duration::from_secs(5)),
//!             wait::event(&shutdown),
//!         ])?;
//!         Ok(match fired {
//!             Coproduct::Inl(_message) => "message",
//!             Coproduct::Inr(Coproduct::Inl(())) => "timeout",
//!             Coproduct::Inr(Coproduct::Inr(_)) => "shutdown",
//!         })
//!     })
//!     .unwrap();
//! assert_eq!(driver.block_on(h).unwrap().unwrap(), "timeout");
//! ```

use std::time::Duration;

use super::join::{JoinHandle, JoinWait};
#[cfg(feature = "io")]
use super::net::{Accept, ReadSome, TcpListener, TcpStream, WriteSome};
use super::reactor::Instant;
use super::sources::channel::{Receiver, Recv, SendWait, Sender};
use super::sources::event::{Event, EventWait};
use super::sources::notify::{Notified, Notify};
use super::sources::time::{Interval, Sleep, Tick};

/// The next message of `rx`, or `Err(RecvError)` once every sender is
/// gone and the channel is empty.
#[inline(always)]
pub fn recv<T>(rx: &mut Receiver<T>) -> Recv<'_, T> {
    Recv { rx }
}

/// Sends `msg` on `tx`, waiting while the channel is full: `Ok(())` once
/// it is in the channel, `Err(SendError(msg))` if the receiver is gone. In
/// a `select` that another source wins the message is not sent: wait on the
/// source by `&mut` to take it back (see [`SendWait`]).
#[inline(always)]
pub fn send<T>(tx: &Sender<T>, msg: T) -> SendWait<'_, T> {
    SendWait {
        tx,
        msg: Some(msg),
        waiter: None,
        handed: false,
    }
}

/// Fires `duration` after the wait starts.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::after(duration)
}

/// Fires at `deadline` (at once if it has passed).
pub fn until(deadline: Instant) -> Sleep {
    Sleep::until(deadline)
}

/// Fires when `notify` hands this task a notification or a stored permit.
pub fn notified(notify: &Notify) -> Notified<'_> {
    Notified { notify, last: None }
}

/// Fires once `event` is set.
pub fn event(event: &Event) -> EventWait<'_> {
    EventWait { event, last: None }
}

/// Fires at the next tick of `interval`, with the tick's instant.
pub fn tick(interval: &mut Interval) -> Tick<'_> {
    Tick {
        interval,
        key: None,
    }
}

/// Fires when the task of `handle` has finished, with its result.
pub fn join<R>(handle: &mut JoinHandle<R>) -> JoinWait<'_, R> {
    JoinWait { handle, last: None }
}

/// Fires with the next connection of `listener`.
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn accept(listener: &mut TcpListener) -> Accept<'_> {
    Accept {
        listener,
        waiting: false,
    }
}

/// Fires when some bytes were read from `stream` into `buf` (`Ok(0)`: the
/// peer closed its side, or `buf` is empty).
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn read<'a>(stream: &'a mut TcpStream, buf: &'a mut [u8]) -> ReadSome<'a> {
    ReadSome {
        stream,
        buf,
        waiting: false,
    }
}

/// Fires when some bytes of `buf` were written to `stream`.
#[cfg(feature = "io")]
#[cfg_attr(docsrs, doc(cfg(feature = "io")))]
pub fn write<'a>(stream: &'a mut TcpStream, buf: &'a [u8]) -> WriteSome<'a> {
    WriteSome {
        stream,
        buf,
        waiting: false,
    }
}
