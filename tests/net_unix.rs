//! Unix stream and datagram sockets through the driver (feature `io`):
//! the same task methods and sources as TCP and UDP, paths for addresses,
//! errors that name the path, timeouts and cancellation.
#![cfg(feature = "io")]

mod auxiliary;

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use auxiliary::{TempPath, assert_no_io_wait_left, within};
use coshare::driver::{Driver, Task, UnixListenOptions, UnixStream, WaitOn, wait};
use coshare::{Eff, Yields, select};

const PATIENCE: Duration = Duration::from_secs(10);

/// An echo server and a client over a Unix socket path, each a task; the
/// client's shutdown reaches the server as end of stream.
#[test]
fn echo_over_a_path() {
    within(PATIENCE, || {
        let path = TempPath::new("echo");
        let mut d = Driver::new(Vec::<String>::new());
        let mut listener = d.handle().unix_listen(&*path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(&*path as &Path)
        );
        d.spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
            let (mut conn, _) = t.accept(&mut listener)?.unwrap();
            let mut buf = [0u8; 64];
            loop {
                let n = t.read(&mut conn, &mut buf)?.unwrap();
                if n == 0 {
                    t.state().push("server saw EOF".into());
                    return Ok(());
                }
                t.write_all(&mut conn, &buf[..n])?.unwrap();
            }
        })
        .unwrap();
        let target = path.to_path_buf();
        let client = d
            .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, String> {
                let mut conn = t.unix_connect(&target)?.unwrap();
                let mut got = String::new();
                for word in ["over ", "a ", "path"] {
                    t.write_all(&mut conn, word.as_bytes())?.unwrap();
                    let mut buf = [0u8; 64];
                    let n = t.read(&mut conn, &mut buf)?.unwrap();
                    got.push_str(std::str::from_utf8(&buf[..n]).unwrap());
                }
                conn.shutdown(Shutdown::Write).unwrap();
                Ok(got)
            })
            .unwrap();
        assert_eq!(d.block_on(client).unwrap().unwrap(), "over a path");
        d.run().unwrap();
        assert_eq!(d.state(), &["server saw EOF"]);
    });
}

/// A plain blocking client of the standard library talks to a task.
#[test]
fn a_task_serves_a_standard_library_client() {
    within(PATIENCE, || {
        let path = TempPath::new("std");
        let mut d = Driver::new(());
        let mut listener = d.handle().unix_listen(&*path).unwrap();
        let server = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u8>> {
                let (mut conn, _) = t.accept(&mut listener)?.unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 3];
                loop {
                    match t.read(&mut conn, &mut buf)?.unwrap() {
                        0 => break,
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
                t.write_all(&mut conn, b"bye")?.unwrap();
                Ok(got)
            })
            .unwrap();
        let target = path.to_path_buf();
        let client = std::thread::spawn(move || {
            let mut s = std::os::unix::net::UnixStream::connect(target).unwrap();
            s.write_all(b"sent and closed").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut reply = Vec::new();
            s.read_to_end(&mut reply).unwrap();
            reply
        });
        assert_eq!(d.block_on(server).unwrap().unwrap(), b"sent and closed");
        assert_eq!(client.join().unwrap(), b"bye");
    });
}

/// A stream pair needs no path: a byte pipe between two tasks.
#[test]
fn a_stream_pair_joins_two_tasks() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let (mut a, mut b) = d.handle().unix_stream_pair().unwrap();
        d.spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
            t.write_all(&mut a, b"through the pair")?.unwrap();
            Ok(()) // dropping `a` closes it
        })
        .unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, Vec<u8>> {
                let mut got = Vec::new();
                let mut buf = [0u8; 5];
                loop {
                    match t.read(&mut b, &mut buf)?.unwrap() {
                        0 => return Ok(got),
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
            })
            .unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), b"through the pair");
    });
}

