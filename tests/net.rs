//! Non-blocking TCP through the driver (feature `io`).
#![cfg(feature = "io")]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use coshare::driver::{Driver, Task, wait};
use coshare::{Eff, Yields};
use frunk::{Coproduct, hlist};

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// An echo server task and a client task in the same driver.
#[test]
fn echo_between_two_tasks() {
    let mut d = Driver::new(Vec::<String>::new());
    let mut listener = d.handle().tcp_listen(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
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
    let client = d
        .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, String> {
            let mut conn = t.tcp_connect(addr)?.unwrap();
            let mut got = String::new();
            for word in ["hello ", "coroutine ", "world"] {
                t.write_all(&mut conn, word.as_bytes())?.unwrap();
                let mut buf = [0u8; 64];
                let n = t.read(&mut conn, &mut buf)?.unwrap();
                got.push_str(std::str::from_utf8(&buf[..n]).unwrap());
            }
            conn.shutdown(Shutdown::Write).unwrap();
            Ok(got)
        })
        .unwrap();
    let got = d.block_on(client).unwrap().unwrap();
    assert_eq!(got, "hello coroutine world");
    d.run().unwrap();
    assert_eq!(d.state(), &["server saw EOF"]);
}

/// A read with a timeout, through select; the connection stays usable.
///
/// The client writes only after the server has timed out and said so, so
/// the outcome does not depend on how fast either side is scheduled.
#[test]
fn a_read_can_time_out_and_the_connection_stays_usable() {
    let mut d = Driver::new(());
    let mut listener = d.handle().tcp_listen(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = d
        .spawn(move |t: &mut Task<()>| -> Eff<Yields, (bool, String)> {
            let (mut conn, _) = t.accept(&mut listener)?.unwrap();
            let mut buf = [0u8; 16];
            let timed_out = matches!(
                t.select(hlist![
                    wait::read(&mut conn, &mut buf),
                    wait::sleep(Duration::from_millis(20))
                ])?,
                Coproduct::Inr(_)
            );
            t.write_all(&mut conn, b"go")?.unwrap();
            let n = t.read(&mut conn, &mut buf)?.unwrap();
            Ok((timed_out, String::from_utf8_lossy(&buf[..n]).into_owned()))
        })
        .unwrap();
    // A plain blocking client on another thread, which talks late: only
    // when the server asks.
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let mut go = [0u8; 2];
        s.read_exact(&mut go).unwrap();
        assert_eq!(&go, b"go");
        s.write_all(b"late").unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let (timed_out, got) = d.block_on(server).unwrap().unwrap();
    assert!(timed_out);
    assert_eq!(got, "late");
    client.join().unwrap();
}

/// A peer that resets its connection is an error for that connection only;
/// the server keeps serving others.
#[test]
fn a_reset_peer_is_an_error_and_the_server_keeps_serving() {
    let mut d = Driver::new(Vec::<String>::new());
    let mut listener = d.handle().tcp_listen(loopback()).unwrap();
    let addr = listener.local_addr().unwrap();
    d.spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
        for _ in 0..2 {
            let (mut conn, _) = t.accept(&mut listener)?.unwrap();
            t.spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
                let mut buf = [0u8; 16];
                let outcome = loop {
                    match t.read(&mut conn, &mut buf)? {
                        Ok(0) => break "eof".to_string(),
                        Ok(n) => {
                            if let Err(e) = t.write_all(&mut conn, &buf[..n])? {
                                break format!("write error: {:?}", e.kind());
                            }
                        }
                        Err(e) => break format!("read error: {:?}", e.kind()),
                    }
                };
                t.state().push(outcome);
                Ok(())
            })
            .unwrap();
        }
        Ok(())
    })
    .unwrap();
    let clients = std::thread::spawn(move || {
        // The first client resets: SO_LINGER 0 then close sends RST.
        let rude = std::net::TcpStream::connect(addr).unwrap();
        let socket = rude.try_clone().unwrap();
        set_linger_zero(&socket);
        (&rude).write_all(b"x").unwrap();
        // Wait for the echo, so the reset reaches a server that is reading.
        let mut echo = [0u8; 1];
        (&rude).read_exact(&mut echo).unwrap();
        drop(socket);
        drop(rude);
        // The second one is served normally.
        let mut polite = std::net::TcpStream::connect(addr).unwrap();
        polite.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        polite.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        polite.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        polite.read_to_end(&mut rest).unwrap();
    });
    d.run_until_state(|log| log.len() == 2).unwrap();
    clients.join().unwrap();
    let mut log = d.state().clone();
    log.sort();
    assert_eq!(log, ["eof", "read error: ConnectionReset"]);
}

fn set_linger_zero(socket: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a valid socket with a correctly sized option.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

#[test]
fn connecting_to_a_closed_port_is_an_error() {
    let mut d = Driver::new(());
    // Bind then drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap();
    let h = d
        .spawn(move |t: &mut Task<()>| -> Eff<Yields, std::io::ErrorKind> {
            Ok(t.tcp_connect(port)?.unwrap_err().kind())
        })
        .unwrap();
    assert_eq!(
        d.block_on(h).unwrap().unwrap(),
        std::io::ErrorKind::ConnectionRefused
    );
}
