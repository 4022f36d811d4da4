//! The keyspace and the commands: plain functions from a request to a
//! reply, with redis-server 7's replies, errors included.
//!
//! [`Db::execute`] runs one request against the keyspace and appends its
//! reply to an output buffer. It never waits, so in the coshare server it
//! runs inside one `with_state` between two yield points: the request sees
//! and leaves a consistent keyspace, with no lock. The tokio comparison
//! server runs the very same code inside `RefCell::borrow_mut`.
//!
//! The families live in their own files: `strings` (`GET`, `SET`,
//! `INCR`, ...), `keys` (`DEL`, `EXPIRE`, `TTL`, `KEYS`, ...), `lists`,
//! `tx` (`MULTI`/`EXEC`/`WATCH`), `pubsub`, and `connection` (`PING`,
//! `HELLO`, `CLIENT`, `COMMAND`, ...). `table` lists them all with their
//! arity and flags, and this file checks a request against that table the
//! way Redis's `processCommand` does, in the same order, with the same
//! errors.
//!
//! # Expiry
//!
//! A key's deadline is a whole number of milliseconds on the server's
//! monotonic clock (time since the server started), as Redis keeps
//! milliseconds; a key is expired once the clock is past its deadline.
//! Expired keys are removed two ways:
//!
//! * *lazily*: every command that looks a key up first removes it if it has
//!   expired, so no reply ever shows an expired key, however late the
//!   reaper runs;
//! * *actively*: the deadlines are also kept in an ordered index, and a
//!   reaper task sleeps on the driver's timers until the earliest one, then
//!   removes every key that is due ([`Db::reap`]), a bounded batch at a
//!   time. A command that sets a deadline earlier than every other asks for
//!   the reaper to be woken ([`Db::take_reaper_wakeup`]), as in tokio's
//!   mini-redis. So memory is given back on time, without Redis's sampling
//!   and without a periodic scan.
//!
//! `DBSIZE` counts keys that are due but not reaped yet, as Redis does;
//! `KEYS`, `EXISTS` and every read skip them. `EXAT`/`PXAT` deadlines are
//! Unix times, turned into the server's clock when the command runs.
//!
//! # Transactions
//!
//! `MULTI` queues commands in the [`Session`]; `EXEC` runs them all inside
//! the one `Db::execute` call that runs `EXEC` itself (see `tx.rs`). In the
//! coshare server that call is one `with_state` closure, which cannot yield
//! (the type system forbids it: the closure cannot reach the task), so no
//! other connection runs in between, and no lock or flag is needed.

mod connection;
mod glob;
mod keys;
mod keyspace;
mod lists;
mod pubsub;
mod route;
mod strings;
mod table;
#[cfg(test)]
mod tests;
mod tx;

use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::resp::{Args, Limits, parse_i64_strict, reply};

pub use glob::glob_match;
pub use keyspace::millis;
pub use pubsub::{Frame, Outbox};
pub use route::{Combine, Plan, Router, combine};
use table::{Check, Spec};
pub use tx::Queued;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// The version reported to clients (`HELLO`, `INFO`): the Redis release
/// whose RESP2 behaviour this server follows.
pub const REDIS_VERSION: &str = "7.0.15";

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
    /// The most bytes of commands one `MULTI` may queue; past it the
    /// command is refused and the transaction fails (Redis has no such
    /// bound).
    pub max_queued_bytes: usize,
}

impl Config {
    /// Redis's settings, and a transaction at most as large as the largest
    /// request.
    pub fn new(server_name: &'static str, port: u16, max_clients: usize, limits: Limits) -> Self {
        Config {
            server_name,
            port,
            max_clients,
            limits,
            max_queued_bytes: limits.max_request_len,
        }
    }
}

/// The shared keyspace, the WATCH and pub/sub registries, and the
/// server-wide counters commands report.
pub struct Db {
    space: keyspace::Keyspace,
    watches: keyspace::Watches,
    pubsub: pubsub::Registry,
    /// Set when a deadline earlier than all others was added.
    reaper_wakeup: bool,
    /// The settings.
    pub config: Config,
    /// Open connections (kept by the connection tasks).
    pub clients: usize,
    next_client_id: u64,
    /// What `CLIENT ID`s step by: the shard count, so that shards hand
    /// out distinct ones.
    client_id_step: u64,
    commands_processed: u64,
}