#[test]
fn connecting_to_a_missing_path_is_an_error_that_names_it() {
    within(PATIENCE, || {
        let path = TempPath::new("missing");
        let mut d = Driver::new(());
        let target = path.to_path_buf();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, std::io::Error> {
                Ok(t.unix_connect(&target)?.unwrap_err())
            })
            .unwrap();
        let err = d.block_on(h).unwrap().unwrap();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    });
}

/// A path with a socket file nobody listens on any more (a server that
/// did not clean up) refuses the connection.
#[test]
fn connecting_to_a_dead_socket_file_is_refused() {
    within(PATIENCE, || {
        let path = TempPath::new("dead");
        let mut d = Driver::new(());
        drop(d.handle().unix_listen(&*path).unwrap()); // the file stays
        assert!(path.exists());
        let target = path.to_path_buf();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ErrorKind> {
                Ok(t.unix_connect(&target)?.unwrap_err().kind())
            })
            .unwrap();
        assert_eq!(
            d.block_on(h).unwrap().unwrap(),
            ErrorKind::ConnectionRefused
        );
    });
}

/// Binding a path in use, by a live listener or by a file left behind, is
/// an `AddrInUse` error that names the path, for streams and datagrams; a
/// path too long for a socket address is an error too.
#[test]
fn binding_a_path_in_use_is_an_error_that_names_it() {
    let path = TempPath::new("in-use");
    let d = Driver::new(());
    let _live = d.handle().unix_listen(&*path).unwrap();
    for err in [
        d.handle().unix_listen(&*path).unwrap_err(),
        d.handle().unix_datagram_bind(&*path).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    }
    let file = TempPath::new("plain-file");
    std::fs::write(&*file, b"not a socket").unwrap();
    let err = d.handle().unix_listen(&*file).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    let long = std::env::temp_dir().join("x".repeat(200));
    let err = d.handle().unix_listen(&long).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

/// A read and an accept with a timeout, through `select!`: the timeout
/// wins while nothing comes, and the socket stays usable.
#[test]
fn a_read_and_an_accept_can_time_out() {
    within(PATIENCE, || {
        let path = TempPath::new("timeouts");
        let mut d = Driver::new(Vec::<String>::new());
        let mut listener = d.handle().unix_listen(&*path).unwrap();
        let (mut a, mut b) = d.handle().unix_stream_pair().unwrap();
        let h = d
            .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                let accepted = select!(t, {
                    conn = wait::accept(&mut listener) => conn.is_ok(),
                    () = wait::sleep(Duration::from_millis(20)) => false,
                });
                t.state().push(format!("accepted: {accepted}"));
                let mut buf = [0u8; 8];
                let read = select!(t, {
                    n = wait::read(&mut b, &mut buf) => n.unwrap(),
                    () = wait::sleep(Duration::from_millis(20)) => 0,
                });
                t.state().push(format!("read: {read}"));
                t.write_all(&mut a, b"now")?.unwrap();
                let n = t.read(&mut b, &mut buf)?.unwrap();
                t.state()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                Ok(())
            })
            .unwrap();
        d.block_on(h).unwrap().unwrap();
        assert_eq!(d.state(), &["accepted: false", "read: 0", "now"]);
    });
}

