//! The Redis example server (`examples/redis_server`) against real clients:
//! the `redis` crate, raw bytes over a `TcpStream`, and `redis-cli` when it
//! is installed. Each test runs its own server on a thread, on a free
//! loopback port, and stops it with `SHUTDOWN`.
#![cfg(feature = "io")]

#[allow(dead_code)] // shared with the example; not every item is used here
#[path = "../examples/redis_server/commands.rs"]
mod commands;
#[allow(dead_code)]
#[path = "../examples/redis_server/resp.rs"]
mod resp;
#[allow(dead_code)]
#[path = "../examples/redis_server/server.rs"]
mod server;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use redis::{Connection, RedisResult};

use resp::Limits;
use server::{Options, RedisServer};

/// A server on its own thread; dropping it sends `SHUTDOWN` and joins.
struct TestServer {
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start() -> TestServer {
        TestServer::with_limits(Limits::default())
    }

    fn with_limits(limits: Limits) -> TestServer {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = thread::spawn(move || {
            let mut options = Options::loopback(0);
            options.limits = limits;
            let server = RedisServer::bind(options).expect("bind a loopback port");
            tx.send(server.local_addr()).unwrap();
            server.run().expect("the server runs until SHUTDOWN");
        });
        let addr = rx.recv().expect("the server thread reports its address");
        TestServer {
            addr,
            thread: Some(thread),
        }
    }

    fn client(&self) -> Connection {
        let client = redis::Client::open(format!("redis://{}/", self.addr)).unwrap();
        client
            .get_connection()
            .expect("connect with the redis crate")
    }

    fn raw(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Ok(mut stream) = TcpStream::connect(self.addr) {
            let _ = stream.write_all(b"SHUTDOWN\r\n");
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
        }
        if let Some(thread) = self.thread.take() {
            let joined = thread.join();
            if !thread::panicking() {
                joined.expect("the server thread ends cleanly");
            }
        }
    }
}

fn cmd(con: &mut Connection, args: &[&str]) -> RedisResult<redis::Value> {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(con)
}

fn string(con: &mut Connection, args: &[&str]) -> Option<String> {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(con).unwrap()
}

fn int(con: &mut Connection, args: &[&str]) -> i64 {
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.query(con).unwrap()
}

/// The error a command gets: (code, detail).
fn error(con: &mut Connection, args: &[&str]) -> (String, String) {
    let err = cmd(con, args).expect_err("an error reply");
    (
        err.code().unwrap_or("?").to_owned(),
        err.detail().unwrap_or("").to_owned(),
    )
}

/// Reads from a raw connection until `expected` bytes came, or EOF.
fn read_n(stream: &mut TcpStream, expected: usize) -> String {
    let mut got = vec![0; expected];
    let mut at = 0;
    while at < expected {
        match stream.read(&mut got[at..]) {
            Ok(0) => break,
            Ok(n) => at += n,
            Err(e) => panic!("read failed after {:?}: {e}", got[..at].escape_ascii()),
        }
    }
    String::from_utf8_lossy(&got[..at]).into_owned()
}

