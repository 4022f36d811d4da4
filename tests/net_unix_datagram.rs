//! Unix datagram sockets through the driver (feature `io`): the datagram
//! task methods and sources of UDP, with paths for addresses, a send that
//! waits for room, errors, timeouts and cancellation.
#![cfg(feature = "io")]

mod auxiliary;

use std::cell::RefCell;
use std::io::ErrorKind;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use auxiliary::{TempPath, assert_no_io_wait_left, within};
use coshare::driver::{Driver, Task, WaitOn, wait};
use coshare::{Eff, Yields, select};

const PATIENCE: Duration = Duration::from_secs(10);

/// Two sockets bound to paths: `send_to` a path, `recv_from` gives the
/// sender's path.
#[test]
fn datagrams_go_to_and_come_from_paths() {
    within(PATIENCE, || {
        let (server_path, client_path) =
            (TempPath::new("dgram-server"), TempPath::new("dgram-client"));
        let mut d = Driver::new(());
        let mut server = d.handle().unix_datagram_bind(&*server_path).unwrap();
        let mut client = d.handle().unix_datagram_bind(&*client_path).unwrap();
        d.spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
            let mut buf = [0u8; 64];
            let (n, from) = t.recv_from(&mut server, &mut buf)?.unwrap();
            let from = from.as_pathname().unwrap().to_path_buf();
            t.send_to(&mut server, &buf[..n], &from)?.unwrap();
            Ok(())
        })
        .unwrap();
        let target = server_path.to_path_buf();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, (Vec<u8>, bool)> {
                t.send_to(&mut client, b"echo me", &target)?.unwrap();
                let mut buf = [0u8; 64];
                let (n, from) = t.recv_from(&mut client, &mut buf)?.unwrap();
                Ok((
                    buf[..n].to_vec(),
                    from.as_pathname() == Some(target.as_path()),
                ))
            })
            .unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), (b"echo me".to_vec(), true));
    });
}

/// A connected unbound socket sends to its peer and hears its replies.
#[test]
fn an_unbound_socket_connects_and_talks() {
    within(PATIENCE, || {
        let server_path = TempPath::new("dgram-connected");
        let mut d = Driver::new(());
        let mut server = d.handle().unix_datagram_bind(&*server_path).unwrap();
        let mut client = d.handle().unix_datagram_unbound().unwrap();
        client.connect(&*server_path).unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(&*server_path as &Path)
        );
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, usize> {
                t.send_datagram(&mut client, b"four")?.unwrap();
                let mut buf = [0u8; 8];
                let (n, from) = t.recv_from(&mut server, &mut buf)?.unwrap();
                assert!(from.is_unnamed());
                Ok(n)
            })
            .unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), 4);
    });
}

/// A send to a path with no socket is an error; so is a send to a
/// connected peer that has gone; connecting to a missing path names it.
#[test]
fn a_missing_or_closed_peer_is_an_error() {
    within(PATIENCE, || {
        let missing = TempPath::new("dgram-missing");
        let mut d = Driver::new(());
        let mut socket = d.handle().unix_datagram_unbound().unwrap();
        let err = socket.connect(&*missing).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(
            err.to_string().contains(&*missing.to_string_lossy()),
            "{err}"
        );
        let (mut a, b) = d.handle().unix_datagram_pair().unwrap();
        drop(b);
        let target = missing.to_path_buf();
        let h = d
            .spawn(
                move |t: &mut Task<()>| -> Eff<Yields, (ErrorKind, ErrorKind)> {
                    let to_missing = t.send_to(&mut socket, b"x", &target)?.unwrap_err();
                    let to_gone = t.send_datagram(&mut a, b"x")?.unwrap_err();
                    Ok((to_missing.kind(), to_gone.kind()))
                },
            )
            .unwrap();
        assert_eq!(
            d.block_on(h).unwrap().unwrap(),
            (ErrorKind::NotFound, ErrorKind::ConnectionRefused)
        );
    });
}

