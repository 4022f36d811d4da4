//! The keyspace and the commands: pure functions from a request to a reply.
//!
//! [`Db::execute`] runs one request against the keyspace and appends its
//! reply to an output buffer. It never waits, so in the coshare server it
//! runs inside one `with_state` between two yield points: the request sees
//! and leaves a consistent keyspace, with no lock. The tokio comparison
//! server runs the very same code inside `RefCell::borrow_mut`.
//!
//! # Expiry
//!
//! A key's deadline is a [`Duration`] on the server's monotonic clock
//! (time since the server started). Expired keys are removed two ways:
//!
//! * *lazily*: every command that looks a key up first removes it if its
//!   deadline has passed, so no reply ever shows an expired key, however
//!   late the reaper runs;
//! * *actively*: the deadlines are also kept in an ordered index, and a
//!   reaper task sleeps on the driver's timers until the earliest one, then
//!   removes every key that is due ([`Db::reap`]), a bounded batch at a
//!   time. A command that sets a deadline earlier than every other asks for
//!   the reaper to be woken ([`Db::take_reaper_wakeup`]), as in tokio's
//!   mini-redis. So memory is given back on time, without Redis's sampling
//!   and without a periodic scan.
//!
//! `DBSIZE` counts keys that are due but not reaped yet, as Redis does;
//! `KEYS`, `EXISTS` and every read skip them.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::resp::{Args, Limits, parse_i64_strict, reply};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const OVERFLOW: &str = "ERR increment or decrement would overflow";

/// The version reported to clients (`HELLO`, `INFO`): the Redis release
/// whose RESP2 behaviour this server follows.
pub const REDIS_VERSION: &str = "7.0.0";

/// A value in the keyspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A binary-safe string (also what `INCR` works on).
    Str(Vec<u8>),
    /// A list (`LPUSH`, `RPUSH`, ...): the second type, so that a command
    /// applied to the wrong type gets Redis's `WRONGTYPE` error.
    List(VecDeque<Vec<u8>>),
}

#[derive(Debug)]
struct Entry {
    value: Value,
    /// The deadline on the server's clock, if the key has a TTL.
    expires_at: Option<Duration>,
}

/// Settings that commands report (`CONFIG GET`, `INFO`).
#[derive(Clone, Debug)]
pub struct Config {
    /// What `INFO` names the server.
    pub server_name: &'static str,
    /// The port it listens on.
    pub port: u16,
    /// Connections beyond this many are refused.
    pub max_clients: usize,
    /// The protocol limits.
    pub limits: Limits,
}

/// The shared keyspace, and the server-wide counters commands report.
#[derive(Debug)]
pub struct Db {
    keys: HashMap<Vec<u8>, Entry>,
    /// Every key with a TTL, by deadline: the reaper's agenda.
    expiries: BTreeSet<(Duration, Vec<u8>)>,
    /// Set when a deadline earlier than all others was added.
    reaper_wakeup: bool,
    /// The settings.
    pub config: Config,
    /// Open connections (kept by the connection tasks).
    pub clients: usize,
    next_client_id: u64,
    commands_processed: u64,
}

/// A connection's own state, next to the shared [`Db`].
#[derive(Debug, Default)]
pub struct Session {
    /// `CLIENT ID`.
    pub id: u64,
    /// `CLIENT SETNAME`.
    pub name: Option<Vec<u8>>,
    lib_name: Option<Vec<u8>>,
    lib_ver: Option<Vec<u8>>,
}

/// What the connection does after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Go on with the next request.
    Continue,
    /// Send the replies so far, then close (`QUIT`).
    Close,
    /// Close without a reply and stop the server (`SHUTDOWN`).
    Shutdown,
}

/// What one [`Db::reap`] step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// Keys removed.
    pub removed: usize,
    /// Whether due keys are left (the budget ran out).
    pub more_due: bool,
    /// The earliest deadline left.
    pub next: Option<Duration>,
}

impl Db {
    /// An empty keyspace.
    pub fn new(config: Config) -> Db {
        Db {
            keys: HashMap::new(),
            expiries: BTreeSet::new(),
            reaper_wakeup: false,
            config,
            clients: 0,
            next_client_id: 1,
            commands_processed: 0,
        }
    }

    /// A session for a new connection, with a fresh `CLIENT ID`.
    pub fn new_session(&mut self) -> Session {
        let id = self.next_client_id;
        self.next_client_id += 1;
        Session {
            id,
            ..Session::default()
        }
    }

    /// Whether the reaper should be woken because a deadline earlier than
    /// every other was set since the last call.
    pub fn take_reaper_wakeup(&mut self) -> bool {
        std::mem::take(&mut self.reaper_wakeup)
    }