/// Reads until the peer closes; what arrived before.
fn read_to_eof(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    stream
        .read_to_end(&mut got)
        .expect("the server closes the connection");
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn strings_counters_and_keys() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(string(&mut con, &["PING"]).as_deref(), Some("PONG"));
    assert_eq!(
        string(&mut con, &["ECHO", "héllo"]).as_deref(),
        Some("héllo")
    );
    assert_eq!(string(&mut con, &["SET", "k", "v"]).as_deref(), Some("OK"));
    assert_eq!(string(&mut con, &["GET", "k"]).as_deref(), Some("v"));
    assert_eq!(string(&mut con, &["GET", "missing"]), None);
    assert_eq!(string(&mut con, &["SET", "k", "w", "NX"]), None);
    assert_eq!(
        string(&mut con, &["SET", "k", "w", "XX", "GET"]).as_deref(),
        Some("v")
    );
    assert_eq!(string(&mut con, &["SET", "nope", "w", "XX"]), None);
    // Binary-safe values.
    let bytes: Vec<u8> = (0..=255).collect();
    redis::cmd("SET")
        .arg("bin")
        .arg(&bytes[..])
        .exec(&mut con)
        .unwrap();
    let back: Vec<u8> = redis::cmd("GET").arg("bin").query(&mut con).unwrap();
    assert_eq!(back, bytes);

    assert_eq!(int(&mut con, &["INCR", "n"]), 1);
    assert_eq!(int(&mut con, &["INCR", "n"]), 2);
    assert_eq!(int(&mut con, &["DECR", "n"]), 1);
    assert_eq!(int(&mut con, &["DECR", "fresh"]), -1);
    assert_eq!(int(&mut con, &["INCRBY", "n", "100"]), 101);

    assert_eq!(
        string(&mut con, &["MSET", "a", "1", "b", "2", "c", "3"]).as_deref(),
        Some("OK")
    );
    let got: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&["a", "zz", "c", "b"])
        .query(&mut con)
        .unwrap();
    assert_eq!(
        got,
        [Some("1".into()), None, Some("3".into()), Some("2".into())]
    );
    assert_eq!(int(&mut con, &["EXISTS", "a", "b", "zz", "a"]), 3);
    assert_eq!(int(&mut con, &["DEL", "a", "zz", "b"]), 2);
    assert_eq!(int(&mut con, &["EXISTS", "a", "b"]), 0);

    for key in ["user:1:name", "user:2:name", "user:10:mail", "users", "u"] {
        cmd(&mut con, &["SET", key, "x"]).unwrap();
    }
    let keys = |con: &mut Connection, pattern: &str| -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(con).unwrap();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&mut con, "user:*:name"),
        ["user:1:name", "user:2:name"]
    );
    assert_eq!(keys(&mut con, "user:?:*"), ["user:1:name", "user:2:name"]);
    assert_eq!(keys(&mut con, "user:[12]0:*"), ["user:10:mail"]);
    assert_eq!(keys(&mut con, "user[^:]"), ["users"]);
    assert_eq!(keys(&mut con, "u"), ["u"]);
    assert!(keys(&mut con, "nothing*").is_empty());

    let size = int(&mut con, &["DBSIZE"]);
    assert_eq!(size, keys(&mut con, "*").len() as i64);
    assert_eq!(string(&mut con, &["TYPE", "k"]).as_deref(), Some("string"));
    assert_eq!(string(&mut con, &["FLUSHALL"]).as_deref(), Some("OK"));
    assert_eq!(int(&mut con, &["DBSIZE"]), 0);
}

