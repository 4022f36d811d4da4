//! The differential test: generated command sequences go to this server
//! and to a real `redis-server` (7.0, `--databases 1`), over raw TCP, and
//! the reply bytes must be identical.
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

use crate::commands::glob_match;
use crate::support::{Replies, TestServer, reply_len, show};

/// Two connections per sequence.
const CONNS: usize = 2;

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

/// SplitMix64: small, seeded, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// How a step's replies are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Compare {
    Exact,
    /// `KEYS`: the same elements, in any order.
    AsSet,
    /// `TTL`/`PTTL`: a positive value may differ by less than this.
    Near(i64),
}

/// One request, and what the model says comes back.
#[derive(Debug)]
struct Step {
    conn: usize,
    args: Vec<Vec<u8>>,
    /// Replies to the request itself.
    replies: usize,
    /// Messages each connection receives because of it.
    messages: [usize; CONNS],
    compare: Compare,
}

/// What the generator knows of each connection, to predict how many
/// replies come back.
#[derive(Clone, Debug, Default)]
struct Conn {
    /// After `HELLO 3`: no subscribed context, pushes for messages.
    resp3: bool,
    multi: bool,
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
}

impl Conn {
    fn subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }
}

const KEYS: &[&[u8]] = &[b"k0", b"k1", b"k2", b"l0", b"l1", b"", b"k\0x", b"\xffkey"];
const VALUES: &[&[u8]] = &[
    b"v",
    b"",
    b"10",
    b"-5",
    b"9223372036854775806",
    b"-9223372036854775807",
    b"abc",
    b"a\r\nb\0c",
    b" 1",
    b"01",
];
const INTEGERS: &[&[u8]] = &[
    b"0",
    b"1",
    b"-1",
    b"2",
    b"10",
    b"100",
    b"-100",
    b"300",
    b"100000",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"9223372036854774",
    b"9223372036854775",
    b"9223372036854776",
    b"-9223372036854775",
    b"01",
    b"+1",
    b" 1",
    b"1.5",
    b"abc",
    b"",
    b"-0",
    b"1\0",
];
const CHANNELS: &[&[u8]] = &[b"ca", b"cb", b"a", b"b", b""];
const PATTERNS: &[&[u8]] = &[b"c*", b"c?", b"*", b"[ab]", b"\\c*", b"[^c]*"];

struct Generator {
    rng: Rng,
    conns: [Conn; CONNS],
    /// A key may hold a deadline already past: `DBSIZE` would differ.
    stale_keys: bool,
    unix_seconds: u64,
}

impl Generator {
    fn key(&mut self) -> Vec<u8> {
        self.rng.pick(KEYS).to_vec()
    }

    fn value(&mut self) -> Vec<u8> {
        if self.rng.chance(10) {
            // Long enough to be cut in error messages.
            return vec![b'x'; 100 + self.rng.below(100)];
        }
        self.rng.pick(VALUES).to_vec()
    }

    fn integer(&mut self) -> Vec<u8> {
        self.rng.pick(INTEGERS).to_vec()
    }

    /// A command name in some case.
    fn name(&mut self, name: &str) -> Vec<u8> {
        match self.rng.below(6) {
            0 => name.to_ascii_lowercase().into_bytes(),
            1 => {
                let mut mixed = name.to_ascii_lowercase().into_bytes();
                mixed[0] = mixed[0].to_ascii_uppercase();
                mixed
            }
            _ => name.as_bytes().to_vec(),
        }
    }

    /// An expiry amount for `unit`: long (minutes at least), already past,
    /// or an edge; never short enough to run out during a sequence.
    fn expiry(&mut self, unit: &[u8]) -> Vec<u8> {
        const EDGES: &[&[u8]] = &[
            b"0",
            b"-1",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"9223372036854774",
            b"9223372036854775",
            b"9223372036854776",
            b"-9223372036854775",
            b"abc",
            b"01",
            b"",
            b"1.5",
        ];
        let seconds = [&b"EX"[..], b"EXAT", b"EXPIRE"]
            .iter()
            .any(|u| unit.eq_ignore_ascii_case(u));
        let absolute = unit.eq_ignore_ascii_case(b"EXAT") || unit.eq_ignore_ascii_case(b"PXAT");
        if absolute {
            // Any positive amount but the future one is long past.
            self.stale_keys = true;
            return match self.rng.below(3) {
                0 => b"1".to_vec(),
                1 => {
                    let at = self.unix_seconds + 3600;
                    if seconds { at } else { at * 1000 }
                        .to_string()
                        .into_bytes()
                }
                _ => self.rng.pick(EDGES).to_vec(),
            };
        }
        match self.rng.below(3) {
            0 if seconds => b"300".to_vec(),
            0 => b"300000".to_vec(),
            1 if seconds => b"1000000".to_vec(),
            1 => b"1000000000".to_vec(),
            _ => self.rng.pick(EDGES).to_vec(),
        }
    }

