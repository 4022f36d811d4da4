//! Malformed and oversized input: redis-server's replies and closing
//! behaviour, byte for byte, and nothing after a bad frame ever runs.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

use crate::resp::Limits;
use crate::support::{Replies, TestServer, cmd, int, read_n, read_to_eof, show, string};

/// Sends `bytes` on a fresh connection; what comes back before the server
/// closes it.
fn closes_with(server: &TestServer, bytes: &[u8]) -> String {
    let mut stream = server.raw();
    stream.write_all(bytes).unwrap();
    read_to_eof(&mut stream)
}

/// The endless loop: an inline command with a NUL outside quotes. Redis
/// stops looking for the line's end at the NUL (and would wait for 64 KiB
/// more); the server answers at once with the error Redis ends with, and
/// closes. Nothing in the line runs, other clients are fine.
#[test]
fn a_nul_in_an_inline_command_is_an_error_not_a_hang() {
    let server = TestServer::start();
    let mut con = server.client();
    cmd(&mut con, &["SET", "canary", "alive"]).unwrap();
    let started = Instant::now();
    for input in [
        &b"ECHO a\0b\r\n"[..],
        b"SET canary \0dead\r\nPING\r\n",
        b"\0FLUSHALL\r\n",
    ] {
        assert_eq!(
            closes_with(&server, input),
            "-ERR Protocol error: too big inline request\r\n",
            "{}",
            show(input)
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered at once"
    );
    // What came before the bad line ran and was answered.
    assert_eq!(
        closes_with(&server, b"PING\r\nECHO a\0b\r\n"),
        "+PONG\r\n-ERR Protocol error: too big inline request\r\n"
    );
    assert_eq!(
        string(&mut con, &["GET", "canary"]).as_deref(),
        Some("alive")
    );
}

/// After a malformed `*` or `$` header Redis replies and closes; the rest of
/// the frame never runs as inline commands (here it would wipe the
/// keyspace).
#[test]
fn a_malformed_header_closes_the_connection_and_runs_nothing() {
    let server = TestServer::start();
    let mut con = server.client();
    cmd(&mut con, &["SET", "note", "keep"]).unwrap();
    let tail = b"$3\r\nSET\r\n$4\r\nnote\r\n$8\r\nFLUSHALL\r\nFLUSHALL\r\n";
    for header in [
        &b"*03\r\n"[..],
        b"*1 \r\n",
        b"*x\r\n",
        b"*-0\r\n",
        b"*+3\r\n",
        b"*\r\n",
        b"*2147483648\r\n",
    ] {
        assert_eq!(
            closes_with(&server, &[header, &tail[..]].concat()),
            "-ERR Protocol error: invalid multibulk length\r\n",
            "{}",
            show(header)
        );
    }
    for bulk in [
        &b"$03\r\n"[..],
        b"$3 \r\n",
        b"$x\r\n",
        b"$-1\r\n",
        b"$+3\r\n",
        b"$536870913\r\n",
    ] {
        let input = [b"*2\r\n$8\r\nFLUSHALL\r\n", bulk, b"abc\r\nFLUSHALL\r\n"].concat();
        assert_eq!(
            closes_with(&server, &input),
            "-ERR Protocol error: invalid bulk length\r\n",
            "{}",
            show(bulk)
        );
    }
    for (input, reply) in [
        (
            &b"*1\r\n+PING\r\nFLUSHALL\r\n"[..],
            "-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"*1\r\r\n$8\r\nFLUSHALL\r\n",
            "-ERR Protocol error: expected '$', got ' '\r\n",
        ),
        (
            b"SET note \"gone\r\nFLUSHALL\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"PING\r\nSET note 'gone'x\r\nFLUSHALL\r\n",
            "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ] {
        assert_eq!(closes_with(&server, input), reply, "{}", show(input));
    }
    assert_eq!(string(&mut con, &["GET", "note"]).as_deref(), Some("keep"));
    assert_eq!(int(&mut con, &["DBSIZE"]), 1);
}

/// What Redis accepts, this server accepts: it skips the byte after a
/// header's `\r` and the two bytes after a payload without looking, and
/// takes empty lines, `*0` and `*-1` as nothing.
#[test]
fn redis_leniencies() {
    let server = TestServer::start();
    let mut stream = server.raw();
    let steps: [(&[u8], &str); 4] = [
        (b"*1\r\n$4\r\nPINGxxPING\r\n", "+PONG\r\n+PONG\r\n"),
        (b"*1\rX$4\r\nPING\r\n", "+PONG\r\n"),
        (b"\r\n\r\n*0\r\n*-1\r\nPING x\r\n", "$1\r\nx\r\n"),
        (b"set 'k' \"a \\x41\"\r\nget k\r\n", "+OK\r\n$3\r\na A\r\n"),
    ];
    for (send, reply) in steps {
        stream.write_all(send).unwrap();
        assert_eq!(
            read_n(&mut stream, reply.len()),
            reply,
            "after {}",
            show(send)
        );
    }
    // A header that arrives a byte at a time.
    let mut replies = Replies::new(stream);
    for byte in b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n" {
        replies.send(&[*byte]);
    }
    assert_eq!(show(&replies.next().unwrap()), "$2\\r\\nhi\\r\\n");
}

#[test]
fn oversized_input_is_rejected_and_the_connection_closed() {
    let limits = Limits {
        max_bulk_len: 1024 * 1024,
        max_args: 1000,
        max_inline_len: 64 * 1024,
        max_request_len: 3 * 1024 * 1024,
    };
    let server = TestServer::with_limits(limits);

    // Through the client library: a value over the bulk limit. The client
    // writes all of it; the server replies at the header, then discards
    // the rest until the client has read the error.
    let mut con = server.client();
    let big = vec![b'x'; 2 * 1024 * 1024];
    let err = redis::cmd("SET")
        .arg("big")
        .arg(&big[..])
        .exec(&mut con)
        .expect_err("too large");
    assert!(
        err.to_string()
            .contains("Protocol error: invalid bulk length"),
        "{err}"
    );
    assert!(
        cmd(&mut con, &["PING"]).is_err(),
        "the connection is closed"
    );

    // Raw: each limit, and the bytes the server did read are all it holds.
    let too_long_request = [
        &b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n"[..],
        &[
            b"$1048576\r\n".as_slice(),
            &vec![b'a'; 1024 * 1024],
            b"\r\n",
        ]
        .concat(),
        &[
            b"$1048576\r\n".as_slice(),
            &vec![b'b'; 1024 * 1024],
            b"\r\n",
        ]
        .concat(),
        b"$1048576\r\n",
    ]
    .concat();
    let inline = vec![b'a'; 100 * 1024];
    let header = [&b"*"[..], &vec![b'1'; 70 * 1024]].concat();
    for (send, reply) in [
        (&b"*1001\r\n"[..], "invalid multibulk length"),
        (b"*2\r\n$4\r\nECHO\r\n$1048577\r\n", "invalid bulk length"),
        (
            &too_long_request,
            "request exceeds the limit of 3145728 bytes",
        ),
        (&inline, "too big inline request"),
        (
            b"*99999999999999999999999999999999999999\r\n",
            "invalid multibulk length",
        ),
        (&header, "too big mbulk count string"),
    ] {
        let mut stream = server.raw();
        stream.write_all(send).unwrap();
        let got = read_to_eof(&mut stream);
        assert!(
            got.starts_with("-ERR Protocol error: ")
                && got.contains(reply)
                && got.ends_with("\r\n"),
            "{got:?}"
        );
    }
    // A client that keeps sending after the error is cut off after the
    // linger time, and the server is not disturbed.
    let mut stream = server.raw();
    stream.write_all(b"*1001\r\n").unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        thread::spawn(move || {
            let junk = [b'j'; 64 * 1024];
            let until = Instant::now() + Duration::from_secs(5);
            while Instant::now() < until {
                if stream.write_all(&junk).is_err() {
                    return true; // cut off
                }
            }
            false
        })
    };
    let mut reply = [0u8; 64];
    let n = stream.read(&mut reply).unwrap();
    assert_eq!(
        show(&reply[..n]),
        "-ERR Protocol error: invalid multibulk length\\r\\n"
    );
    assert!(writer.join().unwrap(), "the server closes after lingering");
    let _ = stream.shutdown(Shutdown::Both);
    assert_eq!(
        string(&mut server.client(), &["PING"]).as_deref(),
        Some("PONG")
    );
    assert_eq!(int(&mut server.client(), &["DBSIZE"]), 0);
}

/// A client that sends its last request and its FIN together gets its
/// reply, then the server closes its side too.
#[test]
fn a_half_closed_client_is_answered_and_closed() {
    let server = TestServer::start();
    for _ in 0..10 {
        let mut stream = server.raw();
        stream.write_all(b"PING\r\nECHO bye\r\n").unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        // `read_to_eof` fails if the read times out (5 s) before EOF.
        assert_eq!(read_to_eof(&mut stream), "+PONG\r\n$3\r\nbye\r\n");
    }
}
