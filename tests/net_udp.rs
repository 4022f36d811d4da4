//! UDP sockets through the driver (feature `io`): datagrams to and from
//! addresses and a connected peer, errors, timeouts and cancellation.
#![cfg(feature = "io")]

mod auxiliary;

use std::cell::RefCell;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use auxiliary::{assert_no_io_wait_left, within};
use coshare::driver::{Driver, Task, UdpSocket, WaitOn, wait};
use coshare::{Eff, Yields, select};

const PATIENCE: Duration = Duration::from_secs(10);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn bind(d: &Driver<impl Sized>) -> UdpSocket {
    d.handle().udp_bind(loopback()).unwrap()
}

/// An echo server and a client, each a task: `send_to` and `recv_from`
/// carry each datagram whole, with its sender's address.
#[test]
fn datagrams_go_to_and_come_from_addresses() {
    within(PATIENCE, || {
        let mut d = Driver::new(Vec::<String>::new());
        let mut server = bind(&d);
        let mut client = bind(&d);
        let server_addr = server.local_addr().unwrap();
        let client_addr = client.local_addr().unwrap();
        d.spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
            let mut buf = [0u8; 64];
            for _ in 0..3 {
                let (n, from) = t.recv_from(&mut server, &mut buf)?.unwrap();
                t.state().push(format!(
                    "{} from the client: {}",
                    String::from_utf8_lossy(&buf[..n]),
                    from == client_addr
                ));
                let sent = t.send_to(&mut server, &buf[..n], from)?.unwrap();
                assert_eq!(sent, n);
            }
            Ok(())
        })
        .unwrap();
        let asker = d
            .spawn(
                move |t: &mut Task<Vec<String>>| -> Eff<Yields, Vec<String>> {
                    let mut echoes = Vec::new();
                    let mut buf = [0u8; 64];
                    for word in ["one", "two", "three"] {
                        t.send_to(&mut client, word.as_bytes(), server_addr)?
                            .unwrap();
                        let (n, from) = t.recv_from(&mut client, &mut buf)?.unwrap();
                        assert_eq!(from, server_addr);
                        echoes.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                    }
                    Ok(echoes)
                },
            )
            .unwrap();
        assert_eq!(d.block_on(asker).unwrap().unwrap(), ["one", "two", "three"]);
        d.run().unwrap();
        assert_eq!(
            d.state(),
            &[
                "one from the client: true",
                "two from the client: true",
                "three from the client: true"
            ]
        );
    });
}

/// A connected socket sends to its peer with `send_datagram` and receives
/// only its peer's datagrams with `recv_datagram`.
#[test]
fn a_connected_socket_talks_only_to_its_peer() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let mut a = bind(&d);
        let mut b = bind(&d);
        let mut stranger = bind(&d);
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        a.connect(b_addr).unwrap();
        b.connect(a_addr).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u8>> {
                // The stranger's datagram is filtered out by the kernel.
                t.send_to(&mut stranger, b"not for you", a_addr)?.unwrap();
                t.send_datagram(&mut b, b"hello")?.unwrap();
                let mut buf = [0u8; 64];
                let n = t.recv_datagram(&mut a, &mut buf)?.unwrap();
                Ok(buf[..n].to_vec())
            })
            .unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), b"hello");
    });
}

/// A datagram longer than the buffer is cut to the buffer; the next
/// receive gets the next datagram, not the rest.
#[test]
fn a_long_datagram_is_cut_to_the_buffer() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let mut a = bind(&d);
        let mut b = bind(&d);
        let b_addr = b.local_addr().unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, (usize, usize)> {
                t.send_to(&mut a, b"0123456789", b_addr)?.unwrap();
                t.send_to(&mut a, b"ab", b_addr)?.unwrap();
                let mut small = [0u8; 4];
                let (first, _) = t.recv_from(&mut b, &mut small)?.unwrap();
                assert_eq!(&small, b"0123");
                let (second, _) = t.recv_from(&mut b, &mut small)?.unwrap();
                assert_eq!(&small[..second], b"ab");
                Ok((first, second))
            })
            .unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), (4, 2));
    });
}