#[test]
fn expiry_with_ex_px_and_expire() {
    let server = TestServer::start();
    let mut con = server.client();
    // Long TTLs: exact values, without racing the clock.
    cmd(&mut con, &["SET", "long", "v", "EX", "100"]).unwrap();
    let ttl = int(&mut con, &["TTL", "long"]);
    assert!((95..=100).contains(&ttl), "TTL {ttl}");
    let pttl = int(&mut con, &["PTTL", "long"]);
    assert!((90_000..=100_000).contains(&pttl), "PTTL {pttl}");
    assert_eq!(int(&mut con, &["TTL", "missing"]), -2);
    cmd(&mut con, &["SET", "plain", "v"]).unwrap();
    assert_eq!(int(&mut con, &["TTL", "plain"]), -1);
    assert_eq!(int(&mut con, &["EXPIRE", "plain", "50"]), 1);
    assert!((45..=50).contains(&int(&mut con, &["TTL", "plain"])));
    assert_eq!(int(&mut con, &["PERSIST", "plain"]), 1);
    assert_eq!(int(&mut con, &["TTL", "plain"]), -1);
    assert_eq!(int(&mut con, &["EXPIRE", "missing", "5"]), 0);
    let (code, detail) = error(&mut con, &["SET", "k", "v", "EX", "0"]);
    assert_eq!(
        (code.as_str(), detail.as_str()),
        ("ERR", "invalid expire time in 'set' command")
    );

    // Short TTLs: a key may not vanish before its deadline, and must be
    // gone some time after it (generous margins for a loaded machine).
    let sent = Instant::now();
    cmd(&mut con, &["SET", "px", "v", "PX", "300"]).unwrap();
    cmd(&mut con, &["SET", "ex", "v", "EX", "1"]).unwrap();
    cmd(&mut con, &["SET", "exp", "v"]).unwrap();
    cmd(&mut con, &["PEXPIRE", "exp", "400"]).unwrap();
    // Reaped actively: these keys are never read again, yet DBSIZE drops.
    cmd(&mut con, &["SET", "reaped", "v", "PX", "200"]).unwrap();
    let mut lazily_gone = [false; 3];
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until && !lazily_gone.iter().all(|g| *g) {
        for (gone, key) in lazily_gone.iter_mut().zip(["px", "ex", "exp"]) {
            if !*gone && string(&mut con, &["GET", key]).is_none() {
                *gone = true;
                let floor = match key {
                    "px" => 300,
                    "ex" => 1000,
                    _ => 400,
                };
                let elapsed = sent.elapsed();
                assert!(
                    elapsed >= Duration::from_millis(floor),
                    "{key} gone after {elapsed:?}"
                );
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(lazily_gone, [true; 3], "keys expire");
    let until = Instant::now() + Duration::from_secs(5);
    // `long` and `plain` stay.
    while int(&mut con, &["DBSIZE"]) != 2 {
        assert!(Instant::now() < until, "the reaper removes expired keys");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(int(&mut con, &["EXISTS", "long", "plain"]), 2);
}

#[test]
fn pipelines_keep_order() {
    let server = TestServer::start();
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("INCR").arg("counter");
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    let counts: Vec<i64> = pipe.query(&mut con).unwrap();
    assert_eq!(counts, (1..=1000).collect::<Vec<_>>());
    let (a, b, missing): (i64, String, Option<String>) = redis::pipe()
        .cmd("GET")
        .arg("key:7")
        .cmd("GET")
        .arg("key:999")
        .cmd("GET")
        .arg("key:1000")
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b.as_str(), missing), (7, "999", None));
    let keys: Vec<String> = (0..1000).map(|i| format!("key:{i}")).collect();
    let values: Vec<i64> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
    assert_eq!(values, (0..1000).collect::<Vec<_>>());
}

/// Many requests in one write, and requests cut anywhere across writes.
#[test]
fn raw_pipelining_and_partial_frames() {
    let server = TestServer::start();
    let mut stream = server.raw();
    let mut batch = Vec::new();
    let mut expected = String::new();
    for i in 0..200 {
        let value = format!("v{i}");
        batch.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n$2\r\nk{}\r\n${}\r\n{value}\r\n",
                i % 10,
                value.len()
            )
            .as_bytes(),
        );
        batch.extend_from_slice(format!("GET k{}\r\n", i % 10).as_bytes());
        expected.push_str(&format!("+OK\r\n${}\r\n{value}\r\n", value.len()));
    }
    stream.write_all(&batch).unwrap();
    assert_eq!(read_n(&mut stream, expected.len()), expected);

    // The same requests dribbled out a few bytes at a time.
    let request = b"*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\nECHO \"in line\"\r\n";
    for piece in request.chunks(3) {
        stream.write_all(piece).unwrap();
        thread::sleep(Duration::from_millis(2));
    }
    let expected = "$11\r\nhello world\r\n$7\r\nin line\r\n";
    assert_eq!(read_n(&mut stream, expected.len()), expected);
}

