//! The differential tests: generated command sequences go to this server
//! and to a real `redis-server` (7.0, `--databases 1`), over raw TCP, and
//! the reply bytes must be identical; and malformed or lenient raw input
//! must get the same bytes back and the same closing behaviour.
//!
//! `redis-server` is looked up as `/usr/bin/redis-server`, then on the
//! `PATH`. If it is missing the test says so and passes, unless
//! `COSHARE_REDIS_DIFF_REQUIRED` is set (CI sets it), where it fails.
//!
//! The sequences come from a seeded generator, so a failure replays:
//! `COSHARE_REDIS_DIFF_SEED=<seed>` picks the seed (the default is fixed),
//! `COSHARE_REDIS_DIFF_CASES=<n>` the number of sequences (default 1000).
//! Each sequence runs on fresh connections (two of them, for `WATCH` and
//! pub/sub across connections) after a `FLUSHALL`; in about a third of the
//! sequences both connections first switch to RESP3 with `HELLO 3`.
//!
//! Only the commands the example claims to answer as Redis does are
//! generated (see the example's docs), with wrong arities, wrong types,
//! integer overflows, expiry edge cases, option combinations, binary and
//! NUL bytes, unknown commands, transactions and pub/sub. Left out, because
//! the replies legitimately differ: `INFO`, `CLIENT`, `HELLO`, `COMMAND`,
//! `CONFIG` (server facts), `SHUTDOWN` and `QUIT`; `SELECT` other than 0
//! differs only because Redis runs with one database here too.
//!
//! Replies are compared byte for byte, with three documented allowances:
//! the elements of a `KEYS` reply are compared as a set (both servers list
//! keys in hash order); the messages one `PUBLISH` delivers to one
//! connection are compared as a set (Redis walks its patterns in hash
//! order); a positive `TTL` may differ by 1 and a positive `PTTL` by less
//! than 2000, since the two servers run the command at slightly different
//! times. Expiries are either long (minutes) or already past, so no key
//! expires during a sequence; `DBSIZE` is not generated after a key was
//! set with a deadline already past (Redis counts such a key until its
//! background expiry samples it).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::{Replies, TestServer, reply_len, show};

mod generator;

use generator::{CONNS, Compare, Generator, Step};

/// A real redis-server on a free loopback port; killed on drop.
struct RealRedis {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl RealRedis {
    fn binary() -> Option<PathBuf> {
        let fixed = PathBuf::from("/usr/bin/redis-server");
        if fixed.exists() {
            return Some(fixed);
        }
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| PathBuf::from(dir).join("redis-server"))
            .find(|path| path.exists())
    }

