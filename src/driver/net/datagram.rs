//! The sources of datagram sockets, whatever the transport (UDP or
//! Unix): send and receive, to and from an address or the connected peer.
//!
//! The sources are generic over the socket, so `t.send_to`, `t.recv_from`,
//! `t.send_datagram`, `t.recv_datagram` and their
//! [`wait`](crate::driver::wait) functions work the same on a
//! [`UdpSocket`] and a [`UnixDatagram`](crate::driver::UnixDatagram).
//!
//! Every attempt is made: unlike a byte stream, a socket that had one
//! datagram may have another, and the next edge comes only with a new one.

use std::io;

use super::registration::readiness_methods;
use super::socket::DatagramSocket;
use super::udp::UdpSocket;
use crate::driver::reactor::poller::Direction;
use crate::driver::source::{Context, Source};

/// Waits until a datagram is sent to an address: the source behind
/// [`Task::send_to`](crate::driver::Task::send_to), made by
/// [`wait::send_to`](crate::driver::wait::send_to).
pub struct SendTo<'a, D: DatagramSocket = UdpSocket> {
    pub(crate) socket: &'a mut D,
    pub(crate) buf: &'a [u8],
    pub(crate) target: D::Target<'a>,
    pub(crate) waiting: bool,
}

impl<D: DatagramSocket> Source for SendTo<'_, D> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<io::Result<usize>> {
        let (socket, buf, target) = (&*self.socket, self.buf, self.target);
        socket
            .registration()
            .attempt(Direction::Write, || socket.send_to_now(buf, target))
    }

    readiness_methods!(socket, Direction::Write);
}

/// Waits for a datagram and its sender's address: the source behind
/// [`Task::recv_from`](crate::driver::Task::recv_from), made by
/// [`wait::recv_from`](crate::driver::wait::recv_from).
pub struct RecvFrom<'a, D: DatagramSocket = UdpSocket> {
    pub(crate) socket: &'a mut D,
    pub(crate) buf: &'a mut [u8],
    pub(crate) waiting: bool,
}

impl<D: DatagramSocket> Source for RecvFrom<'_, D> {
    type Output = io::Result<(usize, D::Addr)>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<Self::Output> {
        let (socket, buf) = (&*self.socket, &mut *self.buf);
        socket
            .registration()
            .attempt(Direction::Read, || socket.recv_from_now(buf))
    }

    readiness_methods!(socket, Direction::Read);
}

/// Waits until a datagram is sent to the connected peer: the source
/// behind [`Task::send_datagram`](crate::driver::Task::send_datagram),
/// made by [`wait::send_datagram`](crate::driver::wait::send_datagram).
pub struct SendDatagram<'a, D: DatagramSocket = UdpSocket> {
    pub(crate) socket: &'a mut D,
    pub(crate) buf: &'a [u8],
    pub(crate) waiting: bool,
}

impl<D: DatagramSocket> Source for SendDatagram<'_, D> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<io::Result<usize>> {
        let (socket, buf) = (&*self.socket, self.buf);
        socket
            .registration()
            .attempt(Direction::Write, || socket.send_now(buf))
    }

    readiness_methods!(socket, Direction::Write);
}

/// Waits for a datagram from the connected peer: the source behind
/// [`Task::recv_datagram`](crate::driver::Task::recv_datagram), made by
/// [`wait::recv_datagram`](crate::driver::wait::recv_datagram).
pub struct RecvDatagram<'a, D: DatagramSocket = UdpSocket> {
    pub(crate) socket: &'a mut D,
    pub(crate) buf: &'a mut [u8],
    pub(crate) waiting: bool,
}

impl<D: DatagramSocket> Source for RecvDatagram<'_, D> {
    type Output = io::Result<usize>;

    fn poll(&mut self, _cx: &mut Context<'_>) -> Option<io::Result<usize>> {
        let (socket, buf) = (&*self.socket, &mut *self.buf);
        socket
            .registration()
            .attempt(Direction::Read, || socket.recv_now(buf))
    }

    readiness_methods!(socket, Direction::Read);
}
