//! The command table: every command with the arity, flags and key
//! positions of redis-server 7.0 (what `COMMAND` reports), and the lookup
//! that turns a request into a table entry or Redis's error.

use super::{After, Cx, connection, keys, lists, printed, pubsub, strings, tx};
use crate::resp::Args;

/// How a command fares inside `MULTI`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Queued.
    Queued,
    /// Run at once even inside `MULTI`: `EXEC`, `DISCARD`, `MULTI`,
    /// `WATCH`, `QUIT`, `RESET`.
    RunsInMulti,
    /// Refused inside `MULTI` (and the transaction fails).
    NoMulti,
}

/// A command: name, arity and key positions as `COMMAND` reports them, and
/// the function that runs it.
pub struct Spec {
    /// Lower-case name.
    pub name: &'static str,
    /// What errors call it: the name, or `container|sub`.
    pub full_name: &'static str,
    /// Redis's convention: `n` exactly `n` arguments (the name included),
    /// `-n` at least `n`.
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// Inside `MULTI`.
    pub check: Check,
    /// Allowed while subscribed (RESP2 pub/sub mode).
    pub pubsub_context: bool,
    pub run: fn(&mut Cx<'_>, Args<'_>) -> After,
    /// For a container command (`CLIENT`, `CONFIG`, `COMMAND`): its
    /// subcommands, each with its own arity.
    pub subcommands: &'static [Spec],
}

const READ: &[&str] = &["readonly", "fast"];
const WRITE: &[&str] = &["write", "denyoom", "fast"];
const WRITE_SLOW: &[&str] = &["write"];
const ADMIN: &[&str] = &["noscript", "loading", "stale", "fast"];
const PUBSUB: &[&str] = &["pubsub", "noscript", "loading", "stale"];

macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $run:expr) => {
        spec!(
            $name,
            $name,
            $arity,
            $flags,
            $keys,
            $run,
            Check::Queued,
            false,
            &[]
        )
    };
    ($name:literal, $full:expr, $arity:expr, $flags:expr, $keys:expr, $run:expr,
     $check:expr, $pubsub:expr, $subs:expr) => {
        Spec {
            name: $name,
            full_name: $full,
            arity: $arity,
            flags: $flags,
            first_key: $keys.0,
            last_key: $keys.1,
            step: $keys.2,
            check: $check,
            pubsub_context: $pubsub,
            run: $run,
            subcommands: $subs,
        }
    };
}

const NO_KEYS: (i32, i32, i32) = (0, 0, 0);
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);

/// A subcommand of `$container`.
macro_rules! sub {
    ($container:literal, $name:literal, $arity:expr, $run:expr) => {
        spec!(
            $name,
            concat!($container, "|", $name),
            $arity,
            ADMIN,
            NO_KEYS,
            $run,
            Check::Queued,
            false,
            &[]
        )
    };
}

const CLIENT: &[Spec] = &[
    sub!("client", "setinfo", 4, connection::client_setinfo),
    sub!("client", "setname", 3, connection::client_setname),
    sub!("client", "getname", 2, connection::client_getname),
    sub!("client", "id", 2, connection::client_id),
    sub!("client", "info", 2, connection::client_info),
    sub!("client", "help", 2, connection::client_help),
];

const CONFIG: &[Spec] = &[
    sub!("config", "get", -3, connection::config_get),
    sub!("config", "resetstat", 2, connection::config_resetstat),
    sub!("config", "help", 2, connection::config_help),
];

const COMMAND: &[Spec] = &[
    sub!("command", "count", 2, connection::command_count),
    sub!("command", "list", 2, connection::command_list),
    sub!("command", "info", -2, connection::command_info),
    sub!("command", "docs", -2, connection::command_docs),
    sub!("command", "help", 2, connection::command_help),
];