/// Cancelling tasks that wait to accept and to read removes their
/// registrations; the listener and the stream stay usable.
#[test]
fn cancelling_waiting_tasks_removes_their_registrations() {
    within(PATIENCE, || {
        let path = TempPath::new("cancel");
        let mut d = Driver::new(());
        let listener = Rc::new(RefCell::new(d.handle().unix_listen(&*path).unwrap()));
        let (a, b) = d.handle().unix_stream_pair().unwrap();
        let (a, b) = (Rc::new(RefCell::new(a)), Rc::new(RefCell::new(b)));
        let accepting = {
            let listener = Rc::clone(&listener);
            d.spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                let _ = t.accept(&mut *listener.borrow_mut())?;
                unreachable!("cancelled while waiting")
            })
            .unwrap()
        };
        let reading = {
            let b = Rc::clone(&b);
            d.spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                let _ = t.read(&mut *b.borrow_mut(), &mut [0u8; 8])?;
                unreachable!("cancelled while waiting")
            })
            .unwrap()
        };
        d.run_until_idle();
        let waits: Vec<_> = d.tasks().into_iter().map(|task| task.wait).collect();
        assert!(
            waits.iter().all(|w| matches!(
                w,
                WaitOn::Io {
                    what: "readable",
                    ..
                }
            )),
            "{waits:?}"
        );
        d.cancel(&accepting).unwrap();
        d.cancel(&reading).unwrap();
        assert!(d.tasks().is_empty());
        // A connection and some bytes now wake nobody...
        let client = std::os::unix::net::UnixStream::connect(&*path).unwrap();
        a.borrow().shutdown(Shutdown::Write).unwrap();
        d.run_until_idle();
        assert!(d.tasks().is_empty());
        assert_no_io_wait_left(&mut d);
        // ...and are there for the next tasks.
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, usize> {
                let accepted = t.accept(&mut *listener.borrow_mut())?;
                assert!(accepted.is_ok());
                Ok(t.read(&mut *b.borrow_mut(), &mut [0u8; 8])?.unwrap())
            })
            .unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), 0, "end of stream");
        drop(client);
    });
}

/// A Unix listener whose backlog is full refuses a non-blocking connect at
/// once (`EAGAIN`), where TCP would retry by itself. A connecting task
/// waits and tries again until the server accepts; a connect can time out
/// in a `select`, or be cancelled.
#[test]
fn a_full_backlog_makes_a_connect_wait_not_fail() {
    within(PATIENCE, || {
        let path = TempPath::new("backlog");
        let mut d = Driver::new(Vec::<String>::new());
        let mut listener = d
            .handle()
            .unix_listen_with(&*path, &UnixListenOptions::new().backlog(1))
            .unwrap();
        // Fill the backlog from outside the driver.
        let mut queued = Vec::new();
        loop {
            match mio::net::UnixStream::connect(&*path) {
                Ok(stream) => queued.push(stream),
                Err(err) if err.kind() == ErrorKind::WouldBlock => break,
                Err(err) => panic!("{err}"),
            }
            assert!(queued.len() < 100, "the backlog never filled");
        }
        let target = path.to_path_buf();
        let client = d
            .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                let timed_out = select!(t, {
                    conn = wait::unix_connect(&target) => conn.is_err(),
                    () = wait::sleep(Duration::from_millis(30)) => true,
                });
                t.state()
                    .push(format!("first connect timed out: {timed_out}"));
                let conn: UnixStream = t.unix_connect(&target)?.unwrap();
                drop(conn);
                t.state().push("connected".into());
                Ok(())
            })
            .unwrap();
        // A second client, cancelled while it waits to try again, leaves
        // no timer and no registration behind.
        let target = path.to_path_buf();
        let cancelled = d
            .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                let _ = t.unix_connect(&target)?;
                unreachable!("cancelled while connecting")
            })
            .unwrap();
        d.run_until_state(|log| !log.is_empty()).unwrap();
        d.run_for(Duration::from_millis(10)).unwrap();
        let backlog_full = WaitOn::custom("room in a full listen backlog, to connect");
        assert!(
            d.tasks().iter().all(|task| task.wait == backlog_full),
            "{:?}",
            d.tasks()
        );
        d.cancel(&cancelled).unwrap();
        assert_eq!(d.tasks().len(), 1);
        d.spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
            loop {
                let _ = t.accept(&mut listener)?.unwrap();
            }
        })
        .unwrap();
        d.block_on(client).unwrap().unwrap();
        assert_eq!(d.state(), &["first connect timed out: true", "connected"]);
        drop(queued);
    });
}
