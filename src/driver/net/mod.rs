//! Sockets for driver tasks, through `mio` (feature `io`): the socket
//! types and their sources. The task's socket methods are in `task_io.rs`.

mod tcp;

pub(crate) use tcp::Connected;
pub use tcp::{Accept, ReadSome, TcpListener, TcpStream, WriteSome};