    /// The earliest deadline, if any key has a TTL.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.expiries.first().map(|(at, _)| *at)
    }

    /// Removes the keys whose deadline is at or before `now`, at most
    /// `budget` of them.
    pub fn reap(&mut self, now: Duration, budget: usize) -> Reaped {
        let mut removed = 0;
        while removed < budget {
            match self.expiries.first() {
                Some((at, _)) if *at <= now => {}
                _ => break,
            }
            let (_, key) = self.expiries.pop_first().expect("checked above");
            self.keys.remove(&key);
            removed += 1;
        }
        let next = self.next_deadline();
        Reaped {
            removed,
            more_due: next.is_some_and(|at| at <= now),
            next,
        }
    }

    /// Runs one request and appends its reply to `out`.
    pub fn execute(
        &mut self,
        args: Args<'_>,
        session: &mut Session,
        now: Duration,
        out: &mut Vec<u8>,
    ) -> After {
        self.commands_processed += 1;
        let name = args.arg(0);
        let Some(spec) = lookup(name) else {
            reply::error(out, &unknown_command(args));
            return After::Continue;
        };
        let arity_ok = if spec.arity >= 0 {
            args.len() == spec.arity as usize
        } else {
            args.len() >= spec.arity.unsigned_abs() as usize
        };
        if !arity_ok {
            reply::error(out, &wrong_arity(spec.name));
            return After::Continue;
        }
        let mut cx = Cx {
            db: self,
            session,
            now,
            out,
        };
        (spec.run)(&mut cx, args)
    }

    /// Removes `key` if its deadline has passed.
    fn expire_if_due(&mut self, key: &[u8], now: Duration) {
        if self.expiries.is_empty() {
            return; // the common case: no TTL anywhere, one lookup saved
        }
        if let Some(at) = self.keys.get(key).and_then(|e| e.expires_at) {
            if at <= now {
                self.remove(key);
            }
        }
    }

    /// The live entry of `key`.
    fn get(&mut self, key: &[u8], now: Duration) -> Option<&Entry> {
        self.expire_if_due(key, now);
        self.keys.get(key)
    }

    /// The live entry of `key`, mutably.
    fn get_mut(&mut self, key: &[u8], now: Duration) -> Option<&mut Entry> {
        self.expire_if_due(key, now);
        self.keys.get_mut(key)
    }

    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.keys.remove(key)?;
        if let Some(at) = entry.expires_at {
            self.expiries.remove(&(at, key.to_vec()));
        }
        Some(entry)
    }

    /// Sets or clears the deadline of an existing key.
    fn set_expiry(&mut self, key: &[u8], at: Option<Duration>) {
        let Some(entry) = self.keys.get_mut(key) else {
            return;
        };
        let old = std::mem::replace(&mut entry.expires_at, at);
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.expiries.remove(&(old, key.to_vec()));
        }
        if let Some(at) = at {
            if self.next_deadline().is_none_or(|first| at < first) {
                self.reaper_wakeup = true;
            }
            self.expiries.insert((at, key.to_vec()));
        }
    }

    /// Stores a string value; the TTL is left as it was.
    fn put_str(&mut self, key: &[u8], value: &[u8]) {
        match self.keys.get_mut(key) {
            // Reuse the old buffer unless it is much too large.
            Some(Entry {
                value: Value::Str(old),
                ..
            }) if old.capacity() <= 2 * value.len() + 64 => {
                old.clear();
                old.extend_from_slice(value);
            }
            Some(entry) => entry.value = Value::Str(value.to_vec()),
            None => {
                self.keys.insert(
                    key.to_vec(),
                    Entry {
                        value: Value::Str(value.to_vec()),
                        expires_at: None,
                    },
                );
            }
        }
    }
}

/// What a command runs with.
struct Cx<'a> {
    db: &'a mut Db,
    session: &'a mut Session,
    now: Duration,
    out: &'a mut Vec<u8>,
}

impl Cx<'_> {
    fn ok(&mut self) -> After {
        reply::simple(self.out, "OK");
        After::Continue
    }

    fn error(&mut self, message: &str) -> After {
        reply::error(self.out, message);
        After::Continue
    }

    fn integer(&mut self, n: i64) -> After {
        reply::integer(self.out, n);
        After::Continue
    }

    fn bulk(&mut self, bytes: &[u8]) -> After {
        reply::bulk(self.out, bytes);
        After::Continue
    }

    fn nil(&mut self) -> After {
        reply::nil(self.out);
        After::Continue
    }

    fn get(&mut self, key: &[u8]) -> Option<&Entry> {
        self.db.get(key, self.now)
    }
}

/// A command: name, arity and key positions as `COMMAND` reports them, and
/// the function that runs it.
struct Spec {
    /// Lower-case name.
    name: &'static str,
    /// Redis's convention: `n` exactly `n` arguments (the name included),
    /// `-n` at least `n`.
    arity: i32,
    flags: &'static [&'static str],
    first_key: i32,
    last_key: i32,
    step: i32,
    run: fn(&mut Cx<'_>, Args<'_>) -> After,
}

const READ: &[&str] = &["readonly", "fast"];
const WRITE: &[&str] = &["write", "denyoom", "fast"];
const WRITE_SLOW: &[&str] = &["write"];
const ADMIN: &[&str] = &["noscript", "loading", "stale", "fast"];

macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $run:expr) => {
        Spec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            run: $run,
        }
    };
}

/// Every command, the busiest first (lookup is a linear scan).
const COMMANDS: &[Spec] = &[
    spec!("get", 2, READ, 1, 1, 1, cmd_get),
    spec!("set", -3, WRITE, 1, 1, 1, cmd_set),
    spec!("incr", 2, WRITE, 1, 1, 1, |cx, a| incr_by(cx, a.arg(1), 1)),
    spec!("mset", -3, WRITE, 1, -1, 2, cmd_mset),
    spec!("mget", -2, READ, 1, -1, 1, cmd_mget),
    spec!("ping", -1, &["fast", "stale"], 0, 0, 0, cmd_ping),
    spec!("decr", 2, WRITE, 1, 1, 1, |cx, a| incr_by(cx, a.arg(1), -1)),
    spec!("incrby", 3, WRITE, 1, 1, 1, |cx, a| cmd_incrby(cx, a, 1)),
    spec!("decrby", 3, WRITE, 1, 1, 1, |cx, a| cmd_incrby(cx, a, -1)),
    spec!("del", -2, WRITE_SLOW, 1, -1, 1, cmd_del),
    spec!("unlink", -2, WRITE, 1, -1, 1, cmd_del),
    spec!("exists", -2, READ, 1, -1, 1, cmd_exists),
    spec!("setnx", 3, WRITE, 1, 1, 1, cmd_setnx),
    spec!("msetnx", -3, WRITE, 1, -1, 2, cmd_msetnx),
    spec!("append", 3, WRITE, 1, 1, 1, cmd_append),
    spec!("strlen", 2, READ, 1, 1, 1, cmd_strlen),
    spec!("expire", -3, WRITE, 1, 1, 1, |cx, a| cmd_expire(
        cx, a, 1000
    )),
    spec!("pexpire", -3, WRITE, 1, 1, 1, |cx, a| cmd_expire(cx, a, 1)),
    spec!("ttl", 2, READ, 1, 1, 1, |cx, a| cmd_ttl(cx, a, 1000)),
    spec!("pttl", 2, READ, 1, 1, 1, |cx, a| cmd_ttl(cx, a, 1)),
    spec!("persist", 2, WRITE, 1, 1, 1, cmd_persist),
    spec!("type", 2, READ, 1, 1, 1, cmd_type),
    spec!("keys", 2, &["readonly"], 0, 0, 0, cmd_keys),
    spec!("dbsize", 1, READ, 0, 0, 0, cmd_dbsize),
    spec!("flushall", -1, WRITE_SLOW, 0, 0, 0, cmd_flush),
    spec!("flushdb", -1, WRITE_SLOW, 0, 0, 0, cmd_flush),
    spec!("lpush", -3, WRITE, 1, 1, 1, |cx, a| cmd_push(cx, a, true)),
    spec!("rpush", -3, WRITE, 1, 1, 1, |cx, a| cmd_push(cx, a, false)),
    spec!("lpop", -2, WRITE, 1, 1, 1, |cx, a| cmd_pop(cx, a, true)),
    spec!("rpop", -2, WRITE, 1, 1, 1, |cx, a| cmd_pop(cx, a, false)),
    spec!("llen", 2, READ, 1, 1, 1, cmd_llen),
    spec!("lrange", 4, &["readonly"], 1, 1, 1, cmd_lrange),
    spec!("echo", 2, &["fast"], 0, 0, 0, |cx, a| cx.bulk(a.arg(1))),
    spec!(
        "select",
        2,
        &["loading", "stale", "fast"],
        0,
        0,
        0,
        cmd_select
    ),
    spec!("hello", -1, ADMIN, 0, 0, 0, cmd_hello),
    spec!("client", -2, ADMIN, 0, 0, 0, cmd_client),
    spec!("command", -1, &["loading", "stale"], 0, 0, 0, cmd_command),
    spec!(
        "config",
        -2,
        &["admin", "noscript", "loading", "stale"],
        0,
        0,
        0,
        cmd_config
    ),
    spec!("info", -1, &["loading", "stale"], 0, 0, 0, cmd_info),
    spec!("auth", -2, ADMIN, 0, 0, 0, |cx, _| cx.error(
        "ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?"
    )),
    spec!("quit", -1, &["fast"], 0, 0, 0, |cx, _| {
        cx.ok();
        After::Close
    }),
    spec!(
        "shutdown",
        -1,
        &["admin", "noscript", "loading", "stale"],
        0,
        0,
        0,
        |_, _| { After::Shutdown }
    ),
];

