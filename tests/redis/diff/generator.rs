//! The sequence generator of the differential test, and its model of each
//! connection: just enough of Redis's rules (transactions, subscriptions,
//! RESP2's subscribed context) to know how many replies and messages each
//! request brings back.

use crate::commands::glob_match;

/// Two connections per sequence.
pub const CONNS: usize = 2;

/// SplitMix64: small, seeded, and the same everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// How a step's replies are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Compare {
    Exact,
    /// `KEYS`: the same elements, in any order.
    AsSet,
    /// `TTL`/`PTTL`: a positive value may differ by less than this.
    Near(i64),
}

/// One request, and what the model says comes back.
#[derive(Debug)]
pub struct Step {
    pub conn: usize,
    pub args: Vec<Vec<u8>>,
    /// Replies to the request itself.
    pub replies: usize,
    /// Messages each connection receives because of it.
    pub messages: [usize; CONNS],
    pub compare: Compare,
}

/// What the generator knows of each connection, to predict how many
/// replies come back.
#[derive(Clone, Debug, Default)]
pub struct Conn {
    /// After `HELLO 3`: no subscribed context, pushes for messages.
    pub resp3: bool,
    multi: bool,
    /// Sent `WATCH` (kept until `RESET`: longer than the server keeps
    /// the watches, which only narrows the keys it is given).
    watching: bool,
    channels: Vec<Vec<u8>>,
    patterns: Vec<Vec<u8>>,
}

impl Conn {
    fn subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }
}

const KEYS: &[&[u8]] = &[b"k0", b"k1", b"k2", b"l0", b"l1", b"", b"k\0x", b"\xffkey"];
/// The keys of a server split over two shards: `{a}` and `{b}` hash to
/// different ones, and so do the others between them.
const SHARDED_KEYS: &[&[u8]] = &[
    b"{a}k0", b"{a}k1", b"{b}k2", b"{b}l0", b"l1", b"", b"k\0x", b"\xffkey",
];
/// A sharded server's transaction keys: one hash tag, so one shard.
const TX_KEYS: &[&[u8]] = &[b"{a}k0", b"{a}k1", b"{a}l0"];
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

pub struct Generator {
    pub rng: Rng,
    pub conns: [Conn; CONNS],
    /// A key may hold a deadline already past: `DBSIZE` would differ.
    pub stale_keys: bool,
    pub unix_seconds: u64,
    /// The server splits its keyspace over shards: transactions (and
    /// `MSETNX`) use keys of one shard, and keyspace-wide commands stay out
    /// of them (see the example's `commands/route.rs`).
    pub sharded: bool,
    /// The step being made is in a transaction (`WATCH` or `MULTI` sent).
    in_tx: bool,
}

impl Generator {
    pub fn new(seed: u64, unix_seconds: u64, sharded: bool) -> Generator {
        Generator {
            rng: Rng(seed),
            conns: Default::default(),
            stale_keys: false,
            unix_seconds,
            sharded,
            in_tx: false,
        }
    }

    fn key(&mut self) -> Vec<u8> {
        let keys = match (self.sharded, self.in_tx) {
            (false, _) => KEYS,
            (true, false) => SHARDED_KEYS,
            (true, true) => TX_KEYS,
        };
        self.rng.pick(keys).to_vec()
    }

    /// A key for a list command.
    fn list_key(&mut self) -> Vec<u8> {
        let keys: &[&[u8]] = match (self.sharded, self.in_tx) {
            (false, _) => &[b"l0", b"l1", b"k0"],
            (true, false) => &[b"{b}l0", b"l1", b"{a}k0"],
            (true, true) => &[b"{a}l0", b"{a}k0"],
        };
        self.rng.pick(keys).to_vec()
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
        // In a sharded server's transaction any argument may be a key, so
        // every one is a key of the transaction's shard.
        let keys_only = self.sharded && self.in_tx;
        for _ in 0..self.rng.below(4) {
            args.push(if self.rng.chance(50) || keys_only {
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
                // Atomic over its keys: one shard's keys on a sharded server.
                let in_tx = self.in_tx;
                self.in_tx = self.sharded || in_tx;
                let mut args = vec![self.name("MSETNX")];
                for _ in 0..1 + self.rng.below(2) {
                    args.push(self.key());
                    args.push(self.value());
                }
                self.in_tx = in_tx;
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
                const SHARDED_GLOBS: &[&[u8]] =
                    &[b"*", b"{a}*", b"*k?", b"*[kl][01]", b"*\\", b"", b"l*"];
                let globs = if self.sharded { SHARDED_GLOBS } else { GLOBS };
                return (
                    vec![self.name("KEYS"), self.rng.pick(globs).to_vec()],
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
                let mut args = vec![self.name(name), self.list_key()];
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
    pub fn step(&mut self, conn: usize) -> Step {
        let state = self.conns[conn].clone();
        self.in_tx = state.multi || state.watching;
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
            // Inside EXEC's reply there is no allowance for order or time;
            // a sharded server runs a transaction on one shard, which
            // cannot see the whole keyspace.
            let keyspace_wide = |args: &[Vec<u8>]| {
                let name = args[0].to_ascii_lowercase();
                [&b"keys"[..], b"dbsize", b"flushall", b"flushdb"].contains(&name.as_slice())
            };
            if state.multi
                && (compare != Compare::Exact || self.sharded && keyspace_wide(&step.args))
            {
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
                self.in_tx = true;
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
            b"watch" => state.watching = true,
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
