//! A socket never loses a close or an error: whatever order the peer's
//! data, end of stream and reset arrive in, a reading task sees all of
//! them, and a server closes every connection its peer closed.
#![cfg(feature = "io")]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream as StdStream};
use std::time::Duration;

use coshare::driver::{Driver, Task, TcpStream, wait};
use coshare::{Eff, Yields, select};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// How long a test waits for what must happen at once; a hang fails the
/// test instead of stalling the suite.
const PATIENCE: Duration = Duration::from_secs(5);

/// What a server task saw on one connection: the bytes, and how it ended.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    bytes: Vec<u8>,
    end: String,
}

/// Reads until end of stream, an error, or `PATIENCE` without progress,
/// with a small buffer so that every read but the last is short.
fn read_to_end(t: &mut Task<Vec<Seen>>, conn: &mut TcpStream) -> Eff<Yields, Seen> {
    let mut seen = Seen::default();
    let mut buf = [0u8; 64];
    loop {
        let read = select!(t, {
            read = wait::read(conn, &mut buf) => read,
            () = wait::sleep(PATIENCE) => {
                seen.end = "hung".into();
                return Ok(seen);
            }
        });
        match read {
            Ok(0) => {
                seen.end = "eof".into();
                return Ok(seen);
            }
            Ok(n) => seen.bytes.extend_from_slice(&buf[..n]),
            Err(e) => {
                seen.end = format!("error: {:?}", e.kind());
                return Ok(seen);
            }
        }
    }
}

/// A server that accepts `n` connections and reads each to its end, then
/// drops it. Returns the driver and the address.
fn reading_server(n: usize) -> (Driver<Vec<Seen>>, SocketAddr) {
    let mut d = Driver::new(Vec::new());
    let mut listener = d.handle().tcp_listen(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    d.spawn(move |t: &mut Task<Vec<Seen>>| -> Eff<Yields, ()> {
        for _ in 0..n {
            let (mut conn, _) = t.accept(&mut listener)?.unwrap();
            t.spawn(move |t: &mut Task<Vec<Seen>>| -> Eff<Yields, ()> {
                let seen = read_to_end(t, &mut conn)?;
                t.state().push(seen);
                Ok(())
            })
            .unwrap();
        }
        Ok(())
    })
    .unwrap();
    (d, addr)
}

/// The peer sends its data and closes at once, so the data and the end of
/// stream arrive together, in one readiness event. The first read is short
/// (the socket is read dry); the end of stream must still be seen, though
/// no further event will come.
#[test]
fn data_and_end_of_stream_in_one_event_are_both_seen() {
    let (mut d, addr) = reading_server(1);
    let mut client = StdStream::connect(addr).unwrap();
    // Let the server accept and start waiting.
    d.run_for(Duration::from_millis(50)).unwrap();
    client.write_all(b"half a comm").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    std::thread::sleep(Duration::from_millis(50)); // both arrive before the next poll
    d.run().unwrap();
    assert_eq!(
        d.state(),
        &[Seen {
            bytes: b"half a comm".to_vec(),
            end: "eof".into()
        }]
    );
    // The server closed its side: the client reads end of stream.
    client
        .set_read_timeout(Some(PATIENCE))
        .expect("a read timeout");
    let mut rest = Vec::new();
    assert_eq!(client.read_to_end(&mut rest).unwrap(), 0);
}

/// The end of stream comes later, after the server read the data dry.
#[test]
fn end_of_stream_after_a_short_read_is_seen() {
    let (mut d, addr) = reading_server(1);
    let mut client = StdStream::connect(addr).unwrap();
    client.write_all(b"abc").unwrap();
    d.run_for(Duration::from_millis(100)).unwrap(); // reads "abc", waits
    client.shutdown(Shutdown::Write).unwrap();
    d.run().unwrap();
    assert_eq!(
        d.state(),
        &[Seen {
            bytes: b"abc".to_vec(),
            end: "eof".into()
        }]
    );
}

/// A client that sends `PING` and shuts down its sending side gets the
/// reply and then sees the server close, as a Redis client does.
#[test]
fn a_half_closed_client_gets_its_reply_and_then_the_close() {
    let mut d = Driver::new(Vec::<String>::new());
    let mut listener = d.handle().tcp_listen(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    d.spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
        let (mut conn, _) = t.accept(&mut listener)?.unwrap();
        let mut buf = [0u8; 64];
        loop {
            let n = select!(t, {
                read = wait::read(&mut conn, &mut buf) => read.unwrap(),
                () = wait::sleep(PATIENCE) => {
                    t.state().push("hung".into());
                    return Ok(());
                }
            });
            if n == 0 {
                t.state().push("eof".into());
                return Ok(()); // drops `conn`: the server closes
            }
            t.write_all(&mut conn, b"+PONG\r\n")?.unwrap();
        }
    })
    .unwrap();
    let client = std::thread::spawn(move || {
        let mut s = StdStream::connect(addr).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).map(|_| reply)
    });
    d.run().unwrap();
    let reply = client.join().unwrap().expect("the server closed in time");
    assert_eq!(reply, b"+PONG\r\n");
    assert_eq!(d.state(), &["eof"]);
}