    /// Arguments for `name` with a random count: the arity errors.
    fn random_args(&mut self, name: &str) -> Vec<Vec<u8>> {
        let mut args = vec![self.name(name)];
        for _ in 0..self.rng.below(4) {
            args.push(if self.rng.chance(50) {
                self.key()
            } else {
                self.integer()
            });
        }
        args
    }

    fn set(&mut self) -> Vec<Vec<u8>> {
        let mut args = vec![self.name("SET"), self.key(), self.value()];
        const OPTIONS: &[&[u8]] = &[
            b"NX", b"XX", b"GET", b"KEEPTTL", b"EX", b"PX", b"EXAT", b"PXAT", b"nx", b"ex", b"Get",
            b"NX\0x", b"EXX", b"PERSIST",
        ];
        for _ in 0..self.rng.below(4) {
            let option = self.rng.pick(OPTIONS).to_vec();
            let takes_amount = [&b"EX"[..], b"PX", b"EXAT", b"PXAT"]
                .iter()
                .any(|u| option.eq_ignore_ascii_case(u));
            args.push(option.clone());
            if takes_amount && self.rng.chance(90) {
                args.push(self.expiry(&option));
            }
        }
        args
    }

    fn expire(&mut self, name: &str) -> Vec<Vec<u8>> {
        let mut args = vec![self.name(name), self.key()];
        if self.rng.chance(95) {
            args.push(self.expiry(name.as_bytes()));
        }
        const OPTIONS: &[&[u8]] = &[b"NX", b"XX", b"GT", b"LT", b"gt", b"BOGUS", b"nx\0"];
        for _ in 0..self.rng.below(3) {
            args.push(self.rng.pick(OPTIONS).to_vec());
        }
        args
    }

    fn unknown(&mut self) -> Vec<Vec<u8>> {
        const NAMES: &[&[u8]] = &[
            b"FOO",
            b"getx",
            b"SETNXX",
            b"n\0pe",
            b"\xfe\xff",
            b"HSETX",
            b"GET\0x",
            b"",
        ];
        let mut args = vec![self.rng.pick(NAMES).to_vec()];
        for _ in 0..self.rng.below(5) {
            args.push(self.value());
        }
        args
    }