/// Every command, the busiest first (lookup is a linear scan).
pub const COMMANDS: &[Spec] = &[
    spec!("get", 2, READ, ONE_KEY, strings::get),
    spec!("set", -3, WRITE, ONE_KEY, strings::set),
    spec!("incr", 2, WRITE, ONE_KEY, |cx, a| strings::incr_by(
        cx,
        a.arg(1),
        1
    )),
    spec!("mset", -3, WRITE, (1, -1, 2), strings::mset),
    spec!("mget", -2, READ, ALL_KEYS, strings::mget),
    spec!(
        "ping",
        "ping",
        -1,
        &["fast", "stale"],
        NO_KEYS,
        connection::ping,
        Check::Queued,
        true,
        &[]
    ),
    spec!("decr", 2, WRITE, ONE_KEY, |cx, a| strings::incr_by(
        cx,
        a.arg(1),
        -1
    )),
    spec!("incrby", 3, WRITE, ONE_KEY, strings::incrby),
    spec!("decrby", 3, WRITE, ONE_KEY, strings::decrby),
    spec!("del", -2, WRITE_SLOW, ALL_KEYS, keys::del),
    spec!("unlink", -2, WRITE, ALL_KEYS, keys::del),
    spec!("exists", -2, READ, ALL_KEYS, keys::exists),
    spec!("setnx", 3, WRITE, ONE_KEY, strings::setnx),
    spec!("msetnx", -3, WRITE, (1, -1, 2), strings::msetnx),
    spec!("append", 3, WRITE, ONE_KEY, strings::append),
    spec!("strlen", 2, READ, ONE_KEY, strings::strlen),
    spec!("expire", -3, WRITE, ONE_KEY, |cx, a| keys::expire(
        cx, a, 1000
    )),
    spec!("pexpire", -3, WRITE, ONE_KEY, |cx, a| keys::expire(
        cx, a, 1
    )),
    spec!("ttl", 2, READ, ONE_KEY, |cx, a| keys::ttl(cx, a, false)),
    spec!("pttl", 2, READ, ONE_KEY, |cx, a| keys::ttl(cx, a, true)),
    spec!("persist", 2, WRITE, ONE_KEY, keys::persist),
    spec!("type", 2, READ, ONE_KEY, keys::type_of),
    spec!("keys", 2, &["readonly"], NO_KEYS, keys::keys),
    spec!("dbsize", 1, READ, NO_KEYS, keys::dbsize),
    spec!("flushall", -1, WRITE_SLOW, NO_KEYS, keys::flush),
    spec!("flushdb", -1, WRITE_SLOW, NO_KEYS, keys::flush),
    spec!("lpush", -3, WRITE, ONE_KEY, |cx, a| lists::push(
        cx, a, true
    )),
    spec!("rpush", -3, WRITE, ONE_KEY, |cx, a| lists::push(
        cx, a, false
    )),
    spec!("lpop", -2, WRITE, ONE_KEY, |cx, a| lists::pop(cx, a, true)),
    spec!("rpop", -2, WRITE, ONE_KEY, |cx, a| lists::pop(cx, a, false)),
    spec!("llen", 2, READ, ONE_KEY, lists::llen),
    spec!("lrange", 4, &["readonly"], ONE_KEY, lists::lrange),
    spec!("echo", 2, &["fast"], NO_KEYS, |cx, a| cx.bulk(a.arg(1))),
    spec!(
        "select",
        2,
        &["loading", "stale", "fast"],
        NO_KEYS,
        connection::select
    ),
    spec!(
        "multi",
        "multi",
        1,
        &["noscript", "loading", "stale", "fast"],
        NO_KEYS,
        tx::multi,
        Check::RunsInMulti,
        false,
        &[]
    ),
    spec!(
        "exec",
        "exec",
        1,
        &["noscript", "loading", "stale", "skip_slowlog"],
        NO_KEYS,
        tx::exec,
        Check::RunsInMulti,
        false,
        &[]
    ),
    spec!(
        "discard",
        "discard",
        1,
        &["noscript", "loading", "stale", "fast"],
        NO_KEYS,
        tx::discard,
        Check::RunsInMulti,
        false,
        &[]
    ),
    spec!(
        "watch",
        "watch",
        -2,
        &["noscript", "loading", "stale", "fast"],
        ALL_KEYS,
        tx::watch,
        Check::RunsInMulti,
        false,
        &[]
    ),
    spec!(
        "unwatch",
        1,
        &["noscript", "loading", "stale", "fast"],
        NO_KEYS,
        tx::unwatch
    ),
    spec!(
        "publish",
        3,
        &["pubsub", "loading", "stale", "fast"],
        NO_KEYS,
        pubsub::publish
    ),
    spec!(
        "subscribe",
        "subscribe",
        -2,
        PUBSUB,
        NO_KEYS,
        |cx, a| pubsub::subscribe(cx, a, pubsub::Kind::Channel),
        Check::Queued,
        true,
        &[]
    ),
    spec!(
        "unsubscribe",
        "unsubscribe",
        -1,
        PUBSUB,
        NO_KEYS,
        |cx, a| pubsub::unsubscribe(cx, a, pubsub::Kind::Channel),
        Check::Queued,
        true,
        &[]
    ),
    spec!(
        "psubscribe",
        "psubscribe",
        -2,
        PUBSUB,
        NO_KEYS,
        |cx, a| pubsub::subscribe(cx, a, pubsub::Kind::Pattern),
        Check::Queued,
        true,
        &[]
    ),
    spec!(
        "punsubscribe",
        "punsubscribe",
        -1,
        PUBSUB,
        NO_KEYS,
        |cx, a| pubsub::unsubscribe(cx, a, pubsub::Kind::Pattern),
        Check::Queued,
        true,
        &[]
    ),
    spec!(
        "hello",
        -1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        NO_KEYS,
        connection::hello
    ),
    spec!(
        "client",
        "client",
        -2,
        &[],
        NO_KEYS,
        connection::container,
        Check::Queued,
        false,
        CLIENT
    ),
    spec!(
        "command",
        "command",
        -1,
        &["loading", "stale"],
        NO_KEYS,
        connection::command_all,
        Check::Queued,
        false,
        COMMAND
    ),
    spec!(
        "config",
        "config",
        -2,
        &[],
        NO_KEYS,
        connection::container,
        Check::Queued,
        false,
        CONFIG
    ),
    spec!("info", -1, &["loading", "stale"], NO_KEYS, connection::info),
    spec!(
        "auth",
        -2,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        NO_KEYS,
        connection::auth
    ),
    spec!(
        "reset",
        "reset",
        1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        NO_KEYS,
        connection::reset,
        Check::RunsInMulti,
        true,
        &[]
    ),
    spec!(
        "quit",
        "quit",
        -1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        NO_KEYS,
        |cx, _| {
            cx.ok();
            After::Close
        },
        Check::RunsInMulti,
        true,
        &[]
    ),
    spec!(
        "shutdown",
        "shutdown",
        -1,
        &["admin", "noscript", "loading", "stale"],
        NO_KEYS,
        |_, _| After::Shutdown,
        Check::NoMulti,
        false,
        &[]
    ),
];