/// Unix datagrams are not dropped: a send to a peer whose queue is full
/// waits for room. In a `select` with a timeout, the timeout wins; once
/// the peer reads, the send goes through and nothing was lost.
#[test]
fn a_send_to_a_full_peer_waits_and_can_time_out() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let (mut a, mut b) = d.handle().unix_datagram_pair().unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, (u32, u32)> {
                // Fill the queue: send until a send has waited 20 ms.
                let mut sent = 0u32;
                loop {
                    let went = select!(t, {
                        n = wait::send_datagram(&mut a, &sent.to_le_bytes()) => n.is_ok(),
                        () = wait::sleep(Duration::from_millis(20)) => false,
                    });
                    if !went {
                        break;
                    }
                    sent += 1;
                }
                // Make room, then the waiting send goes through.
                let mut buf = [0u8; 4];
                t.recv_datagram(&mut b, &mut buf)?.unwrap();
                assert_eq!(u32::from_le_bytes(buf), 0);
                t.send_datagram(&mut a, &sent.to_le_bytes())?.unwrap();
                // Everything arrives, in order.
                let mut received = 1;
                for expected in 1..=sent {
                    t.recv_datagram(&mut b, &mut buf)?.unwrap();
                    assert_eq!(u32::from_le_bytes(buf), expected);
                    received += 1;
                }
                Ok((sent + 1, received))
            })
            .unwrap();
        let (sent, received) = d.block_on(h).unwrap().unwrap();
        assert!(sent > 1, "the queue took at least one datagram");
        assert_eq!(sent, received);
    });
}

/// A task cancelled while it waits for room to send leaves no
/// registration; its datagram was not sent.
#[test]
fn cancelling_a_waiting_send_leaves_nothing() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let (a, mut b) = d.handle().unix_datagram_pair().unwrap();
        let a = Rc::new(RefCell::new(a));
        let inside = Rc::clone(&a);
        let sender = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                for n in 0u32.. {
                    t.send_datagram(&mut *inside.borrow_mut(), &n.to_le_bytes())?
                        .unwrap();
                }
                unreachable!("a datagram queue has an end")
            })
            .unwrap();
        d.run_until_idle();
        assert!(
            matches!(
                d.tasks()[0].wait,
                WaitOn::Io {
                    what: "writable",
                    ..
                }
            ),
            "{}",
            d.tasks()[0]
        );
        d.cancel(&sender).unwrap();
        assert_no_io_wait_left(&mut d);
        // Every datagram in the queue was sent whole; the one the
        // cancelled send held is not there.
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, u32> {
                let mut buf = [0u8; 4];
                let mut count = 0;
                loop {
                    let got = select!(t, {
                        n = wait::recv_datagram(&mut b, &mut buf) => n.unwrap(),
                        () = wait::sleep(Duration::from_millis(20)) => return Ok(count),
                    });
                    assert_eq!((got, u32::from_le_bytes(buf)), (4, count));
                    count += 1;
                }
            })
            .unwrap();
        let received = d.block_on(h).unwrap().unwrap();
        assert!(received > 0);
        drop(a);
    });
}

/// A receive with a timeout, and the cancellation of a task that waits to
/// receive: the timeout wins while nothing comes; a cancelled wait leaves
/// no registration, and what comes later is there for the next receiver.
#[test]
fn a_receive_times_out_and_a_cancelled_receive_leaves_nothing() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let (a, b) = d.handle().unix_datagram_pair().unwrap();
        let b = Rc::new(RefCell::new(b));
        let inside = Rc::clone(&b);
        let timed = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, bool> {
                Ok(select!(t, {
                    got = wait::recv_datagram(&mut *inside.borrow_mut(), &mut [0u8; 8]) => got.is_err(),
                    () = wait::sleep(Duration::from_millis(20)) => true,
                }))
            })
            .unwrap();
        assert!(d.block_on(timed).unwrap().unwrap(), "timed out");
        let inside = Rc::clone(&b);
        let waiting = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                let _ = t.recv_datagram(&mut *inside.borrow_mut(), &mut [0u8; 8])?;
                unreachable!("cancelled while waiting")
            })
            .unwrap();
        d.run_until_idle();
        assert!(matches!(
            d.tasks()[0].wait,
            WaitOn::Io {
                what: "readable",
                ..
            }
        ));
        d.cancel(&waiting).unwrap();
        assert!(d.tasks().is_empty());
        let mut a = a;
        let sent = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                t.send_datagram(&mut a, b"kept")?.unwrap();
                Ok(())
            })
            .unwrap();
        d.block_on(sent).unwrap().unwrap();
        assert_no_io_wait_left(&mut d);
        let next = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u8>> {
                let mut buf = [0u8; 8];
                let n = t.recv_datagram(&mut *b.borrow_mut(), &mut buf)?.unwrap();
                Ok(buf[..n].to_vec())
            })
            .unwrap();
        assert_eq!(d.block_on(next).unwrap().unwrap(), b"kept");
    });
}
