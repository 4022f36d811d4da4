//! TCP listen options and stream options (feature `io`): the backlog, a
//! burst of connects, address reuse, a connect with a timeout, and the
//! socket options of a stream.
#![cfg(feature = "io")]

mod auxiliary;

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream as StdStream};
use std::time::{Duration, Instant};

use auxiliary::{assert_no_io_wait_left, within};
use coshare::driver::{DEFAULT_BACKLOG, Driver, Task, TcpListenOptions, TcpStream, WaitOn, wait};
use coshare::{Eff, Yields, select};

const PATIENCE: Duration = Duration::from_secs(30);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A number from a `/proc` file, or from a line of `/proc/self/limits`.
fn proc_number(path: &str, line_prefix: Option<&str>, column: usize) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    let line = match line_prefix {
        Some(prefix) => text.lines().find(|l| l.starts_with(prefix)).unwrap(),
        None => text.lines().next().unwrap(),
    };
    let field = line.split_whitespace().nth(column).unwrap();
    field.parse().unwrap_or(u64::MAX) // "unlimited"
}

/// Opens `n` connections one after the other from another thread while the
/// server does not accept, so that every one of them must fit in the
/// backlog. A connect that does not fit has its SYN dropped and retried
/// after a second, so the slowest connect tells whether all fit.
fn burst(addr: SocketAddr, n: usize) -> (Vec<StdStream>, Duration) {
    std::thread::spawn(move || {
        let mut streams = Vec::with_capacity(n);
        let mut slowest = Duration::ZERO;
        for _ in 0..n {
            let started = Instant::now();
            let stream = StdStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
            slowest = slowest.max(started.elapsed());
            streams.push(stream);
        }
        (streams, slowest)
    })
    .join()
    .unwrap()
}

/// With the default backlog, a burst of a thousand connects to a server
/// that is busy elsewhere completes at once, and the server then accepts
/// every one. (The standard library's and mio's backlog of 128 made the
/// 130th connect wait a second for a retransmitted SYN.)
#[test]
fn a_burst_of_a_thousand_connects_fits_the_default_backlog() {
    const CONNECTS: usize = 1000;
    let somaxconn = proc_number("/proc/sys/net/core/somaxconn", None, 0);
    assert!(
        somaxconn > CONNECTS as u64,
        "this test needs net.core.somaxconn above {CONNECTS} (it is {somaxconn})"
    );
    let open_files = proc_number("/proc/self/limits", Some("Max open files"), 3);
    assert!(
        open_files > 2 * CONNECTS as u64 + 100,
        "this test needs more than {} open files (ulimit -n is {open_files})",
        2 * CONNECTS + 100
    );
    assert_eq!(DEFAULT_BACKLOG, 1024);
    within(PATIENCE, || {
        let mut d = Driver::new(0usize);
        let mut listener = d.handle().tcp_listen(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (clients, slowest) = burst(addr, CONNECTS);
        assert!(
            slowest < Duration::from_millis(900),
            "a connect waited {slowest:?}: it did not fit in the backlog"
        );
        let server = d
            .spawn(move |t: &mut Task<usize>| -> Eff<Yields, Vec<TcpStream>> {
                let mut accepted = Vec::with_capacity(CONNECTS);
                while accepted.len() < CONNECTS {
                    accepted.push(t.accept(&mut listener)?.unwrap().0);
                }
                Ok(accepted)
            })
            .unwrap();
        let accepted = d.block_on(server).unwrap().unwrap();
        assert_eq!(accepted.len(), CONNECTS);
        drop(clients);
    });
}

/// The backlog asked for is the one the kernel uses: with a backlog of 2
/// (the kernel queues one more), a fourth connect is not answered while
/// the server does not accept; a connect that waits is a source, and a
/// timeout in a `select` ends it, as does a cancellation.
#[test]
fn a_small_backlog_is_applied_and_a_connect_can_time_out() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let options = TcpListenOptions::new().backlog(2);
        let listener = d.handle().tcp_listen_with(loopback(), &options).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut queued = Vec::new();
        let full = loop {
            match StdStream::connect_timeout(&addr, Duration::from_millis(300)) {
                Ok(stream) => queued.push(stream),
                Err(err) => break err,
            }
            assert!(
                queued.len() <= 3,
                "the backlog of 2 took {} connections",
                queued.len()
            );
        };
        assert_eq!(full.kind(), ErrorKind::TimedOut, "{full}");
        assert_eq!(queued.len(), 3);
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, &'static str> {
                Ok(select!(t, {
                    conn = wait::tcp_connect(addr) => if conn.is_ok() { "connected" } else { "failed" },
                    () = wait::sleep(Duration::from_millis(50)) => "timed out",
                }))
            })
            .unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), "timed out");
        // A task cancelled while it connects leaves no registration.
        let connecting = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                let _ = t.tcp_connect(addr)?;
                unreachable!("cancelled while connecting")
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
        d.cancel(&connecting).unwrap();
        assert_no_io_wait_left(&mut d);
        drop(listener);
    });
}

