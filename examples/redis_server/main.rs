//! A Redis-protocol (RESP2 and RESP3) server: one coroutine per connection,
//! all of them sharing one keyspace in the driver's state, with no
//! `Rc<RefCell<_>>` and no `Arc<Mutex<_>>`.
//!
//! ```text
//! $ cargo run --release --example redis_server -- --port 6380
//! coshare redis server listening on 127.0.0.1:6380
//! $ redis-cli -p 6380 set greeting hello EX 60
//! OK
//! $ redis-cli -p 6380 get greeting
//! "hello"
//! $ redis-cli -p 6380 shutdown
//! ```
//!
//! The port comes from `--port N` (or `-p N`), else from the
//! `COSHARE_REDIS_PORT` environment variable, else 6380; port 0 picks a
//! free one. The server listens on loopback only and stops on `SHUTDOWN`.
//! `--threads N` splits the keyspace over `N` shards, a thread each (see
//! below), and `--pin` pins each of those threads to a CPU of its own; the
//! default is one thread.
//!
//! # Commands
//!
//! Each answers as redis-server 7.0 does, byte for byte, errors included
//! (`tests/redis/diff.rs` checks that against a real `redis-server`):
//!
//! * strings: `GET SET (NX XX GET EX PX EXAT PXAT KEEPTTL) SETNX MGET MSET
//!   MSETNX INCR DECR INCRBY DECRBY APPEND STRLEN`;
//! * keys: `DEL UNLINK EXISTS EXPIRE PEXPIRE (NX XX GT LT) TTL PTTL PERSIST
//!   TYPE KEYS DBSIZE FLUSHALL FLUSHDB`;
//! * lists: `LPUSH RPUSH LPOP RPOP LLEN LRANGE`;
//! * transactions: `MULTI EXEC DISCARD WATCH UNWATCH`;
//! * pub/sub: `SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH`;
//! * connection: `PING ECHO SELECT (0 only) AUTH RESET QUIT`.
//!
//! Every reply comes in RESP2, or in RESP3 after `HELLO 3` (nulls, maps,
//! sets, pushes for pub/sub, verbatim strings, as redis-server 7 sends them;
//! redis-py 8 asks for RESP3 when it connects).
//!
//! And what clients send when they connect, with replies that carry this
//! server's own facts: `HELLO`, `CLIENT SETINFO/SETNAME/GETNAME/ID/INFO/HELP`
//! (`SETINFO` is Redis 7.2's), `COMMAND` (`COUNT`, `LIST`, `INFO`, `HELP`;
//! `COMMAND DOCS` is an error, so that `redis-cli` falls back to its
//! built-in help), `CONFIG GET/RESETSTAT`, `INFO`, and `SHUTDOWN`.
//!
//! Deliberate differences from redis-server 7.0:
//!
//! * one database: `SELECT 1` is out of range, as with `databases 1`;
//! * input Redis would sit on, waiting for more (a NUL byte before the end
//!   of an inline line or of a header line), gets at once the error Redis
//!   ends with (see `resp`); a request over `client-query-buffer-limit` gets
//!   an error before the close, where Redis closes without one;
//! * the order of `KEYS` and of an `UNSUBSCRIBE` without arguments is the
//!   order of this server's own tables (Redis's is a hash order too);
//! * a transaction may queue at most as many bytes as one request may hold
//!   (Redis has no such bound); a slow subscriber is cut off at the hard
//!   limit only (see `client.rs`).
//!
//! # Transactions and the type system
//!
//! `EXEC` runs every queued command inside the one `with_state` call that
//! runs `EXEC` (see `commands/tx.rs`). A `with_state` closure cannot reach
//! the task, so it cannot wait on anything: the compiler proves that no
//! other connection runs in the middle of a transaction, and there is no
//! lock to take.
//!
//! # On several cores
//!
//! With `--threads N` the server runs one driver per thread
//! (`coshare::driver::shards`), each owning the keys whose Redis Cluster
//! hash slot (CRC16 of the key or of its `{hash tag}`, modulo 16384) is its
//! index modulo `N`, with their TTLs on its own timers. All shards listen on
//! the port with `SO_REUSEPORT`; a connection stays on the shard that
//! accepted it, and its task sends the requests for other shards' keys to
//! their owners, one batch per shard and per read, and writes every reply
//! in the order of the requests (`forward.rs`). What runs where
//! (`commands/route.rs`):
//!
//! * a command whose keys live on one shard runs there, whole;
//! * `MGET`, `MSET`, `DEL`, `UNLINK` and `EXISTS` over several shards are
//!   split by owner and the replies combined (each part is atomic on its
//!   shard, the whole is not);
//! * `KEYS`, `DBSIZE`, `FLUSHALL`, `FLUSHDB` and `PUBLISH` run on every
//!   shard, and the replies are combined;
//! * a transaction (its `WATCH`ed and queued keys) must live on one shard,
//!   which runs `EXEC` in one step; a key of a second shard gets Redis
//!   Cluster's `CROSSSLOT` error (use hash tags to keep keys together), and
//!   so does `MSETNX` over several shards; keyspace-wide commands cannot be
//!   queued in a transaction.
//!
//! Otherwise the replies are the one-thread server's, byte for byte
//! (`tests/redis/diff/` checks both against a real `redis-server`).
//! `CLIENT ID`s stay unique (shard `i` hands out `i + 1`, `i + 1 + N`,
//! ...); `INFO` reports the connection's own shard.
//!
//! # Layout
//!
//! * `resp/`: the wire protocol (incremental parser with limits, reply
//!   encoders, read buffer), with no I/O;
//! * `commands/`: the keyspace and every command, as plain functions that
//!   append a reply to a buffer, one file per family; expiry (lazy on
//!   access, plus a reaper on the driver's timers) is explained there;
//! * `client.rs`: the task of one connection, pub/sub delivery and the
//!   slow-subscriber policy;
//! * `server.rs`: the server task, whose task scope holds the reaper and
//!   every connection, so that `SHUTDOWN` closes them all before `run`
//!   returns;
//! * `sharded.rs` and `forward.rs`: the same server on `N` shards, and how
//!   a connection's requests reach the other shards (routing itself is
//!   `commands/route.rs`, with no I/O).
//!
//! The tokio comparison server, `benches/redis_tokio.rs`, runs the same
//! `resp/` and `commands/` over tokio with `Rc<RefCell<_>>` state;
//! `benches/redis/run.sh` races both against a real `redis-server`.