#[test]
fn wrong_types_arity_and_unknown_commands() {
    let server = TestServer::start();
    let mut con = server.client();
    assert_eq!(int(&mut con, &["RPUSH", "list", "a", "b"]), 2);
    for args in [
        &["GET", "list"][..],
        &["INCR", "list"],
        &["APPEND", "list", "x"],
        &["SET", "list", "x", "GET"],
    ] {
        let (code, detail) = error(&mut con, args);
        assert_eq!(code, "WRONGTYPE", "{args:?}");
        assert_eq!(
            detail,
            "Operation against a key holding the wrong kind of value"
        );
    }
    cmd(&mut con, &["SET", "word", "abc"]).unwrap();
    let (code, detail) = error(&mut con, &["INCR", "word"]);
    assert_eq!(
        (code.as_str(), detail.as_str()),
        ("ERR", "value is not an integer or out of range")
    );
    cmd(&mut con, &["SET", "max", "9223372036854775807"]).unwrap();
    let (_, detail) = error(&mut con, &["INCR", "max"]);
    assert_eq!(detail, "increment or decrement would overflow");
    for (args, name) in [
        (&["GET"][..], "get"),
        (&["GET", "a", "b"], "get"),
        (&["SET", "k"], "set"),
        (&["MSET", "a", "1", "b"], "mset"),
        (&["TTL"], "ttl"),
        (&["KEYS"], "keys"),
        (&["DBSIZE", "x"], "dbsize"),
    ] {
        let (code, detail) = error(&mut con, args);
        assert_eq!(code, "ERR");
        assert_eq!(
            detail,
            format!("wrong number of arguments for '{name}' command")
        );
    }
    let (code, detail) = error(&mut con, &["NOSUCH", "a"]);
    assert_eq!(code, "ERR");
    assert_eq!(
        detail,
        "unknown command 'NOSUCH', with args beginning with: 'a' "
    );
    assert_eq!(error(&mut con, &["SET", "k", "v", "EX"]).1, "syntax error");
    assert_eq!(error(&mut con, &["HELLO", "3"]).0, "NOPROTO");
    // The connection is fine after all that.
    assert_eq!(string(&mut con, &["PING"]).as_deref(), Some("PONG"));
}