/// An address in use is an `AddrInUse` error, unless every listener on it
/// asks for `SO_REUSEPORT`.
#[test]
fn an_address_in_use_is_an_error_unless_every_listener_reuses_the_port() {
    let d = Driver::new(());
    let first = d.handle().tcp_listen(loopback()).unwrap();
    let err = d
        .handle()
        .tcp_listen(first.local_addr().unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    let shared = TcpListenOptions::new().reuse_port(true);
    let one = d.handle().tcp_listen_with(loopback(), &shared).unwrap();
    let addr = one.local_addr().unwrap();
    let two = d.handle().tcp_listen_with(addr, &shared).unwrap();
    assert_eq!(two.local_addr().unwrap(), addr);
    let err = d.handle().tcp_listen(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}

/// The options of a stream read back what was set; a keepalive idle time
/// under a second is refused.
#[test]
fn stream_options_read_back() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let mut listener = d.handle().tcp_listen(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                let _client = t.tcp_connect(addr)?.unwrap();
                let (conn, _) = t.accept(&mut listener)?.unwrap();
                assert_eq!(conn.keepalive().unwrap(), None);
                conn.set_keepalive(Some(Duration::from_secs(120))).unwrap();
                assert_eq!(conn.keepalive().unwrap(), Some(Duration::from_secs(120)));
                conn.set_keepalive(None).unwrap();
                assert_eq!(conn.keepalive().unwrap(), None);
                let err = conn
                    .set_keepalive(Some(Duration::from_millis(500)))
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidInput);
                conn.set_nodelay(true).unwrap();
                assert!(conn.nodelay().unwrap());
                conn.set_ttl(17).unwrap();
                assert_eq!(conn.ttl().unwrap(), 17);
                assert_eq!(conn.linger().unwrap(), None);
                conn.set_linger(Some(Duration::ZERO)).unwrap();
                assert_eq!(conn.linger().unwrap(), Some(Duration::ZERO));
                assert!(conn.take_error().unwrap().is_none());
                Ok(())
            })
            .unwrap();
        d.block_on(h).unwrap().unwrap();
    });
}

/// A stream dropped with a linger time of zero resets the connection: the
/// peer's read is a `ConnectionReset` error, not an end of stream.
#[test]
fn a_zero_linger_drop_resets_the_peer() {
    within(PATIENCE, || {
        let mut d = Driver::new(());
        let mut listener = d.handle().tcp_listen(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        let h = d
            .spawn(move |t: &mut Task<()>| -> Eff<Yields, ErrorKind> {
                let mut client = t.tcp_connect(addr)?.unwrap();
                let (conn, _) = t.accept(&mut listener)?.unwrap();
                conn.set_linger(Some(Duration::ZERO)).unwrap();
                drop(conn);
                let mut buf = [0u8; 4];
                Ok(match t.read(&mut client, &mut buf)? {
                    Ok(n) => panic!("read {n} bytes instead of an error"),
                    Err(err) => err.kind(),
                })
            })
            .unwrap();
        assert_eq!(d.block_on(h).unwrap().unwrap(), ErrorKind::ConnectionReset);
    });
}