mod client;
mod commands;
mod forward;
mod resp;
mod server;
mod sharded;

use std::io::Write;

use server::{Options, RedisServer};
use sharded::ShardedServer;

const DEFAULT_PORT: u16 = 6380;

const USAGE: &str = "usage: redis_server [--port N] [--threads N [--pin]]   \
     (or COSHARE_REDIS_PORT=N; default port 6380, 1 thread; --pin: each thread on a CPU of its own)";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    port: u16,
    /// Shards, each on a thread of its own (1: the one-thread server).
    threads: usize,
    /// Pin each shard's thread to a CPU.
    pin: bool,
}

/// The port from the command line, else the environment, else 6380; the
/// thread count from the command line, else 1.
fn parse_args(mut args: impl Iterator<Item = String>, env: Option<String>) -> Result<Args, String> {
    let mut port = None;
    let mut threads = None;
    let mut pin = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pin" => pin = true,
            "--port" | "-p" => port = Some(args.next().ok_or("--port needs a number")?),
            "--threads" | "-t" => threads = Some(args.next().ok_or("--threads needs a number")?),
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    let port = match port.or(env) {
        None => DEFAULT_PORT,
        Some(text) => text
            .parse()
            .map_err(|_| format!("not a port number: {text:?}"))?,
    };
    let threads = match threads {
        None => 1,
        Some(text) => match text.parse() {
            Ok(n) if n >= 1 => n,
            _ => return Err(format!("not a thread count (1 or more): {text:?}")),
        },
    };
    if pin && threads == 1 {
        return Err("--pin is for --threads 2 or more".into());
    }
    Ok(Args { port, threads, pin })
}