    /// A data command (what may also go inside `MULTI`).
    fn data_command(&mut self) -> (Vec<Vec<u8>>, Compare) {
        let args = match self.rng.below(32) {
            0..=2 => self.set(),
            3 => vec![self.name("GET"), self.key()],
            4 => vec![self.name("INCR"), self.key()],
            5 => vec![self.name("DECR"), self.key()],
            6 => vec![self.name("INCRBY"), self.key(), self.integer()],
            7 => vec![self.name("DECRBY"), self.key(), self.integer()],
            8 => vec![self.name("APPEND"), self.key(), self.value()],
            9 => vec![self.name("STRLEN"), self.key()],
            10 => vec![self.name("SETNX"), self.key(), self.value()],
            11 => {
                let mut args = vec![self.name("MSET")];
                for _ in 0..1 + self.rng.below(3) {
                    args.push(self.key());
                    args.push(self.value());
                }
                if self.rng.chance(20) {
                    args.pop();
                }
                args
            }
            12 => {
                let mut args = vec![self.name("MSETNX")];
                for _ in 0..1 + self.rng.below(2) {
                    args.push(self.key());
                    args.push(self.value());
                }
                args
            }
            13 => vec![self.name("MGET"), self.key(), self.key()],
            14 => vec![self.name("DEL"), self.key(), self.key()],
            15 => vec![self.name("UNLINK"), self.key()],
            16 => vec![self.name("EXISTS"), self.key(), self.key(), self.key()],
            17 => self.expire("EXPIRE"),
            18 => self.expire("PEXPIRE"),
            19 => return (vec![self.name("TTL"), self.key()], Compare::Near(2)),
            20 => return (vec![self.name("PTTL"), self.key()], Compare::Near(2000)),
            21 => vec![self.name("PERSIST"), self.key()],
            22 => vec![self.name("TYPE"), self.key()],
            23 => {
                const GLOBS: &[&[u8]] = &[b"*", b"k*", b"?0", b"[kl][01]", b"*\\", b"", b"l*"];
                return (
                    vec![self.name("KEYS"), self.rng.pick(GLOBS).to_vec()],
                    Compare::AsSet,
                );
            }
            24 if !self.stale_keys => vec![self.name("DBSIZE")],
            25 | 26 => {
                let name = if self.rng.chance(50) {
                    "LPUSH"
                } else {
                    "RPUSH"
                };
                let mut args = vec![
                    self.name(name),
                    self.rng.pick(&[&b"l0"[..], b"l1", b"k0"]).to_vec(),
                ];
                for _ in 0..1 + self.rng.below(3) {
                    args.push(self.value());
                }
                args
            }
            27 => {
                let name = if self.rng.chance(50) { "LPOP" } else { "RPOP" };
                let mut args = vec![self.name(name), self.key()];
                if self.rng.chance(50) {
                    args.push(self.integer());
                }
                args
            }
            28 => vec![self.name("LLEN"), self.key()],
            29 => vec![
                self.name("LRANGE"),
                self.key(),
                self.integer(),
                self.integer(),
            ],
            30 => {
                let name = *self.rng.pick(&[
                    "GET", "SET", "INCRBY", "EXPIRE", "LRANGE", "MGET", "TTL", "ECHO", "PING",
                    "SELECT", "LPUSH", "APPEND", "EXISTS",
                ]);
                self.random_args(name)
            }
            _ => match self.rng.below(6) {
                0 => vec![self.name("ECHO"), self.value()],
                1 => vec![self.name("PING")],
                2 => vec![self.name("SELECT"), self.integer()],
                3 => vec![self.name("FLUSHALL")],
                4 => self.unknown(),
                _ => {
                    let mut args = vec![self.name("AUTH")];
                    for _ in 0..1 + self.rng.below(3) {
                        args.push(self.rng.pick(&[&b"default"[..], b"x", b"someone"]).to_vec());
                    }
                    args
                }
            },
        };
        (args, Compare::Exact)
    }

    /// The next step on connection `conn`, and the model's update.
    fn step(&mut self, conn: usize) -> Step {
        let state = self.conns[conn].clone();
        let mut step = Step {
            conn,
            args: Vec::new(),
            replies: 1,
            messages: [0; CONNS],
            compare: Compare::Exact,
        };
        let roll = self.rng.below(100);
        if !state.multi && roll < 18 {
            self.pubsub_step(&mut step);
        } else if roll < 38 {
            self.tx_step(&mut step);
        } else {
            let (args, compare) = self.data_command();
            step.args = args;
            step.compare = compare;
            // Inside EXEC's reply there is no allowance for order or time.
            if state.multi && compare != Compare::Exact {
                step.args = vec![self.name("EXISTS"), self.key()];
                step.compare = Compare::Exact;
            }
        }
        // Commands other than these are refused in RESP2's subscribed
        // context.
        if state.subscribed() && !state.multi && !state.resp3 {
            let name = step.args[0].to_ascii_lowercase();
            let allowed: &[&[u8]] = &[
                b"subscribe",
                b"unsubscribe",
                b"psubscribe",
                b"punsubscribe",
                b"ping",
                b"reset",
            ];
            if !allowed.contains(&name.as_slice()) {
                step.replies = 1;
                step.messages = [0; CONNS];
            }
        }
        step
    }

