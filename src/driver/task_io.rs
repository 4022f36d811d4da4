//! What a [`Task`] does with sockets: connect, accept, read and write, each
//! a yield point.

use std::io;
use std::net::SocketAddr;

use super::net::{Connected, TcpListener, TcpStream};
use super::task::Task;
use super::wait;
use crate::effect::{Eff, Yields};

impl<S: 'static> Task<'_, S> {
    /// Connects to `addr`, waiting until the connection is established or
    /// fails.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn tcp_connect(&mut self, addr: SocketAddr) -> Eff<Yields, io::Result<TcpStream>> {
        let mut stream = match TcpStream::connect_started(self.handle(), addr) {
            Ok(stream) => stream,
            Err(err) => return Ok(Err(err)),
        };
        let connected = self.wait(Connected {
            stream: &mut stream,
            waiting: false,
        })?;
        Ok(connected.map(|()| stream))
    }

    /// Accepts the next connection, waiting for one.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn accept(
        &mut self,
        listener: &mut TcpListener,
    ) -> Eff<Yields, io::Result<(TcpStream, SocketAddr)>> {
        self.wait(wait::accept(listener))
    }

    /// Reads some bytes, waiting until there are any. `Ok(0)` means the peer
    /// closed its side (or `buf` is empty).
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn read(
        &mut self,
        stream: &mut TcpStream,
        buf: &mut [u8],
    ) -> Eff<Yields, io::Result<usize>> {
        self.wait(wait::read(stream, buf))
    }

    /// Writes some bytes, waiting until the socket takes any.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn write(&mut self, stream: &mut TcpStream, buf: &[u8]) -> Eff<Yields, io::Result<usize>> {
        self.wait(wait::write(stream, buf))
    }

    /// Writes all of `buf`, waiting as needed. A peer that stopped reading
    /// (closed or reset) is an error.
    #[cfg_attr(docsrs, doc(cfg(feature = "io")))]
    pub fn write_all(
        &mut self,
        stream: &mut TcpStream,
        mut buf: &[u8],
    ) -> Eff<Yields, io::Result<()>> {
        while !buf.is_empty() {
            match self.write(stream, buf)? {
                Ok(0) => return Ok(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => buf = &buf[n..],
                Err(err) => return Ok(Err(err)),
            }
        }
        Ok(Ok(()))
    }
}