/// Sending to a port nobody listens on: the host answers with an ICMP
/// "port unreachable", which a connected socket reports as
/// `ConnectionRefused` on its next operation.
#[test]
fn a_closed_peer_is_a_connection_refused_error() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let mut socket = bind(&d);
        let closed = std::net::UdpSocket::bind(loopback())
            .unwrap()
            .local_addr()
            .unwrap(); // bound, then dropped: nobody is there
        socket.connect(closed).unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ErrorKind> {
                t.send_datagram(&mut socket, b"anyone?")?.unwrap();
                let mut buf = [0u8; 16];
                Ok(select!(t, {
                    got = wait::recv_datagram(&mut socket, &mut buf) => got.unwrap_err().kind(),
                    () = wait::sleep(Duration::from_secs(5)) => ErrorKind::TimedOut,
                }))
            })
            .unwrap();
        assert_eq!(
            d.block_on(h).unwrap().unwrap(),
            ErrorKind::ConnectionRefused
        );
    });
}

#[test]
fn binding_an_address_in_use_is_an_error() {
    let d = Driver::new(());
    let first = bind(&d);
    let err = d
        .handle()
        .udp_bind(first.local_addr().unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}

#[test]
fn options_read_back() {
    let d = Driver::new(());
    let socket = bind(&d);
    socket.set_ttl(42).unwrap();
    assert_eq!(socket.ttl().unwrap(), 42);
    socket.set_broadcast(true).unwrap();
    assert!(socket.broadcast().unwrap());
    assert!(socket.take_error().unwrap().is_none());
    assert_eq!(
        socket.peer_addr().unwrap_err().kind(),
        ErrorKind::NotConnected
    );
}

/// A receive with a timeout, through `select!`: the timeout wins while
/// nothing comes, and the socket stays usable. The datagram is sent only
/// once the first wait has timed out.
#[test]
fn a_receive_can_time_out_and_the_socket_stays_usable() {
    within(PATIENCE, || {
        let mut d = Driver::new(Vec::<String>::new());
        let mut socket = bind(&d);
        let addr = socket.local_addr().unwrap();
        let h = d
            .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                let mut buf = [0u8; 16];
                for timeout in [Duration::from_millis(20), PATIENCE] {
                    let line = select!(t, {
                        got = wait::recv_from(&mut socket, &mut buf) => {
                            let (n, _) = got.unwrap();
                            String::from_utf8_lossy(&buf[..n]).into_owned()
                        }
                        () = wait::sleep(timeout) => "timed out".into(),
                    });
                    t.state().push(line);
                }
                Ok(())
            })
            .unwrap();
        d.run_until_state(|log| !log.is_empty()).unwrap();
        let sender = std::net::UdpSocket::bind(loopback()).unwrap();
        sender.send_to(b"late", addr).unwrap();
        d.block_on(h).unwrap().unwrap();
        assert_eq!(d.state(), &["timed out", "late"]);
    });
}

/// Cancelling a task that waits to receive removes its registration: the
/// task is gone from the list, a datagram that comes later wakes nobody and
/// stays for the next receiver, and no wait on the socket is left.
#[test]
fn cancelling_a_receiving_task_removes_its_registration() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let socket = Rc::new(RefCell::new(bind(&d)));
        let addr = socket.borrow().local_addr().unwrap();
        let inside = Rc::clone(&socket);
        let waiting = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                let mut buf = [0u8; 16];
                let _ = t.recv_from(&mut *inside.borrow_mut(), &mut buf)?;
                unreachable!("cancelled while waiting")
            })
            .unwrap();
        d.run_until_idle();
        assert!(
            matches!(
                d.tasks()[0].wait,
                WaitOn::Io {
                    what: "readable",
                    ..
                }
            ),
            "{}",
            d.tasks()[0]
        );
        d.cancel(&waiting).unwrap();
        assert!(d.tasks().is_empty());
        assert_no_io_wait_left(&mut d);
        // A datagram now wakes nobody, and stays for the next receiver.
        std::net::UdpSocket::bind(loopback())
            .unwrap()
            .send_to(b"kept", addr)
            .unwrap();
        d.run_until_idle();
        assert!(d.tasks().is_empty());
        let next = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u8>> {
                let mut buf = [0u8; 16];
                let (n, _) = t.recv_from(&mut *socket.borrow_mut(), &mut buf)?.unwrap();
                Ok(buf[..n].to_vec())
            })
            .unwrap();
        assert_eq!(d.block_on(next).unwrap().unwrap(), b"kept");
    });
}