fn main() {
    let args = parse_args(
        std::env::args().skip(1),
        std::env::var("COSHARE_REDIS_PORT").ok(),
    )
    .unwrap_or_else(|message| {
        eprintln!("{message}");
        std::process::exit(2);
    });
    let port = args.port;
    let cannot_listen = |e: std::io::Error| -> ! {
        eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
        std::process::exit(1);
    };
    let served = if args.threads == 1 {
        let server =
            RedisServer::bind(Options::loopback(port)).unwrap_or_else(|e| cannot_listen(e));
        println!("coshare redis server listening on {}", server.local_addr());
        let _ = std::io::stdout().flush();
        server.run().map_err(|deadlock| deadlock.to_string())
    } else {
        let server = ShardedServer::start(Options::loopback(port), args.threads, args.pin)
            .unwrap_or_else(|e| cannot_listen(e));
        println!(
            "coshare redis server listening on {} ({} threads)",
            server.local_addr(),
            args.threads
        );
        let _ = std::io::stdout().flush();
        server.run()
    };
    if let Err(message) = served {
        eprintln!("{message}");
        std::process::exit(1);
    }
    println!("shut down");
}

#[test]
fn the_port_and_threads_come_from_the_arguments_or_the_environment() {
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let parsed = |list: &[&str], env: Option<&str>| {
        parse_args(args(list).into_iter(), env.map(String::from))
    };
    let ok = |port, threads| {
        Ok(Args {
            port,
            threads,
            pin: false,
        })
    };
    assert_eq!(parsed(&[], None), ok(6380, 1));
    assert_eq!(parsed(&["--port", "7000"], None), ok(7000, 1));
    assert_eq!(parsed(&["-p", "0"], Some("9")), ok(0, 1));
    assert_eq!(parsed(&[], Some("9")), ok(9, 1));
    assert_eq!(parsed(&["--threads", "2", "-p", "1"], None), ok(1, 2));
    assert!(parsed(&["--port", "x"], None).is_err());
    assert!(parsed(&["--port"], None).is_err());
    assert!(parsed(&["--threads", "0"], None).is_err());
    assert_eq!(
        parsed(&["--threads", "4", "--pin"], None),
        Ok(Args {
            port: 6380,
            threads: 4,
            pin: true
        })
    );
    assert!(parsed(&["--pin"], None).is_err());
    assert!(parsed(&["7000"], None).is_err());
}

/// The example end to end: answer a pipelined `PING` and `ECHO`, then stop
/// on `SHUTDOWN` (`tests/redis/` has the full client tests).
#[test]
fn serves_and_shuts_down() {
    use std::io::Read;

    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let server = RedisServer::bind(Options::loopback(0)).unwrap();
        tx.send(server.local_addr()).unwrap();
        server.run().unwrap();
    });
    let addr = rx.recv().unwrap();
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client
        .write_all(b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nSHUTDOWN\r\n")
        .unwrap();
    let mut replies = String::new();
    client.read_to_string(&mut replies).unwrap();
    assert_eq!(replies, "+PONG\r\n$2\r\nhi\r\n");
    server.join().unwrap();
}

/// The same on two shards: `SHUTDOWN` on one stops both.
#[test]
fn serves_and_shuts_down_on_two_threads() {
    use std::io::Read;

    let server = ShardedServer::start(Options::loopback(0), 2, false).unwrap();
    let addr = server.local_addr();
    let running = std::thread::spawn(move || server.run());
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client
        .write_all(b"SET {a}k 1\r\nSET {b}k 2\r\nMGET {b}k {a}k\r\nSHUTDOWN\r\n")
        .unwrap();
    let mut replies = String::new();
    client.read_to_string(&mut replies).unwrap();
    assert_eq!(replies, "+OK\r\n+OK\r\n*2\r\n$1\r\n2\r\n$1\r\n1\r\n");
    assert_eq!(running.join().unwrap(), Ok(()));
}