/// The peer resets the connection while the server is writing a long
/// reply: the write fails with an error, and the server goes on.
#[test]
fn a_reset_in_the_middle_of_a_reply_is_an_error_for_the_writer() {
    let mut d = Driver::new(Vec::<String>::new());
    let mut listener = d.handle().tcp_listen(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    d.spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
        let (mut conn, _) = t.accept(&mut listener)?.unwrap();
        let mut request = [0u8; 4];
        t.read(&mut conn, &mut request)?.unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let outcome = loop {
            let written = select!(t, {
                written = wait::write(&mut conn, &chunk) => written,
                () = wait::sleep(PATIENCE) => break "hung".to_string(),
            });
            if let Err(e) = written {
                break format!("{:?}", e.kind());
            }
        };
        t.state().push(outcome);
        Ok(())
    })
    .unwrap();
    let client = std::thread::spawn(move || {
        let s = StdStream::connect(addr).unwrap();
        (&s).write_all(b"GET!").unwrap();
        // Read a little of the reply, then reset: closing with unread data
        // in the receive buffer makes the kernel send RST.
        let mut some = [0u8; 1024];
        (&s).read_exact(&mut some).unwrap();
        drop(s);
    });
    d.run().unwrap();
    client.join().unwrap();
    let outcome = &d.state()[0];
    assert!(
        outcome == "ConnectionReset" || outcome == "BrokenPipe",
        "the writer saw {outcome}"
    );
}

/// Many clients each send half a request and close. Every connection is
/// read to its end and closed by the server; none is left open.
#[test]
fn many_half_requests_then_close_leave_no_connection_open() {
    const CLIENTS: usize = 200;
    let (mut d, addr) = reading_server(CLIENTS);
    // The clients run on their own thread while the server runs here.
    let clients = std::thread::spawn(move || {
        let clients: Vec<StdStream> = (0..CLIENTS)
            .map(|i| {
                let mut s = StdStream::connect(addr).unwrap();
                s.write_all(format!("*2\r\n$3\r\nGET\r\n${i}").as_bytes())
                    .unwrap();
                s.shutdown(Shutdown::Write).unwrap();
                s
            })
            .collect();
        // The server closes every connection: each client reads end of
        // stream.
        clients
            .into_iter()
            .map(|mut client| {
                client.set_read_timeout(Some(PATIENCE)).unwrap();
                let mut rest = Vec::new();
                client.read_to_end(&mut rest).map(|n| n == 0)
            })
            .filter(|closed| !matches!(closed, Ok(true)))
            .count()
    });
    d.run().unwrap();
    assert_eq!(d.state().len(), CLIENTS);
    let not_closed: Vec<&Seen> = d.state().iter().filter(|s| s.end != "eof").collect();
    assert!(
        not_closed.is_empty(),
        "{} of {CLIENTS} connections did not end with end of stream; the first: {:?}",
        not_closed.len(),
        not_closed[0]
    );
    assert!(d.tasks().is_empty(), "no connection task is left");
    assert_eq!(
        clients.join().unwrap(),
        0,
        "clients whose connection the server did not close"
    );
}
