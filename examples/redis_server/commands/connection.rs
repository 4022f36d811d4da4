//! Connection and server commands: `PING ECHO SELECT HELLO AUTH RESET
//! CLIENT COMMAND CONFIG INFO`. Besides the data commands, these are what
//! client libraries send when they connect.

use super::table::{COMMANDS, Spec, find};
use super::{After, Cx, REDIS_VERSION, glob_match, is, printed};
use crate::resp::{Args, parse_i64_strict, reply};

/// `PING [message]`; in RESP2 pub/sub mode the reply is `*2 pong <message>`.
pub fn ping(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() > 2 {
        return cx.error(format!("ERR {}", super::wrong_arity("ping")));
    }
    if cx.session.in_pubsub() && !cx.session.resp3 {
        reply::array(cx.out, 2);
        reply::bulk(cx.out, b"pong");
        reply::bulk(cx.out, if args.len() == 2 { args.arg(1) } else { b"" });
        return After::Continue;
    }
    if args.len() == 2 {
        return cx.bulk(args.arg(1));
    }
    reply::simple(cx.out, "PONG");
    After::Continue
}

/// `SELECT index`: only database 0 exists (as `databases 1` in Redis).
pub fn select(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match parse_i64_strict(args.arg(1)) {
        None => cx.error(super::NOT_AN_INTEGER),
        Some(n) if i32::try_from(n).is_err() => {
            cx.error("ERR value is out of range, value must between -2147483648 and 2147483647")
        }
        Some(0) => cx.ok(),
        Some(_) => cx.error("ERR DB index is out of range"),
    }
}

/// Redis's `default` user has no password: any password logs it in; any
/// other user is unknown.
fn authenticate(user: &[u8]) -> Result<(), &'static str> {
    if user == b"default" {
        Ok(())
    } else {
        Err("WRONGPASS invalid username-password pair or user is disabled.")
    }
}

/// `AUTH [username] password`.
pub fn auth(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match args.len() {
        2 => cx.error(
            "ERR AUTH <password> called without any password configured for the default \
             user. Are you sure your configuration is correct?",
        ),
        3 => match authenticate(args.arg(1)) {
            Ok(()) => cx.ok(),
            Err(e) => cx.error(e),
        },
        _ => cx.error(super::SYNTAX),
    }
}

/// `HELLO [protover [AUTH user pass] [SETNAME name]]`: switches the
/// connection to RESP2 or RESP3, and describes the server.
pub fn hello(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() >= 2 {
        match parse_i64_strict(args.arg(1)) {
            Some(2 | 3) => {}
            Some(_) => return cx.error("NOPROTO unsupported protocol version"),
            None => {
                return cx.error("ERR Protocol version is not an integer or out of range");
            }
        }
    }
    let (mut user, mut name) = (None, None);
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(args.arg(i), "AUTH") && more >= 2 {
            user = Some(args.arg(i + 1));
            i += 3;
        } else if is(args.arg(i), "SETNAME") && more >= 1 {
            name = Some(args.arg(i + 1));
            i += 2;
        } else {
            let mut message = b"ERR Syntax error in HELLO option '".to_vec();
            message.extend_from_slice(printed(args.arg(i), usize::MAX));
            message.push(b'\'');
            return cx.error(message);
        }
    }
    if let Some(Err(e)) = user.map(authenticate) {
        return cx.error(e);
    }
    if let Some(name) = name {
        if let Err(e) = set_name(cx, name) {
            return cx.error(e);
        }
    }
    if args.len() >= 2 {
        let resp3 = args.arg(1) == b"3";
        cx.session.resp3 = resp3;
        cx.db.pubsub.set_protocol(cx.session.id, resp3);
    }
    // A map (in RESP2, a flat array of field/value pairs).
    reply::map(cx.out, 7, cx.session.resp3);
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
            "proto" => reply::integer(cx.out, if cx.session.resp3 { 3 } else { 2 }),
            "id" => reply::integer(cx.out, cx.session.id as i64),
            "modules" => reply::array(cx.out, 0),
            _ => reply::bulk(cx.out, value.as_bytes()),
        }
    }
    After::Continue
}