/// The table entry for a name, in any case (Redis looks names up in a
/// hash table: every byte counts, a NUL included).
pub fn find(table: &'static [Spec], name: &[u8]) -> Option<&'static Spec> {
    table
        .iter()
        .find(|spec| name.eq_ignore_ascii_case(spec.name.as_bytes()))
}

/// The command (or subcommand) a request names, or Redis's error for it
/// (without its `ERR ` code).
pub fn lookup(args: Args<'_>) -> Result<&'static Spec, Vec<u8>> {
    let name = args.arg(0);
    let Some(spec) = find(COMMANDS, name) else {
        return Err(unknown_command(args));
    };
    if spec.subcommands.is_empty() || args.len() == 1 {
        return Ok(spec);
    }
    let sub = args.arg(1);
    find(spec.subcommands, sub).ok_or_else(|| {
        let mut message = b"unknown subcommand '".to_vec();
        message.extend_from_slice(printed(sub, 128));
        message.extend_from_slice(b"'. Try ");
        message.extend_from_slice(&printed(name, usize::MAX).to_ascii_uppercase());
        message.extend_from_slice(b" HELP.");
        message
    })
}

/// Redis's message, with the first arguments quoted: `'%.*s' ` each, while
/// fewer than 128 bytes are quoted.
fn unknown_command(args: Args<'_>) -> Vec<u8> {
    let mut quoted = Vec::new();
    for arg in args.iter_from(1) {
        if quoted.len() >= 128 {
            break;
        }
        quoted.push(b'\'');
        quoted.extend_from_slice(printed(arg, 128 - (quoted.len() - 1)));
        quoted.extend_from_slice(b"' ");
    }
    let mut message = b"unknown command '".to_vec();
    message.extend_from_slice(printed(args.arg(0), 128));
    message.extend_from_slice(b"', with args beginning with: ");
    message.extend_from_slice(&quoted);
    message
}