/// The command named `name`, in any case.
fn lookup(name: &[u8]) -> Option<&'static Spec> {
    COMMANDS
        .iter()
        .find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(name))
}

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

fn lossy(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned()
}

/// Redis's message, with the first arguments quoted.
fn unknown_command(args: Args<'_>) -> String {
    let mut quoted = String::new();
    for arg in args.iter_from(1) {
        if quoted.len() >= 128 {
            break;
        }
        quoted.push('\'');
        quoted.push_str(&lossy(arg, 128 - quoted.len()));
        quoted.push_str("' ");
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {quoted}",
        lossy(args.arg(0), 128)
    )
}

fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

fn unknown_subcommand(sub: &[u8], command: &str) -> String {
    format!(
        "ERR unknown subcommand '{}'. Try {command} HELP.",
        lossy(sub, 128)
    )
}

fn int_arg(arg: &[u8]) -> Result<i64, &'static str> {
    parse_i64_strict(arg).ok_or(NOT_AN_INTEGER)
}

/// Milliseconds since the Unix epoch, for `EXAT`/`PXAT`.
fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The deadline `ms` milliseconds after `now`, or `now` itself for a
/// deadline in the past (due at once). `None` if it overflows.
fn deadline_after(now: Duration, ms: i64) -> Option<Duration> {
    if ms <= 0 {
        return Some(now);
    }
    now.checked_add(Duration::from_millis(ms as u64))
}