/// A connection's own state, next to the shared [`Db`].
#[derive(Default)]
pub struct Session {
    /// `CLIENT ID`.
    pub id: u64,
    /// `CLIENT SETNAME`.
    pub name: Option<Vec<u8>>,
    lib_name: Option<Vec<u8>>,
    lib_ver: Option<Vec<u8>>,
    /// The transaction being queued, between `MULTI` and `EXEC`.
    multi: Option<tx::Queued>,
    /// Channels and patterns subscribed to (the connection is in pub/sub
    /// mode while this is not zero).
    subscriptions: usize,
    /// Where messages for this connection go; `None` until the server
    /// gives it one.
    outbox: Option<Rc<dyn Outbox>>,
    /// The connection speaks RESP3 (after `HELLO 3`).
    resp3: bool,
    /// A subscription was made before the connection had an outbox: the
    /// server must attach one ([`Db::attach_outbox`]) before its next
    /// yield point.
    needs_outbox: bool,
}

impl Session {
    /// Whether the connection is subscribed to anything (pub/sub mode:
    /// its replies and messages are pushed, and it must also wait for
    /// messages).
    pub fn in_pubsub(&self) -> bool {
        self.subscriptions > 0
    }

    /// Whether the server must attach an outbox (see
    /// [`Db::attach_outbox`]).
    pub fn needs_outbox(&self) -> bool {
        self.needs_outbox
    }

    /// Whether a transaction is being queued (between `MULTI` and `EXEC`).
    pub fn in_multi(&self) -> bool {
        self.multi.is_some()
    }

    /// Takes the transaction being queued, to run it on the shard its keys
    /// live on ([`Db::exec_shipped`]).
    pub fn take_transaction(&mut self) -> Option<Queued> {
        self.multi.take()
    }

    /// Whether the connection speaks RESP3.
    pub fn resp3(&self) -> bool {
        self.resp3
    }

    /// The stand-in, on the shard that owns a key, for connection `id` of
    /// another shard: its commands run there with its protocol, and its
    /// watches are kept there under its id.
    pub fn proxy(id: u64, resp3: bool) -> Session {
        Session {
            id,
            resp3,
            ..Session::default()
        }
    }
}

/// What the connection does after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Go on with the next request.
    Continue,
    /// Send the replies so far, then close (`QUIT`).
    Close,
    /// Close at once, without a reply: what Redis does when a browser's
    /// `POST` or `Host:` line shows up (a cross-protocol attack).
    Drop,
    /// Close without a reply and stop the server (`SHUTDOWN`).
    Shutdown,
}

impl Db {
    /// An empty keyspace.
    pub fn new(config: Config) -> Db {
        Db {
            space: keyspace::Keyspace::default(),
            watches: keyspace::Watches::default(),
            pubsub: pubsub::Registry::default(),
            reaper_wakeup: false,
            config,
            clients: 0,
            next_client_id: 1,
            client_id_step: 1,
            commands_processed: 0,
        }
    }

    /// Hands out the `CLIENT ID`s `first`, `first + step`, ... (shard `i`
    /// of `n` hands out `i + 1`, `i + 1 + n`, ...: distinct on every
    /// shard).
    pub fn set_client_ids(&mut self, first: u64, step: u64) {
        self.next_client_id = first;
        self.client_id_step = step.max(1);
    }

    /// A session for a new connection, with a fresh `CLIENT ID`.
    pub fn new_session(&mut self) -> Session {
        let id = self.next_client_id;
        self.next_client_id += self.client_id_step;
        Session {
            id,
            ..Session::default()
        }
    }

    /// A connection is gone: forget what it watched and what it subscribed
    /// to.
    pub fn end_session(&mut self, session: &mut Session) {
        self.watches.unwatch(session.id);
        self.pubsub.forget(session.id);
        session.subscriptions = 0;
        session.multi = None;
        session.outbox = None;
    }

    /// Forgets what connection `id` of another shard watches here (it
    /// closed).
    pub fn forget_client(&mut self, id: u64) {
        self.watches.unwatch(id);
    }

    /// Runs `EXEC` for a transaction queued on another shard: the same
    /// checks (watched keys, refused commands) and the same one step as a
    /// local `EXEC`.
    pub fn exec_shipped(
        &mut self,
        session: &mut Session,
        queued: Queued,
        now: Duration,
        out: &mut Vec<u8>,
    ) {
        session.multi = Some(queued);
        let exec = crate::resp::OwnedArgs::from_slices(&["EXEC"]);
        self.execute(exec.args(), session, now, out);
    }

    /// Refuses a request with `error` (a whole error line, code first),
    /// as a refused command is: inside `MULTI`, the transaction will fail.
    pub fn refuse(&mut self, session: &mut Session, error: &str, out: &mut Vec<u8>) {
        self.commands_processed += 1;
        if let Some(multi) = &mut session.multi {
            multi.abort();
        }
        reply::error(out, error);
    }