/// `RESET`: back to a fresh connection's state (no transaction, no
/// watched key, no subscription, no name, RESP2).
pub fn reset(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    cx.session.multi = None;
    cx.db.watches.unwatch(cx.session.id);
    cx.db.pubsub.forget(cx.session.id);
    cx.session.subscriptions = 0;
    cx.session.name = None;
    cx.session.resp3 = false;
    reply::simple(cx.out, "RESET");
    After::Continue
}

/// `clientSetNameOrReply`: printable ASCII without spaces; empty clears.
fn set_name(cx: &mut Cx<'_>, name: &[u8]) -> Result<(), &'static str> {
    if !name.iter().all(|&b| (b'!'..=b'~').contains(&b)) {
        return Err("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    cx.session.name = (!name.is_empty()).then(|| name.to_vec());
    Ok(())
}

/// A container command (`CLIENT`, `CONFIG`) with no subcommand never gets
/// here: its arity (-2) asks for one, and `table::lookup` finds it.
pub fn container(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    cx.error("ERR a subcommand is needed")
}

/// `CLIENT SETINFO LIB-NAME|LIB-VER value` (Redis 7.2; what client
/// libraries send on connect).
pub fn client_setinfo(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let value = args.arg(3).to_vec();
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        let mut message = b"ERR ".to_vec();
        message.extend_from_slice(&printed(args.arg(2), usize::MAX).to_ascii_uppercase());
        message.extend_from_slice(b" cannot contain spaces, newlines or special characters.");
        return cx.error(message);
    }
    if is(args.arg(2), "LIB-NAME") {
        cx.session.lib_name = Some(value);
    } else if is(args.arg(2), "LIB-VER") {
        cx.session.lib_ver = Some(value);
    } else {
        let mut message = b"ERR Unrecognized option '".to_vec();
        message.extend_from_slice(printed(args.arg(2), usize::MAX));
        message.push(b'\'');
        return cx.error(message);
    }
    cx.ok()
}

pub fn client_setname(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match set_name(cx, args.arg(2)) {
        Ok(()) => cx.ok(),
        Err(e) => cx.error(e),
    }
}

pub fn client_getname(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    match cx.session.name.clone() {
        Some(name) => cx.bulk(&name),
        None => cx.nil(),
    }
}

pub fn client_id(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    cx.integer(cx.session.id as i64)
}

pub fn client_info(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    let field = |v: &Option<Vec<u8>>| {
        v.as_deref()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let info = format!(
        "id={} name={} db=0 sub={} multi={} lib-name={} lib-ver={}\n",
        cx.session.id,
        field(&cx.session.name),
        cx.session.subscriptions,
        cx.session.multi.as_ref().map_or(-1, |m| m.len() as i64),
        field(&cx.session.lib_name),
        field(&cx.session.lib_ver),
    );
    reply::verbatim(cx.out, info.as_bytes(), cx.session.resp3);
    After::Continue
}

/// A `HELP` subcommand's reply: one status line per entry.
fn help(cx: &mut Cx<'_>, command: &str, lines: &[&str]) -> After {
    reply::array(cx.out, lines.len() + 1);
    reply::simple(
        cx.out,
        &format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
    );
    for line in lines {
        reply::simple(cx.out, line);
    }
    After::Continue
}

pub fn client_help(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    help(
        cx,
        "CLIENT",
        &[
            "GETNAME",
            "ID",
            "INFO",
            "SETINFO <LIB-NAME|LIB-VER> <value>",
            "SETNAME <name>",
            "HELP",
        ],
    )
}

/// One command's entry in the Redis 7 `COMMAND` reply: name, arity, flags,
/// first key, last key, step, and (empty) ACL categories, tips, key specs
/// and subcommands.
fn command_entry(out: &mut Vec<u8>, spec: &Spec, resp3: bool) {
    reply::array(out, 10);
    reply::bulk(out, spec.full_name.as_bytes());
    reply::integer(out, i64::from(spec.arity));
    reply::set(out, spec.flags.len(), resp3);
    for flag in spec.flags {
        reply::simple(out, flag);
    }
    reply::integer(out, i64::from(spec.first_key));
    reply::integer(out, i64::from(spec.last_key));
    reply::integer(out, i64::from(spec.step));
    for _ in 0..3 {
        reply::array(out, 0);
    }
    reply::array(out, spec.subcommands.len());
    for sub in spec.subcommands {
        command_entry(out, sub, resp3);
    }
}

/// `COMMAND`: every command.
pub fn command_all(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    reply::array(cx.out, COMMANDS.len());
    for spec in COMMANDS {
        command_entry(cx.out, spec, cx.session.resp3);
    }
    After::Continue
}

pub fn command_count(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    cx.integer(COMMANDS.len() as i64)
}

pub fn command_list(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    reply::array(cx.out, COMMANDS.len());
    for spec in COMMANDS {
        reply::bulk(cx.out, spec.name.as_bytes());
    }
    After::Continue
}

/// `COMMAND INFO [name ...]`: the named commands (all of them if none is
/// named, as in Redis 7.0), `nil` for an unknown one.
pub fn command_info(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() == 2 {
        return command_all(cx, args);
    }
    reply::array(cx.out, args.len() - 2);
    for name in args.iter_from(2) {
        match find(COMMANDS, name) {
            Some(spec) => command_entry(cx.out, spec, cx.session.resp3),
            None => reply::null(cx.out, cx.session.resp3),
        }
    }
    After::Continue
}

/// `COMMAND DOCS` is not implemented: an error, which makes `redis-cli`
/// fall back to the help text it was built with (an empty reply would
/// leave its `HELP` empty).
pub fn command_docs(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let mut message = b"ERR unknown subcommand '".to_vec();
    message.extend_from_slice(printed(args.arg(1), 128));
    message.extend_from_slice(b"'. Try COMMAND HELP.");
    cx.error(message)
}

pub fn command_help(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    help(
        cx,
        "COMMAND",
        &[
            "(no subcommand)",
            "COUNT",
            "INFO [<command-name> ...]",
            "LIST",
            "HELP",
        ],
    )
}

/// `CONFIG GET pattern...` over the few settings clients ask about
/// (redis-benchmark asks for `save` and `appendonly`).
pub fn config_get(cx: &mut Cx<'_>, args: Args<'_>) -> After {
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
    reply::map(cx.out, matching.len(), cx.session.resp3);
    for (name, value) in matching {
        reply::bulk(cx.out, name.as_bytes());
        reply::bulk(cx.out, value.as_bytes());
    }
    After::Continue
}

pub fn config_resetstat(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    cx.db.commands_processed = 0;
    cx.ok()
}

pub fn config_help(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    help(
        cx,
        "CONFIG",
        &["GET <pattern> [<pattern> ...]", "RESETSTAT", "HELP"],
    )
}

pub fn info(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    let db = &cx.db;
    let info = format!(
        "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\n\
         server_name:{}\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n\r\n\
         # Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\npubsub_clients:{}\r\n\
         watching_clients:{}\r\ntotal_watched_keys:{}\r\n\r\n\
         # Stats\r\ntotal_commands_processed:{}\r\n\r\n\
         # Keyspace\r\ndb0:keys={},expires={},avg_ttl=0\r\n",
        db.config.server_name,
        std::process::id(),
        db.config.port,
        cx.now / 1000,
        db.clients,
        db.config.max_clients,
        db.subscribers(),
        db.watches.clients(),
        db.watches.keys(),
        db.commands_processed,
        db.len(),
        db.expiring(),
    );
    reply::verbatim(cx.out, info.as_bytes(), cx.session.resp3);
    After::Continue
}