fn cmd_get(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let now = cx.now;
    match cx.db.get(args.arg(1), now) {
        None => cx.nil(),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            reply::bulk(cx.out, s);
            After::Continue
        }
        Some(_) => cx.error(WRONGTYPE),
    }
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`
fn cmd_set(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    #[derive(PartialEq)]
    enum Ttl {
        Clear,
        Keep,
        /// Milliseconds from now, or since the epoch.
        In(i64),
        At(i64),
    }
    let (key, value) = (args.arg(1), args.arg(2));
    let (mut nx, mut xx, mut get, mut ttl) = (false, false, false, Ttl::Clear);
    let mut i = 3;
    while i < args.len() {
        let option = args.arg(i);
        let next = (i + 1 < args.len()).then(|| args.arg(i + 1));
        if is(option, "NX") && !xx {
            nx = true;
        } else if is(option, "XX") && !nx {
            xx = true;
        } else if is(option, "GET") {
            get = true;
        } else if is(option, "KEEPTTL") && ttl == Ttl::Clear {
            ttl = Ttl::Keep;
        } else if let (Some(unit), Some(amount), Ttl::Clear) = (
            ["EX", "PX", "EXAT", "PXAT"]
                .iter()
                .position(|unit| is(option, unit)),
            next,
            &ttl,
        ) {
            let n = match int_arg(amount) {
                Ok(n) => n,
                Err(e) => return cx.error(e),
            };
            let ms = if unit % 2 == 0 {
                n.checked_mul(1000)
            } else {
                Some(n)
            };
            match ms {
                Some(ms) if n > 0 => ttl = if unit < 2 { Ttl::In(ms) } else { Ttl::At(ms) },
                _ => return cx.error("ERR invalid expire time in 'set' command"),
            }
            i += 1;
        } else {
            return cx.error(SYNTAX);
        }
        i += 1;
    }
    let now = cx.now;
    let deadline = match ttl {
        Ttl::In(ms) => Some(deadline_after(now, ms)),
        Ttl::At(ms) => Some(deadline_after(now, ms.saturating_sub(unix_millis()))),
        Ttl::Clear | Ttl::Keep => None,
    };
    let Some(deadline) = deadline.map_or(Some(None), |d| d.map(Some)) else {
        return cx.error("ERR invalid expire time in 'set' command");
    };
    let old = match cx.get(key) {
        None => None,
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Some(if get { s.clone() } else { Vec::new() }),
        Some(_) if get => return cx.error(WRONGTYPE),
        Some(_) => Some(Vec::new()),
    };
    let exists = old.is_some();
    if (nx && exists) || (xx && !exists) {
        return match old {
            Some(old) if get => cx.bulk(&old),
            _ => cx.nil(),
        };
    }
    cx.db.put_str(key, value);
    if ttl != Ttl::Keep {
        cx.db.set_expiry(key, deadline);
    }
    match old {
        _ if !get => cx.ok(),
        Some(old) => cx.bulk(&old),
        None => cx.nil(),
    }
}

fn cmd_setnx(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let key = args.arg(1);
    if cx.get(key).is_some() {
        return cx.integer(0);
    }
    cx.db.put_str(key, args.arg(2));
    cx.integer(1)
}

fn cmd_mset(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() % 2 == 0 {
        return cx.error(&wrong_arity("mset"));
    }
    for i in (1..args.len()).step_by(2) {
        let key = args.arg(i);
        cx.db.put_str(key, args.arg(i + 1));
        cx.db.set_expiry(key, None);
    }
    cx.ok()
}

fn cmd_msetnx(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() % 2 == 0 {
        return cx.error(&wrong_arity("msetnx"));
    }
    for i in (1..args.len()).step_by(2) {
        if cx.get(args.arg(i)).is_some() {
            return cx.integer(0);
        }
    }
    for i in (1..args.len()).step_by(2) {
        cx.db.put_str(args.arg(i), args.arg(i + 1));
    }
    cx.integer(1)
}

fn cmd_mget(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    reply::array(cx.out, args.len() - 1);
    for key in args.iter_from(1) {
        match cx.db.get(key, cx.now) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => reply::bulk(cx.out, s),
            _ => reply::nil(cx.out),
        }
    }
    After::Continue
}

fn incr_by(cx: &mut Cx<'_>, key: &[u8], delta: i64) -> After {
    let now = cx.now;
    match cx.db.get_mut(key, now) {
        None => {
            let mut digits = Vec::new();
            reply::decimal(&mut digits, delta);
            cx.db.put_str(key, &digits);
            cx.integer(delta)
        }
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            let Some(n) = parse_i64_strict(s) else {
                return cx.error(NOT_AN_INTEGER);
            };
            let Some(n) = n.checked_add(delta) else {
                return cx.error(OVERFLOW);
            };
            s.clear();
            reply::decimal(s, n);
            cx.integer(n)
        }
        Some(_) => cx.error(WRONGTYPE),
    }
}

fn cmd_incrby(cx: &mut Cx<'_>, args: Args<'_>, sign: i64) -> After {
    match int_arg(args.arg(2)) {
        Ok(n) => match n.checked_mul(sign) {
            Some(delta) => incr_by(cx, args.arg(1), delta),
            None => cx.error(OVERFLOW),
        },
        Err(e) => cx.error(e),
    }
}

fn cmd_append(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let (key, tail) = (args.arg(1), args.arg(2));
    let limit = cx.db.config.limits.max_bulk_len;
    let now = cx.now;
    match cx.db.get_mut(key, now) {
        None => {
            cx.db.put_str(key, tail);
            cx.integer(tail.len() as i64)
        }
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            if s.len() + tail.len() > limit {
                return cx.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            }
            s.extend_from_slice(tail);
            let len = s.len() as i64;
            cx.integer(len)
        }
        Some(_) => cx.error(WRONGTYPE),
    }
}

fn cmd_strlen(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match cx.get(args.arg(1)) {
        None => cx.integer(0),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            let len = s.len() as i64;
            cx.integer(len)
        }
        Some(_) => cx.error(WRONGTYPE),
    }
}

fn cmd_del(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let mut removed = 0;
    for key in args.iter_from(1) {
        cx.db.expire_if_due(key, cx.now);
        removed += i64::from(cx.db.remove(key).is_some());
    }
    cx.integer(removed)
}

fn cmd_exists(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let mut found = 0;
    for key in args.iter_from(1) {
        found += i64::from(cx.get(key).is_some());
    }
    cx.integer(found)
}

/// `EXPIRE key seconds [NX | XX | GT | LT]` (`unit` = 1000) and `PEXPIRE`.
fn cmd_expire(cx: &mut Cx<'_>, args: Args<'_>, unit: i64) -> After {
    let name = if unit == 1 { "pexpire" } else { "expire" };
    let key = args.arg(1);
    let amount = match int_arg(args.arg(2)) {
        Ok(n) => n,
        Err(e) => return cx.error(e),
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in args.iter_from(3) {
        match () {
            () if is(option, "NX") => nx = true,
            () if is(option, "XX") => xx = true,
            () if is(option, "GT") => gt = true,
            () if is(option, "LT") => lt = true,
            () => {
                return cx.error(&format!("ERR Unsupported option {}", lossy(option, 128)));
            }
        }
    }
    if nx && (xx || gt || lt) {
        return cx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return cx.error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(ms) = amount.checked_mul(unit) else {
        return cx.error(&format!("ERR invalid expire time in '{name}' command"));
    };
    let now = cx.now;
    let Some(deadline) = deadline_after(now, ms) else {
        return cx.error(&format!("ERR invalid expire time in '{name}' command"));
    };
    let Some(current) = cx.get(key).map(|e| e.expires_at) else {
        return cx.integer(0);
    };
    // A key without a TTL counts as expiring never (infinitely late).
    let applies = match current {
        _ if nx => current.is_none(),
        None if xx || gt => false,
        None => true,
        Some(current) => (!gt || deadline > current) && (!lt || deadline < current),
    };
    if !applies {
        return cx.integer(0);
    }
    if ms <= 0 {
        cx.db.remove(key);
    } else {
        cx.db.set_expiry(key, Some(deadline));
    }
    cx.integer(1)
}

/// `TTL` (`unit` = 1000, rounded to the nearest second as Redis does) and
/// `PTTL`.
fn cmd_ttl(cx: &mut Cx<'_>, args: Args<'_>, unit: u128) -> After {
    let now = cx.now;
    match cx.get(args.arg(1)).map(|e| e.expires_at) {
        None => cx.integer(-2),
        Some(None) => cx.integer(-1),
        Some(Some(at)) => {
            let ms = at.saturating_sub(now).as_millis();
            cx.integer(((ms + unit / 2) / unit) as i64)
        }
    }
}

fn cmd_persist(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let key = args.arg(1);
    match cx.get(key).map(|e| e.expires_at) {
        Some(Some(_)) => {
            cx.db.set_expiry(key, None);
            cx.integer(1)
        }
        _ => cx.integer(0),
    }
}

fn cmd_type(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let name = match cx.get(args.arg(1)) {
        None => "none",
        Some(Entry {
            value: Value::Str(_),
            ..
        }) => "string",
        Some(Entry {
            value: Value::List(_),
            ..
        }) => "list",
    };
    reply::simple(cx.out, name);
    After::Continue
}

fn cmd_keys(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let pattern = args.arg(1);
    let now = cx.now;
    let matching: Vec<&Vec<u8>> = cx
        .db
        .keys
        .iter()
        .filter(|(key, entry)| {
            entry.expires_at.is_none_or(|at| at > now) && glob_match(pattern, key)
        })
        .map(|(key, _)| key)
        .collect();
    reply::array(cx.out, matching.len());
    for key in matching {
        reply::bulk(cx.out, key);
    }
    After::Continue
}

fn cmd_dbsize(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    let len = cx.db.keys.len() as i64;
    cx.integer(len)
}

fn cmd_flush(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match args.len() {
        1 => {}
        2 if is(args.arg(1), "ASYNC") || is(args.arg(1), "SYNC") => {}
        _ => return cx.error(SYNTAX),
    }
    cx.db.keys.clear();
    cx.db.expiries.clear();
    cx.ok()
}

fn cmd_push(cx: &mut Cx<'_>, args: Args<'_>, front: bool) -> After {
    let key = args.arg(1);
    let now = cx.now;
    if cx.db.get(key, now).is_none() {
        cx.db.keys.insert(
            key.to_vec(),
            Entry {
                value: Value::List(VecDeque::new()),
                expires_at: None,
            },
        );
    }
    let Some(Entry {
        value: Value::List(list),
        ..
    }) = cx.db.keys.get_mut(key)
    else {
        return cx.error(WRONGTYPE);
    };
    for value in args.iter_from(2) {
        if front {
            list.push_front(value.to_vec());
        } else {
            list.push_back(value.to_vec());
        }
    }
    let len = list.len() as i64;
    cx.integer(len)
}

/// `LPOP key [count]`, `RPOP key [count]`.
fn cmd_pop(cx: &mut Cx<'_>, args: Args<'_>, front: bool) -> After {
    let name = if front { "lpop" } else { "rpop" };
    let key = args.arg(1);
    let count = match args.len() {
        2 => None,
        3 => match int_arg(args.arg(2)) {
            Ok(n) if n >= 0 => Some(n as usize),
            Ok(_) => return cx.error("ERR value is out of range, must be positive"),
            Err(e) => return cx.error(e),
        },
        _ => return cx.error(&wrong_arity(name)),
    };
    let now = cx.now;
    let list = match cx.db.get_mut(key, now) {
        None if count.is_some() => {
            reply::nil_array(cx.out);
            return After::Continue;
        }
        None => return cx.nil(),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return cx.error(WRONGTYPE),
    };
    let take = count.unwrap_or(1).min(list.len());
    let popped: Vec<Vec<u8>> = (0..take)
        .filter_map(|_| {
            if front {
                list.pop_front()
            } else {
                list.pop_back()
            }
        })
        .collect();
    if list.is_empty() {
        cx.db.remove(key);
    }
    match count {
        None => cx.bulk(&popped[0]),
        Some(_) => {
            reply::array(cx.out, popped.len());
            for value in &popped {
                reply::bulk(cx.out, value);
            }
            After::Continue
        }
    }
}

fn cmd_llen(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match cx.get(args.arg(1)) {
        None => cx.integer(0),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => {
            let len = list.len() as i64;
            cx.integer(len)
        }
        Some(_) => cx.error(WRONGTYPE),
    }
}

fn cmd_lrange(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let (start, stop) = match (int_arg(args.arg(2)), int_arg(args.arg(3))) {
        (Ok(start), Ok(stop)) => (start, stop),
        _ => return cx.error(NOT_AN_INTEGER),
    };
    let now = cx.now;
    let list = match cx.db.get(args.arg(1), now) {
        None => {
            reply::array(cx.out, 0);
            return After::Continue;
        }
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return cx.error(WRONGTYPE),
    };
    let len = list.len() as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    if start > stop || start >= len {
        reply::array(cx.out, 0);
        return After::Continue;
    }
    reply::array(cx.out, (stop - start + 1) as usize);
    for value in list.range(start as usize..=stop as usize) {
        reply::bulk(cx.out, value);
    }
    After::Continue
}

fn cmd_ping(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match args.len() {
        1 => {
            reply::simple(cx.out, "PONG");
            After::Continue
        }
        2 => cx.bulk(args.arg(1)),
        _ => cx.error(&wrong_arity("ping")),
    }
}

fn cmd_select(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match int_arg(args.arg(1)) {
        Ok(0) => cx.ok(),
        Ok(_) => cx.error("ERR DB index is out of range"),
        Err(e) => cx.error(e),
    }
}

/// `HELLO [protover [AUTH user pass] [SETNAME name]]`: RESP2 only.
fn cmd_hello(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() >= 2 {
        match parse_i64_strict(args.arg(1)) {
            Some(2) => {}
            Some(_) => return cx.error("NOPROTO unsupported protocol version"),
            None => {
                return cx.error("ERR Protocol version is not an integer or out of range");
            }
        }
    }
    let mut i = 2;
    while i < args.len() {
        if is(args.arg(i), "SETNAME") && i + 1 < args.len() {
            if let Err(e) = check_client_name(args.arg(i + 1)) {
                return cx.error(e);
            }
            cx.session.name = Some(args.arg(i + 1).to_vec());
            i += 2;
        } else if is(args.arg(i), "AUTH") && i + 2 < args.len() {
            return cx.error("WRONGPASS invalid username-password pair or user is disabled.");
        } else {
            return cx.error(&format!(
                "ERR Syntax error in HELLO option '{}'",
                lossy(args.arg(i), 128)
            ));
        }
    }
    // A RESP2 reply to HELLO is a flat array of field/value pairs.
    reply::array(cx.out, 14);
    for (field, value) in [
        ("server", "redis"),
        ("version", REDIS_VERSION),
        ("proto", ""),
        ("id", ""),
        ("mode", "standalone"),
        ("role", "master"),
        ("modules", ""),
    ] {
        reply::bulk(cx.out, field.as_bytes());
        match field {
            "proto" => reply::integer(cx.out, 2),
            "id" => reply::integer(cx.out, cx.session.id as i64),
            "modules" => reply::array(cx.out, 0),
            _ => reply::bulk(cx.out, value.as_bytes()),
        }
    }
    After::Continue
}

fn check_client_name(name: &[u8]) -> Result<(), &'static str> {
    if name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        Ok(())
    } else {
        Err("ERR Client names cannot contain spaces, newlines or special characters.")
    }
}

fn cmd_client(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let sub = args.arg(1);
    match args.len() {
        4 if is(sub, "SETINFO") => {
            let value = args.arg(3).to_vec();
            if is(args.arg(2), "LIB-NAME") {
                cx.session.lib_name = Some(value);
            } else if is(args.arg(2), "LIB-VER") {
                cx.session.lib_ver = Some(value);
            } else {
                return cx.error(&format!(
                    "ERR Unrecognized option '{}'",
                    lossy(args.arg(2), 128)
                ));
            }
            cx.ok()
        }
        3 if is(sub, "SETNAME") => match check_client_name(args.arg(2)) {
            Ok(()) => {
                cx.session.name = (!args.arg(2).is_empty()).then(|| args.arg(2).to_vec());
                cx.ok()
            }
            Err(e) => cx.error(e),
        },
        2 if is(sub, "GETNAME") => match cx.session.name.clone() {
            Some(name) => cx.bulk(&name),
            None => cx.nil(),
        },
        2 if is(sub, "ID") => cx.integer(cx.session.id as i64),
        2 if is(sub, "INFO") => {
            let field =
                |v: &Option<Vec<u8>>| v.as_deref().map(|v| lossy(v, 128)).unwrap_or_default();
            let info = format!(
                "id={} name={} db=0 lib-name={} lib-ver={}\n",
                cx.session.id,
                field(&cx.session.name),
                field(&cx.session.lib_name),
                field(&cx.session.lib_ver),
            );
            cx.bulk(info.as_bytes())
        }
        _ if ["SETINFO", "SETNAME", "GETNAME", "ID", "INFO"]
            .iter()
            .any(|known| is(sub, known)) =>
        {
            cx.error(&format!(
                "ERR wrong number of arguments for 'client|{}' command",
                lossy(sub, 128).to_ascii_lowercase()
            ))
        }
        _ => cx.error(&unknown_subcommand(sub, "CLIENT")),
    }
}

/// One command's entry in the Redis 7 `COMMAND` reply: name, arity, flags,
/// first key, last key, step, and (empty) ACL categories, tips, key specs
/// and subcommands.
fn command_entry(out: &mut Vec<u8>, spec: &Spec) {
    reply::array(out, 10);
    reply::bulk(out, spec.name.as_bytes());
    reply::integer(out, i64::from(spec.arity));
    reply::array(out, spec.flags.len());
    for flag in spec.flags {
        reply::simple(out, flag);
    }
    reply::integer(out, i64::from(spec.first_key));
    reply::integer(out, i64::from(spec.last_key));
    reply::integer(out, i64::from(spec.step));
    for _ in 0..4 {
        reply::array(out, 0);
    }
}

/// `COMMAND`, `COMMAND COUNT`, `COMMAND INFO name...`, `COMMAND LIST`,
/// `COMMAND DOCS [name...]` (no docs: an empty reply, which redis-cli
/// accepts).
fn cmd_command(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() == 1 {
        reply::array(cx.out, COMMANDS.len());
        for spec in COMMANDS {
            command_entry(cx.out, spec);
        }
        return After::Continue;
    }
    let sub = args.arg(1);
    if is(sub, "COUNT") && args.len() == 2 {
        cx.integer(COMMANDS.len() as i64)
    } else if is(sub, "LIST") && args.len() == 2 {
        reply::array(cx.out, COMMANDS.len());
        for spec in COMMANDS {
            reply::bulk(cx.out, spec.name.as_bytes());
        }
        After::Continue
    } else if is(sub, "INFO") {
        reply::array(cx.out, args.len() - 2);
        for name in args.iter_from(2) {
            match lookup(name) {
                Some(spec) => command_entry(cx.out, spec),
                None => reply::nil(cx.out),
            }
        }
        After::Continue
    } else if is(sub, "DOCS") {
        reply::array(cx.out, 0);
        After::Continue
    } else {
        cx.error(&unknown_subcommand(sub, "COMMAND"))
    }
}

/// `CONFIG GET pattern...` over the few settings clients ask about (
/// redis-benchmark asks for `save` and `appendonly`); `CONFIG RESETSTAT`.
fn cmd_config(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let sub = args.arg(1);
    if is(sub, "GET") && args.len() >= 3 {
        let config = &cx.db.config;
        let settings = [
            ("save", String::new()),
            ("appendonly", "no".to_owned()),
            ("databases", "1".to_owned()),
            ("port", config.port.to_string()),
            ("maxclients", config.max_clients.to_string()),
            ("timeout", "0".to_owned()),
            ("proto-max-bulk-len", config.limits.max_bulk_len.to_string()),
            (
                "client-query-buffer-limit",
                config.limits.max_request_len.to_string(),
            ),
        ];
        let matching: Vec<&(&str, String)> = settings
            .iter()
            .filter(|(name, _)| {
                args.iter_from(2)
                    .any(|pattern| glob_match(&pattern.to_ascii_lowercase(), name.as_bytes()))
            })
            .collect();
        reply::array(cx.out, 2 * matching.len());
        for (name, value) in matching {
            reply::bulk(cx.out, name.as_bytes());
            reply::bulk(cx.out, value.as_bytes());
        }
        After::Continue
    } else if is(sub, "RESETSTAT") && args.len() == 2 {
        cx.db.commands_processed = 0;
        cx.ok()
    } else if is(sub, "GET") {
        cx.error("ERR wrong number of arguments for 'config|get' command")
    } else {
        cx.error(&unknown_subcommand(sub, "CONFIG"))
    }
}

fn cmd_info(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    let db = &cx.db;
    let info = format!(
        "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\n\
         server_name:{}\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n\r\n\
         # Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\n\r\n\
         # Stats\r\ntotal_commands_processed:{}\r\n\r\n\
         # Keyspace\r\ndb0:keys={},expires={},avg_ttl=0\r\n",
        db.config.server_name,
        std::process::id(),
        db.config.port,
        cx.now.as_secs(),
        db.clients,
        db.config.max_clients,
        db.commands_processed,
        db.keys.len(),
        db.expiries.len(),
    );
    cx.bulk(info.as_bytes())
}

/// Redis's glob (`stringmatchlen`): `*` any run, `?` any byte, `[abc]`,
/// `[^abc]`, `[a-z]`, and `\x` for a literal `x`. Case-sensitive.
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    // Where to resume after the last `*`: (pattern after it, string index).
    let mut star: Option<(usize, usize)> = None;
    while s < string.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                star = Some((p, s));
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match_class(pattern, p + 1, string[s]),
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == string[s]).then_some(p + 2),
            Some(&c) => (c == string[s]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                s += 1;
            }
            (None, Some((after_star, from))) => {
                // Let the last `*` swallow one more byte and retry.
                p = after_star;
                s = from + 1;
                star = Some((after_star, from + 1));
            }
            (None, None) => return false,
        }
    }
    while pattern.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pattern.len()
}

/// Matches `c` against the class starting at `pattern[p]` (after the `[`);
/// the index after the closing `]` if it matches. An unterminated class
/// ends at the end of the pattern, as in Redis.
fn match_class(pattern: &[u8], mut p: usize, c: u8) -> Option<usize> {
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(p) {
            None => break,
            Some(b']') => {
                p += 1;
                break;
            }
            Some(b'\\') if p + 1 < pattern.len() => {
                matched |= pattern[p + 1] == c;
                p += 2;
            }
            Some(&low) if pattern.get(p + 1) == Some(&b'-') && p + 2 < pattern.len() => {
                let high = pattern[p + 2];
                let (low, high) = if low <= high {
                    (low, high)
                } else {
                    (high, low)
                };
                matched |= (low..=high).contains(&c);
                p += 3;
            }
            Some(&literal) => {
                matched |= literal == c;
                p += 1;
            }
        }
    }
    (matched != negate).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::{Parsed, Parser};

    fn db() -> Db {
        Db::new(Config {
            server_name: "test",
            port: 0,
            max_clients: 10,
            limits: Limits::default(),
        })
    }

    /// Runs inline commands at `now_ms` and returns the raw replies.
    fn run(db: &mut Db, now_ms: u64, commands: &[&str]) -> Vec<String> {
        let mut session = db.new_session();
        let mut parser = Parser::new(Limits::default());
        commands
            .iter()
            .map(|line| {
                let line = format!("{line}\r\n");
                let Parsed::Request { args, .. } = parser.parse(line.as_bytes()) else {
                    panic!("not a request: {line}")
                };
                let mut out = Vec::new();
                db.execute(args, &mut session, Duration::from_millis(now_ms), &mut out);
                String::from_utf8_lossy(&out).into_owned()
            })
            .collect()
    }

    #[test]
    fn strings_and_counters() {
        let mut db = db();
        assert_eq!(
            run(
                &mut db,
                0,
                &[
                    "SET k v",
                    "GET k",
                    "get missing",
                    "INCR n",
                    "INCRBY n 41",
                    "DECR n",
                    "DECRBY n -2",
                    "INCR k",
                    "SET big 9223372036854775807",
                    "INCR big",
                    "APPEND k w",
                    "STRLEN k",
                    "MSET a 1 b 2",
                    "MGET a nope b n",
                    "MSET a",
                    "SETNX a 5",
                    "MSETNX x 1 a 2",
                    "EXISTS a a nope",
                    "DEL a nope b",
                ]
            ),
            [
                "+OK\r\n",
                "$1\r\nv\r\n",
                "$-1\r\n",
                ":1\r\n",
                ":42\r\n",
                ":41\r\n",
                ":43\r\n",
                "-ERR value is not an integer or out of range\r\n",
                "+OK\r\n",
                "-ERR increment or decrement would overflow\r\n",
                ":2\r\n",
                ":2\r\n",
                "+OK\r\n",
                "*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n$2\r\n43\r\n",
                "-ERR wrong number of arguments for 'mset' command\r\n",
                ":0\r\n",
                ":0\r\n",
                ":2\r\n",
                ":2\r\n",
            ]
        );
    }

    #[test]
    fn set_options() {
        let mut db = db();
        assert_eq!(
            run(
                &mut db,
                0,
                &[
                    "SET k v NX",
                    "SET k w NX",
                    "SET k w XX GET",
                    "SET new w XX",
                    "SET new w NX GET",
                    "SET k v EX 10 PX 5",
                    "SET k v EX 0",
                    "SET k v PX abc",
                    "SET k v BOGUS",
                    "SET k v NX XX",
                    "SET k v EX 10 KEEPTTL",
                    "SET k v PX 1500",
                    "PTTL k",
                    "TTL k",
                    "SET k v2 KEEPTTL",
                    "PTTL k",
                    "SET k v3",
                    "TTL k",
                ]
            ),
            [
                "+OK\r\n",
                "$-1\r\n",
                "$1\r\nv\r\n",
                "$-1\r\n",
                "$-1\r\n",
                "-ERR syntax error\r\n",
                "-ERR invalid expire time in 'set' command\r\n",
                "-ERR value is not an integer or out of range\r\n",
                "-ERR syntax error\r\n",
                "-ERR syntax error\r\n",
                "-ERR syntax error\r\n",
                "+OK\r\n",
                ":1500\r\n",
                ":2\r\n",
                "+OK\r\n",
                ":1500\r\n",
                "+OK\r\n",
                ":-1\r\n",
            ]
        );
    }

    #[test]
    fn expiry_is_lazy_and_reaped() {
        let mut db = db();
        run(&mut db, 0, &["SET a 1 PX 100", "SET b 2 PX 300", "SET c 3"]);
        assert!(
            db.take_reaper_wakeup(),
            "the first deadline wakes the reaper"
        );
        run(&mut db, 0, &["SET d 4 PX 200"]);
        assert!(!db.take_reaper_wakeup(), "a later deadline does not");
        assert_eq!(db.next_deadline(), Some(Duration::from_millis(100)));
        // Lazy: a read after the deadline does not see the key.
        assert_eq!(
            run(&mut db, 150, &["GET a", "TTL a", "EXISTS a b", "DBSIZE"]),
            ["$-1\r\n", ":-2\r\n", ":1\r\n", ":3\r\n"]
        );
        // Active: the reaper removes what is due, within its budget.
        assert_eq!(
            db.reap(Duration::from_millis(350), 1),
            Reaped {
                removed: 1,
                more_due: true,
                next: Some(Duration::from_millis(300))
            }
        );
        assert_eq!(
            db.reap(Duration::from_millis(350), 10),
            Reaped {
                removed: 1,
                more_due: false,
                next: None
            }
        );
        assert_eq!(run(&mut db, 350, &["KEYS *"]), ["*1\r\n$1\r\nc\r\n"]);
    }

    #[test]
    fn expire_ttl_persist() {
        let mut db = db();
        assert_eq!(
            run(
                &mut db,
                1000,
                &[
                    "EXPIRE nope 10",
                    "SET k v",
                    "TTL k",
                    "EXPIRE k 10",
                    "TTL k",
                    "PEXPIRE k 2500",
                    "TTL k",
                    "EXPIRE k 100 NX",
                    "EXPIRE k 100 XX",
                    "EXPIRE k 5 GT",
                    "EXPIRE k 5 LT",
                    "EXPIRE k 5 NX XX",
                    "EXPIRE k x",
                    "PERSIST k",
                    "PERSIST k",
                    "TTL k",
                    "EXPIRE k 0",
                    "EXISTS k",
                    "EXPIRE k 9223372036854775807",
                ]
            ),
            [
                ":0\r\n",
                "+OK\r\n",
                ":-1\r\n",
                ":1\r\n",
                ":10\r\n",
                ":1\r\n",
                ":3\r\n",
                ":0\r\n",
                ":1\r\n",
                ":0\r\n",
                ":1\r\n",
                "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
                "-ERR value is not an integer or out of range\r\n",
                ":1\r\n",
                ":0\r\n",
                ":-1\r\n",
                ":1\r\n",
                ":0\r\n",
                "-ERR invalid expire time in 'expire' command\r\n",
            ]
        );
        assert_eq!(db.expiries.len(), 0, "the index follows the keys");
    }

    #[test]
    fn lists_and_wrong_types() {
        let mut db = db();
        assert_eq!(
            run(
                &mut db,
                0,
                &[
                    "RPUSH l a b c",
                    "LPUSH l z",
                    "LRANGE l 0 -1",
                    "LRANGE l -2 100",
                    "LLEN l",
                    "GET l",
                    "INCR l",
                    "TYPE l",
                    "SET s x",
                    "LPUSH s a",
                    "TYPE s",
                    "TYPE nope",
                    "MGET l s",
                    "LPOP l",
                    "RPOP l 2",
                    "RPOP l 5",
                    "EXISTS l",
                    "LPOP l 1",
                ]
            ),
            [
                ":3\r\n",
                ":4\r\n",
                "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
                "*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
                ":4\r\n",
                &format!("-{WRONGTYPE}\r\n"),
                &format!("-{WRONGTYPE}\r\n"),
                "+list\r\n",
                "+OK\r\n",
                &format!("-{WRONGTYPE}\r\n"),
                "+string\r\n",
                "+none\r\n",
                "*2\r\n$-1\r\n$1\r\nx\r\n",
                "$1\r\nz\r\n",
                "*2\r\n$1\r\nc\r\n$1\r\nb\r\n",
                "*1\r\n$1\r\na\r\n",
                ":0\r\n",
                "*-1\r\n",
            ]
        );
    }

    #[test]
    fn arity_and_unknown_commands() {
        let mut db = db();
        assert_eq!(
            run(
                &mut db,
                0,
                &[
                    "GET",
                    "get a b",
                    "PING a b",
                    "FOO bar baz",
                    "ping",
                    "Ping hi"
                ]
            ),
            [
                "-ERR wrong number of arguments for 'get' command\r\n",
                "-ERR wrong number of arguments for 'get' command\r\n",
                "-ERR wrong number of arguments for 'ping' command\r\n",
                "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n",
                "+PONG\r\n",
                "$2\r\nhi\r\n",
            ]
        );
    }

    #[test]
    fn connection_commands() {
        let mut db = db();
        let replies = run(
            &mut db,
            0,
            &[
                "HELLO 3",
                "HELLO 2 SETNAME app",
                "CLIENT GETNAME",
                "CLIENT SETINFO LIB-NAME redis-rs",
                "CLIENT SETINFO LIB-VER 1.0",
                "CLIENT ID",
                "CLIENT KILL x",
                "SELECT 0",
                "SELECT 1",
                "COMMAND COUNT",
                "CONFIG GET save",
                "CONFIG GET app*",
                "QUIT",
            ],
        );
        assert_eq!(replies[0], "-NOPROTO unsupported protocol version\r\n");
        assert!(replies[1].starts_with("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n"));
        assert_eq!(replies[2], "$3\r\napp\r\n");
        assert_eq!(replies[3], "+OK\r\n");
        assert_eq!(replies[4], "+OK\r\n");
        assert_eq!(replies[5], ":1\r\n");
        assert_eq!(
            replies[6],
            "-ERR unknown subcommand 'KILL'. Try CLIENT HELP.\r\n"
        );
        assert_eq!(replies[7], "+OK\r\n");
        assert_eq!(replies[8], "-ERR DB index is out of range\r\n");
        assert_eq!(replies[9], format!(":{}\r\n", COMMANDS.len()));
        assert_eq!(replies[10], "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
        assert_eq!(replies[11], "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
        assert_eq!(replies[12], "+OK\r\n");
    }

    #[test]
    fn globs() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "heeeello", true),
            ("h*llo", "hello!", false),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[b-a]llo", "hallo", true),
            ("h[a-b]llo", "hcllo", false),
            ("h\\*llo", "h*llo", true),
            ("h\\*llo", "hello", false),
            ("*a*b*c*", "xxaxxbxxcxx", true),
            ("*a*b*c*", "xxaxxcxxbxx", false),
            ("user:*:name", "user:42:name", true),
            ("user:*:name", "user:42:mail", false),
            ("a[bc", "ab", true),
            ("**x", "x", true),
        ];
        for &(pattern, string, expected) in cases {
            assert_eq!(
                glob_match(pattern.as_bytes(), string.as_bytes()),
                expected,
                "{pattern:?} vs {string:?}"
            );
        }
    }
}
