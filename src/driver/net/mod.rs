//! What the driver's poller watches, through `mio` (feature `io`): TCP,
//! UDP and Unix sockets, Unix signals, and the sources that wait on them.
//! The task's methods for them are in `task_io.rs`.
//!
//! ```text
//!   stream.rs (accept, connect, read, write)   datagram.rs (send, recv)
//!     tcp.rs  unix.rs   udp.rs  unix_datagram.rs          signal.rs
//!       socket.rs (StreamSocket, Listener, DatagramSocket)   listen.rs
//!         registration.rs (Registration, Io, the attempt loop,
//!                          the readiness methods of every source)
//! ```

mod datagram;
mod listen;
pub(crate) mod registration;
mod signal;
mod socket;
mod stream;
mod tcp;
mod udp;
mod unix;
mod unix_datagram;

pub use datagram::{RecvDatagram, RecvFrom, SendDatagram, SendTo};
pub use listen::{DEFAULT_BACKLOG, TcpListenOptions, UnixListenOptions};
pub use signal::{SignalWait, Signals};
pub use socket::{DatagramSocket, Listener, StreamSocket};
pub use stream::{Accept, Connect, ReadSome, WriteSome};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};
pub use unix_datagram::UnixDatagram;