    /// Runs one request and appends its reply to `out`: the checks of
    /// Redis's `processCommand` (existence, arity, transaction and pub/sub
    /// context), in its order, then the command or, inside `MULTI`, its
    /// queuing.
    pub fn execute(
        &mut self,
        args: Args<'_>,
        session: &mut Session,
        now: Duration,
        out: &mut Vec<u8>,
    ) -> After {
        self.commands_processed += 1;
        let name = args.arg(0);
        if is(name, "host:") || is(name, "post") {
            return After::Drop;
        }
        let spec = match table::lookup(args) {
            Ok(spec) => spec,
            Err(message) => return tx::reject(self, session, None, out, &message),
        };
        let arity_ok = if spec.arity >= 0 {
            args.len() == spec.arity as usize
        } else {
            args.len() >= spec.arity.unsigned_abs() as usize
        };
        if !arity_ok {
            let message = wrong_arity(spec.full_name);
            return tx::reject(self, session, Some(spec), out, message.as_bytes());
        }
        if session.multi.is_some() && spec.check == Check::NoMulti {
            return tx::reject(
                self,
                session,
                Some(spec),
                out,
                b"Command not allowed inside a transaction",
            );
        }
        if session.in_pubsub() && !session.resp3 && !spec.pubsub_context {
            let message = format!(
                "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
                 RESET are allowed in this context",
                spec.full_name
            );
            return tx::reject(self, session, Some(spec), out, message.as_bytes());
        }
        if session.multi.is_some() && spec.check != Check::RunsInMulti {
            return tx::queue(self, session, args, out);
        }
        self.run(spec, args, session, millis(now), out)
    }

    /// Runs a command whose checks passed.
    fn run(
        &mut self,
        spec: &Spec,
        args: Args<'_>,
        session: &mut Session,
        now: u64,
        out: &mut Vec<u8>,
    ) -> After {
        let mut cx = Cx {
            db: self,
            session,
            now,
            out,
        };
        (spec.run)(&mut cx, args)
    }
}

/// What a command runs with.
struct Cx<'a> {
    db: &'a mut Db,
    session: &'a mut Session,
    /// The server's clock, in whole milliseconds.
    now: u64,
    out: &'a mut Vec<u8>,
}

impl Cx<'_> {
    fn ok(&mut self) -> After {
        reply::simple(self.out, "OK");
        After::Continue
    }

    fn error(&mut self, message: impl AsRef<[u8]>) -> After {
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

    /// A missing value, in the connection's protocol.
    fn nil(&mut self) -> After {
        reply::null(self.out, self.session.resp3);
        After::Continue
    }

    /// A missing array, in the connection's protocol.
    fn nil_array(&mut self) -> After {
        reply::null_array(self.out, self.session.resp3);
        After::Continue
    }

    fn empty_array(&mut self) -> After {
        reply::array(self.out, 0);
        After::Continue
    }

    fn get(&mut self, key: &[u8]) -> Option<&keyspace::Entry> {
        self.db.get(key, self.now)
    }

    fn entry_mut(&mut self, key: &[u8]) -> Option<&mut keyspace::Entry> {
        self.db.entry_mut(key, self.now)
    }
}

/// An argument as C code sees it: up to its first NUL byte. Redis compares
/// option names with `strcasecmp` and prints arguments with `%s`, both of
/// which stop there.
fn cstr(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(nul) => &arg[..nul],
        None => arg,
    }
}

/// Whether `arg` is `word`, in any case, as Redis's `strcasecmp` sees it.
fn is(arg: &[u8], word: &str) -> bool {
    cstr(arg).eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's `%.Ns` of an argument: at most `max` bytes, up to a NUL.
fn printed(arg: &[u8], max: usize) -> &[u8] {
    let arg = cstr(arg);
    &arg[..arg.len().min(max)]
}

fn wrong_arity(full_name: &str) -> String {
    format!("wrong number of arguments for '{full_name}' command")
}

/// `getLongLongFromObjectOrReply`.
fn int_arg(arg: &[u8]) -> Result<i64, &'static str> {
    parse_i64_strict(arg).ok_or(NOT_AN_INTEGER)
}

/// Milliseconds since the Unix epoch, for `EXAT`/`PXAT`.
fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The server-clock deadline of a Unix-time deadline in milliseconds (in
/// the past: the server clock's start).
fn server_deadline(now: u64, unix_ms: i64) -> u64 {
    let from_now = unix_ms.saturating_sub(unix_millis());
    if from_now >= 0 {
        now.saturating_add(from_now as u64)
    } else {
        now.saturating_sub(from_now.unsigned_abs())
    }
}
