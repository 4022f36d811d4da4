//! The server against real clients: the `redis` crate, raw sockets, and
//! `redis-cli` when it is installed.

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use redis::Connection;

use crate::support::{TestServer, cmd, error, int, read_n, string};

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
    assert_eq!(error(&mut con, &["HELLO", "4"]).0, "NOPROTO");
    // The connection is fine after all that.
    assert_eq!(string(&mut con, &["PING"]).as_deref(), Some("PONG"));
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

/// A RESP3 connection: the client sends `HELLO 3` and reads maps and nulls.
#[test]
fn a_resp3_client_connects() {
    let server = TestServer::start();
    let client = redis::Client::open(format!("redis://{}/?protocol=resp3", server.addr)).unwrap();
    let mut resp3 = client.get_connection().expect("connect with RESP3");
    assert_eq!(string(&mut resp3, &["GET", "missing"]), None);
    assert_eq!(
        string(&mut resp3, &["SET", "k", "v"]).as_deref(),
        Some("OK")
    );
    let config: std::collections::HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .query(&mut resp3)
        .unwrap();
    assert_eq!(config["appendonly"], "no");
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