    fn start(binary: &PathBuf) -> RealRedis {
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let dir = std::env::temp_dir().join(format!("coshare-redis-diff-{port}"));
            std::fs::create_dir_all(&dir).unwrap();
            let child = Command::new(binary)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--databases", "1"])
                .arg("--dir")
                .arg(&dir)
                .arg("--logfile")
                .arg(dir.join("redis.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server");
            let mut real = RealRedis {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                dir,
            };
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if let Ok(Some(status)) = real.child.try_wait() {
                    last_error = format!("redis-server exited: {status}");
                    break;
                }
                if let Ok(stream) = TcpStream::connect(real.addr) {
                    let mut replies = Replies::new(stream);
                    if replies.call(&["PING"]) == b"+PONG\r\n" {
                        return real;
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            last_error = format!("{last_error}; no answer on {}", real.addr);
        }
        panic!("could not start redis-server: {last_error}");
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one server sent back for one step.
struct Got {
    replies: Vec<Vec<u8>>,
    messages: [Vec<Vec<u8>>; CONNS],
}

fn run_step(conns: &mut [Replies], step: &Step) -> Result<Got, String> {
    let mut bytes = Vec::new();
    crate::resp::reply::request(&mut bytes, &step.args);
    conns[step.conn].send(&bytes);
    let mut got = Got {
        replies: Vec::new(),
        messages: Default::default(),
    };
    for _ in 0..step.replies {
        let reply = conns[step.conn]
            .next()
            .ok_or("no reply (closed or timed out)")?;
        got.replies.push(reply);
    }
    for (conn, &count) in step.messages.iter().enumerate() {
        for _ in 0..count {
            let message = conns[conn].next().ok_or("a message did not come")?;
            got.messages[conn].push(message);
        }
        got.messages[conn].sort();
    }
    Ok(got)
}

/// `:n` as a number.
fn integer_reply(reply: &[u8]) -> Option<i64> {
    std::str::from_utf8(reply.strip_prefix(b":")?.strip_suffix(b"\r\n")?)
        .ok()?
        .parse()
        .ok()
}

/// The elements of an array reply, sorted.
fn sorted_elements(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut at = reply
        .iter()
        .position(|&b| b == b'\n')
        .map_or(reply.len(), |i| i + 1);
    let mut elements = Vec::new();
    while at < reply.len() {
        let len = reply_len(&reply[at..]).expect("whole elements");
        elements.push(reply[at..at + len].to_vec());
        at += len;
    }
    elements.sort();
    elements
}

fn same(compare: Compare, ours: &[u8], theirs: &[u8]) -> bool {
    if ours == theirs {
        return true;
    }
    match compare {
        Compare::Exact => false,
        Compare::AsSet => {
            ours.starts_with(b"*")
                && ours.split(|&b| b == b'\n').next() == theirs.split(|&b| b == b'\n').next()
                && sorted_elements(ours) == sorted_elements(theirs)
        }
        Compare::Near(tolerance) => match (integer_reply(ours), integer_reply(theirs)) {
            (Some(a), Some(b)) if a > 0 && b > 0 => (a - b).abs() < tolerance,
            _ => false,
        },
    }
}

fn describe(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| {
            let args: Vec<String> = s.args.iter().map(|a| show(a)).collect();
            format!("  conn {}: {}", s.conn, args.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn replies_match_redis_server() {
    differential(TestServer::start, false, 1000);
}

/// The server split over two shards answers as redis-server does too: its
/// keys hash to both shards, so commands run here, on the other shard, or
/// split over both; transactions use keys of one shard, as they must.
#[test]
fn sharded_replies_match_redis_server() {
    differential(|| TestServer::sharded(2), true, 500);
}

/// Sends `cases` generated sequences to the server `start` makes and to a
/// real redis-server, and compares the replies.
fn differential(start: impl Fn() -> TestServer, sharded: bool, default_cases: usize) {
    let Some(binary) = RealRedis::binary() else {
        if std::env::var_os("COSHARE_REDIS_DIFF_REQUIRED").is_some() {
            panic!("redis-server is not installed and COSHARE_REDIS_DIFF_REQUIRED is set");
        }
        println!(
            "note: redis-server is not installed; skipping the differential test \
             (apt-get install redis-server, or set COSHARE_REDIS_DIFF_REQUIRED=1 to fail)"
        );
        return;
    };
    let seed: u64 = std::env::var("COSHARE_REDIS_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c05a);
    let cases: usize = std::env::var("COSHARE_REDIS_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    let real = RealRedis::start(&binary);
    let ours = start();
    let unix_seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut generator = Generator::new(seed, unix_seconds, sharded);
    let mut control = [Replies::connect(ours.addr), Replies::connect(real.addr)];
    let started = Instant::now();
    let mut steps_run = 0;
    for case in 0..cases {
        let resp3 = generator.rng.chance(30);
        generator.conns = Default::default();
        for conn in &mut generator.conns {
            conn.resp3 = resp3;
        }
        generator.stale_keys = false;
        let len = 4 + generator.rng.below(20);
        let steps: Vec<Step> = (0..len)
            .map(|_| {
                let conn = usize::from(generator.rng.chance(25));
                generator.step(conn)
            })
            .collect();
        for server in &mut control {
            assert_eq!(server.call(&["FLUSHALL"]), b"+OK\r\n");
        }
        let mut ours_conns: Vec<Replies> =
            (0..CONNS).map(|_| Replies::connect(ours.addr)).collect();
        let mut real_conns: Vec<Replies> =
            (0..CONNS).map(|_| Replies::connect(real.addr)).collect();
        if resp3 {
            // The reply carries each server's own facts (client id): it is
            // checked only for its shape.
            for conn in ours_conns.iter_mut().chain(&mut real_conns) {
                assert!(conn.call(&["HELLO", "3"]).starts_with(b"%7\r\n"));
            }
        }
        for (i, step) in steps.iter().enumerate() {
            let context = || {
                format!(
                    "seed {seed}, case {case}, step {i} of:\n{}\n(replay with \
                     COSHARE_REDIS_DIFF_SEED={seed})",
                    describe(&steps)
                )
            };
            let theirs = run_step(&mut real_conns, step)
                .unwrap_or_else(|e| panic!("redis-server: {e}; {}", context()));
            let ours = run_step(&mut ours_conns, step)
                .unwrap_or_else(|e| panic!("this server: {e}; {}", context()));
            for (a, b) in ours.replies.iter().zip(&theirs.replies) {
                assert!(
                    same(step.compare, a, b),
                    "reply differs\n  ours:  {}\n  redis: {}\n{}",
                    show(a),
                    show(b),
                    context()
                );
            }
            for conn in 0..CONNS {
                assert_eq!(
                    ours.messages[conn]
                        .iter()
                        .map(|m| show(m))
                        .collect::<Vec<_>>(),
                    theirs.messages[conn]
                        .iter()
                        .map(|m| show(m))
                        .collect::<Vec<_>>(),
                    "messages to conn {conn} differ\n{}",
                    context()
                );
            }
            steps_run += 1;
        }
    }
    println!(
        "{cases} sequences, {steps_run} requests: identical replies ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

/// Malformed and lenient input, sent raw: the same bytes back from both
/// servers, and both close the connection, or both keep it.
#[test]
fn protocol_errors_match_redis_server() {
    let Some(binary) = RealRedis::binary() else {
        if std::env::var_os("COSHARE_REDIS_DIFF_REQUIRED").is_some() {
            panic!("redis-server is not installed and COSHARE_REDIS_DIFF_REQUIRED is set");
        }
        println!("note: redis-server is not installed; skipping");
        return;
    };
    let real = RealRedis::start(&binary);
    let ours = TestServer::start();
    let long_header = [&b"*"[..], &[b'1'; 70 * 1024]].concat();
    let long_bulk_header = [&b"*1\r\n$"[..], &[b'1'; 70 * 1024]].concat();
    let long_inline = vec![b'a'; 70 * 1024];
    // Input after which Redis replies and closes.
    let closing: Vec<&[u8]> = vec![
        b"*03\r\n",
        b"*1 \r\n",
        b"*x\r\n",
        b"*-0\r\n",
        b"*+1\r\n",
        b"* 1\r\n",
        b"*\r\n",
        b"*2147483648\r\n",
        b"*99999999999999999999\r\n",
        b"*1\r\n$03\r\n",
        b"*1\r\n$3 \r\n",
        b"*1\r\n$x\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$+3\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$536870913\r\n",
        b"*1\r\n$99999999999999999999\r\n",
        b"*1\r\n:4\r\n",
        b"*1\r\n+PING\r\n",
        b"*1\r\n*1\r\n",
        b"*1\r\n\xff\r\n",
        b"*1\r\r\n$4\r\nPING\r\n",
        b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n",
        b"PING\r\nSET \"a b\r\n",
        b"ECHO 'a'b\r\n",
        b"ECHO \"a\"b\r\n",
        b"ECHO \"unterminated\r\n",
        b"ECHO 'it\\'s\r\n",
        &long_header,
        &long_bulk_header,
        &long_inline,
    ];
    for input in closing {
        let mut replies = Vec::new();
        for addr in [ours.addr, real.addr] {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            std::io::Write::write_all(&mut stream, input).unwrap();
            let mut got = Vec::new();
            let closed = std::io::Read::read_to_end(&mut stream, &mut got).is_ok();
            replies.push((show(&got), closed));
        }
        assert_eq!(
            replies[0],
            replies[1],
            "ours, then redis-server's, for {}",
            show(&input[..input.len().min(64)])
        );
        assert!(replies[1].1, "redis-server closes after {}", show(input));
    }
    // Input Redis takes, leniencies included: `replies` replies, and the
    // connection stays open.
    let lenient: &[(&[u8], usize)] = &[
        (b"*1\r\n$4\r\nPINGxxPING\r\n", 2),
        (b"*1\rX$4\r\nPING\r\n", 1),
        (b"\r\n\r\n*0\r\n*-1\r\n*-7\r\nPING x\r\n", 1),
        (b"ECHO a\x0bb\x0cc\rd\r\n", 1),
        (b"ECHO \"\\xzz\\x41\\n\" '\\'' \"a\\\"b\"\r\n", 1),
        (b"   PING   \r\nPING\n", 2),
        (b"\x0bECHO \"a\"\x0b\r\n", 1),
        (b"*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n", 1),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nGET k\r\n", 2),
    ];
    for &(input, count) in lenient {
        let mut replies = Vec::new();
        for addr in [ours.addr, real.addr] {
            let mut conn = Replies::connect(addr);
            conn.send(input);
            let got: Vec<String> = (0..count)
                .map(|_| show(&conn.next().expect("a reply")))
                .collect();
            // Still open: a request after them is answered.
            assert_eq!(conn.call(&["PING"]), b"+PONG\r\n", "after {}", show(input));
            replies.push(got);
        }
        assert_eq!(
            replies[0],
            replies[1],
            "ours, then redis-server's, for {}",
            show(input)
        );
    }
}