    fn tx_step(&mut self, step: &mut Step) {
        let conn = step.conn;
        let arity_ok = |args: &Vec<Vec<u8>>, n: usize| args.len() == n;
        step.args = match self.rng.below(10) {
            0 | 1 => vec![self.name("MULTI")],
            2 | 3 => vec![self.name("EXEC")],
            4 => vec![self.name("DISCARD")],
            5 | 6 => {
                let mut args = vec![self.name("WATCH")];
                for _ in 0..self.rng.below(3) {
                    args.push(self.key());
                }
                args
            }
            7 => vec![self.name("UNWATCH")],
            8 => vec![self.name("RESET")],
            _ => {
                let name = *self
                    .rng
                    .pick(&["MULTI", "EXEC", "DISCARD", "UNWATCH", "RESET"]);
                let mut args = self.random_args(name);
                if args.len() == 1 {
                    args.push(b"x".to_vec());
                }
                args
            }
        };
        let name = step.args[0].to_ascii_lowercase();
        let state = &mut self.conns[conn];
        let refused = state.subscribed() && !state.resp3;
        match name.as_slice() {
            b"multi" if arity_ok(&step.args, 1) && !refused => state.multi = true,
            b"exec" => state.multi = false,
            b"discard" if arity_ok(&step.args, 1) => state.multi = false,
            b"reset" if arity_ok(&step.args, 1) => *state = Conn::default(),
            _ => {}
        }
    }

    fn pubsub_step(&mut self, step: &mut Step) {
        let conn = step.conn;
        let subscribed = self.conns[conn].subscribed();
        let resp3 = self.conns[conn].resp3;
        match self.rng.below(6) {
            0 | 1 => {
                let kind_channel = self.rng.chance(50);
                let (name, pool) = if kind_channel {
                    ("SUBSCRIBE", CHANNELS)
                } else {
                    ("PSUBSCRIBE", PATTERNS)
                };
                let mut args = vec![self.name(name)];
                for _ in 0..self.rng.below(3) {
                    args.push(self.rng.pick(pool).to_vec());
                }
                step.replies = (args.len() - 1).max(1);
                let state = &mut self.conns[conn];
                let set = if kind_channel {
                    &mut state.channels
                } else {
                    &mut state.patterns
                };
                for arg in &args[1..] {
                    if !set.contains(arg) {
                        set.push(arg.clone());
                    }
                }
                step.args = args;
            }
            2 | 3 => {
                let kind_channel = self.rng.chance(50);
                let (name, pool) = if kind_channel {
                    ("UNSUBSCRIBE", CHANNELS)
                } else {
                    ("PUNSUBSCRIBE", PATTERNS)
                };
                let mut args = vec![self.name(name)];
                let state = &self.conns[conn];
                let current = if kind_channel {
                    &state.channels
                } else {
                    &state.patterns
                };
                // Without arguments Redis goes through its channels in hash
                // order: only when there is at most one.
                let bare_ok = !kind_channel || current.len() <= 1;
                if !bare_ok || self.rng.chance(70) {
                    for _ in 0..1 + self.rng.below(2) {
                        args.push(self.rng.pick(pool).to_vec());
                    }
                }
                let state = &mut self.conns[conn];
                let set = if kind_channel {
                    &mut state.channels
                } else {
                    &mut state.patterns
                };
                if args.len() == 1 {
                    step.replies = set.len().max(1);
                    set.clear();
                } else {
                    step.replies = args.len() - 1;
                    set.retain(|c| !args[1..].contains(c));
                }
                step.args = args;
            }
            _ => {
                let channel = self.rng.pick(CHANNELS).to_vec();
                step.args = vec![self.name("PUBLISH"), channel.clone(), self.value()];
                if self.rng.chance(5) {
                    step.args.pop();
                    return;
                }
                if subscribed && resp3 {
                    // It would get its own messages, in an order Redis
                    // takes from a hash table.
                    step.args = vec![self.name("PING")];
                    return;
                }
                if subscribed {
                    return; // refused
                }
                for (other, state) in self.conns.iter().enumerate() {
                    if other == conn {
                        continue;
                    }
                    step.messages[other] = state.channels.iter().filter(|c| **c == channel).count()
                        + state
                            .patterns
                            .iter()
                            .filter(|p| glob_match(p, &channel))
                            .count();
                }
            }
        }
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
        .unwrap_or(1000);
    let real = RealRedis::start(&binary);
    let ours = TestServer::start();
    let unix_seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut generator = Generator {
        rng: Rng(seed),
        conns: Default::default(),
        stale_keys: false,
        unix_seconds,
    };
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