/// Recoverable protocol errors get an error and the connection goes on;
/// an error inside a multibulk frame closes it, like Redis.
#[test]
fn malformed_input() {
    let server = TestServer::start();
    let mut stream = server.raw();
    let steps: [(&[u8], &str); 5] = [
        (
            b"*x\r\n",
            "-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (b"PING\r\n", "+PONG\r\n"),
        (
            b"SET k \"unbalanced\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (b"set 'k' \"a \\x41\"\r\nget k\r\n", "+OK\r\n$3\r\na A\r\n"),
        (b"\r\n\r\n*0\r\nPING x\r\n", "$1\r\nx\r\n"),
    ];
    for (send, reply) in steps {
        stream.write_all(send).unwrap();
        assert_eq!(
            read_n(&mut stream, reply.len()),
            reply,
            "after {}",
            send.escape_ascii()
        );
    }
    // Fatal: the server replies, then closes.
    for (send, reply) in [
        (
            &b"*1\r\n$x\r\n"[..],
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n+PING\r\n",
            "-ERR Protocol error: expected '$', got '+'\r\n",
        ),
        (
            b"*1\r\n$4\r\nPINGPONG\r\n",
            "-ERR Protocol error: expected CRLF after bulk string\r\n",
        ),
    ] {
        let mut stream = server.raw();
        stream.write_all(send).unwrap();
        assert_eq!(read_to_eof(&mut stream), reply);
    }
    // Other clients never noticed.
    assert_eq!(
        string(&mut server.client(), &["PING"]).as_deref(),
        Some("PONG")
    );
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
            .contains("Protocol error: bulk length 2097152 exceeds the limit of 1048576 bytes"),
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
    for (send, reply) in [
        (
            &b"*1001\r\n"[..],
            "multibulk length 1001 exceeds the limit of 1000 arguments",
        ),
        (
            b"*2\r\n$4\r\nECHO\r\n$1048577\r\n",
            "bulk length 1048577 exceeds the limit",
        ),
        (
            &too_long_request,
            "request exceeds the limit of 3145728 bytes",
        ),
        (&inline, "too big inline request (limit 65536 bytes)"),
        (
            b"*99999999999999999999999999999999999999\r\n",
            "too big count string",
        ),
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
    assert!(reply[..n].starts_with(b"-ERR Protocol error: multibulk length"));
    assert!(writer.join().unwrap(), "the server closes after lingering");
    let _ = stream.shutdown(Shutdown::Both);
    assert_eq!(
        string(&mut server.client(), &["PING"]).as_deref(),
        Some("PONG")
    );
    assert_eq!(int(&mut server.client(), &["DBSIZE"]), 0);
}

/// Many connections, one keyspace: no update is lost.
#[test]
fn clients_share_one_keyspace() {
    let server = TestServer::start();
    let addr = server.addr;
    let workers: Vec<_> = (0..8)
        .map(|w| {
            thread::spawn(move || {
                let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
                let mut con = client.get_connection().unwrap();
                for i in 0..100 {
                    let _: i64 = redis::cmd("INCR").arg("shared").query(&mut con).unwrap();
                    let _: () = redis::cmd("SET")
                        .arg(format!("w{w}:{i}"))
                        .arg(i)
                        .query(&mut con)
                        .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let mut con = server.client();
    assert_eq!(int(&mut con, &["GET", "shared"]), 800);
    assert_eq!(int(&mut con, &["DBSIZE"]), 801);
}

/// What connection setup sends (the redis crate pipelines `CLIENT SETINFO`
/// on connect; other clients send `HELLO`, `COMMAND`, `CLIENT SETNAME`).
#[test]
fn connection_handshakes() {
    let server = TestServer::start();
    let mut con = server.client();
    let hello: Vec<redis::Value> = redis::cmd("HELLO").arg(2).query(&mut con).unwrap();
    assert_eq!(hello.len(), 14);
    assert_eq!(
        string(&mut con, &["CLIENT", "SETNAME", "tester"]).as_deref(),
        Some("OK")
    );
    assert_eq!(
        string(&mut con, &["CLIENT", "GETNAME"]).as_deref(),
        Some("tester")
    );
    let info = string(&mut con, &["CLIENT", "INFO"]).unwrap();
    assert!(
        info.contains("name=tester") && info.contains("lib-name=redis-rs"),
        "{info}"
    );
    let count = int(&mut con, &["COMMAND", "COUNT"]);
    let all: Vec<redis::Value> = redis::cmd("COMMAND").query(&mut con).unwrap();
    assert_eq!(all.len() as i64, count);
    let config: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut con)
        .unwrap();
    assert_eq!(config, ["appendonly", "no"]);
    assert_eq!(string(&mut con, &["SELECT", "0"]).as_deref(), Some("OK"));
    let info = string(&mut con, &["INFO"]).unwrap();
    assert!(info.contains("connected_clients:1"), "{info}");
    assert_eq!(string(&mut con, &["QUIT"]).as_deref(), Some("OK"));
}

/// `redis-cli`, if it is installed: arguments, lines on stdin, and
/// `--pipe` mass insertion.
#[test]
fn redis_cli() {
    if Command::new("redis-cli").arg("--version").output().is_err() {
        println!("note: redis-cli is not installed; skipping (apt-get install redis-tools)");
        return;
    }
    let server = TestServer::start();
    let port = server.addr.port().to_string();
    let cli = |args: &[&str], stdin: &[u8]| -> String {
        let mut child = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "redis-cli {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(cli(&["PING"], b""), "PONG\n");
    assert_eq!(cli(&["SET", "greeting", "hello world"], b""), "OK\n");
    assert_eq!(cli(&["GET", "greeting"], b""), "hello world\n");
    assert_eq!(cli(&["INCR", "visits"], b""), "1\n");
    assert_eq!(cli(&["MGET", "greeting", "nope"], b""), "hello world\n\n");
    assert_eq!(
        cli(&["GET", "a", "b"], b"").trim_end(),
        "ERR wrong number of arguments for 'get' command"
    );
    // Commands read from stdin, one per line.
    assert_eq!(
        cli(
            &[],
            b"SET counter 10\nINCRBY counter 5\nEXPIRE counter 100\nTTL counter\n"
        ),
        "OK\n15\n1\n100\n"
    );
    // Mass insertion: redis-cli streams the requests and checks the count.
    let mut bulk = Vec::new();
    for i in 0..2000 {
        let (key, value) = (format!("mass:{i}"), i.to_string());
        bulk.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
                key.len(),
                value.len()
            )
            .as_bytes(),
        );
    }
    let report = cli(&["--pipe"], &bulk);
    assert!(report.contains("errors: 0, replies: 2000"), "{report}");
    assert_eq!(cli(&["GET", "mass:1999"], b""), "1999\n");
    assert_eq!(cli(&["KEYS", "mass:199?"], b"").lines().count(), 10);
}
