//! Unit tests of the commands, on a [`Db`] without any connection. The
//! expected replies are redis-server 7.0's (the differential test in
//! `tests/redis/diff.rs` checks many more against the real thing).

use std::time::Duration;

use super::*;
use crate::resp::{Parsed, Parser};

fn db() -> Db {
    Db::new(Config::new("test", 0, 10, Limits::default()))
}

/// Runs inline commands for `session` at `now_ms`; the raw replies.
fn run_as(db: &mut Db, session: &mut Session, now_ms: u64, commands: &[&str]) -> Vec<String> {
    let mut parser = Parser::new(Limits::default());
    commands
        .iter()
        .map(|line| {
            let line = format!("{line}\r\n");
            let Parsed::Request { args, .. } = parser.parse(line.as_bytes()) else {
                panic!("not a request: {line}")
            };
            let mut out = Vec::new();
            db.execute(args, session, Duration::from_millis(now_ms), &mut out);
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect()
}

/// Runs inline commands on a fresh session.
fn run(db: &mut Db, now_ms: u64, commands: &[&str]) -> Vec<String> {
    let mut session = db.new_session();
    run_as(db, &mut session, now_ms, commands)
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
                "DECRBY n -9223372036854775808",
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
            "-ERR decrement would overflow\r\n",
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

/// Redis's option rules for `SET`: a unit may repeat, two units or a unit
/// and `KEEPTTL` may not; option errors come before number errors.
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
                "SET k v EX 10 EX 20",
                "TTL k",
                "SET k v KEEPTTL KEEPTTL",
                "TTL k",
                "SET k v EX abc PX 5",
                "SET k v EX abc",
                "SET k v EX 0",
                "SET k v PX -1",
                "SET k v BOGUS",
                "SET k v NX XX",
                "SET k v NX NX GET GET",
                "SET k v EX 10 KEEPTTL",
                "SET k v KEEPTTL EX 10",
                "SET k v EX",
                "SET k v PX 9223372036854775807",
                "SET k v EX 9223372036854775",
                "SET k v EX 9223372036854776",
                "SET k v PXAT 9223372036854775807",
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
            "+OK\r\n",
            ":20\r\n",
            "+OK\r\n",
            ":20\r\n",
            "-ERR syntax error\r\n",
            "-ERR value is not an integer or out of range\r\n",
            "-ERR invalid expire time in 'set' command\r\n",
            "-ERR invalid expire time in 'set' command\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            "$1\r\nv\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            "-ERR syntax error\r\n",
            "-ERR invalid expire time in 'set' command\r\n",
            "-ERR invalid expire time in 'set' command\r\n",
            "-ERR invalid expire time in 'set' command\r\n",
            "+OK\r\n",
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

/// Whole milliseconds, and a key lives through its deadline's millisecond
/// (Redis: expired when `now > when`).
#[test]
fn expiry_is_in_whole_milliseconds() {
    let mut db = db();
    let mut session = db.new_session();
    let at = |ms: u64, micros: u64| Duration::from_millis(ms) + Duration::from_micros(micros);
    let mut run_at = |db: &mut Db, now: Duration, line: &str| {
        let line = format!("{line}\r\n");
        let mut parser = Parser::new(Limits::default());
        let Parsed::Request { args, .. } = parser.parse(line.as_bytes()) else {
            panic!()
        };
        let mut out = Vec::new();
        db.execute(args, &mut session, now, &mut out);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(run_at(&mut db, at(10, 900), "SET k v PX 100"), "+OK\r\n");
    assert_eq!(run_at(&mut db, at(110, 999), "PTTL k"), ":0\r\n");
    assert_eq!(run_at(&mut db, at(110, 999), "GET k"), "$1\r\nv\r\n");
    assert_eq!(run_at(&mut db, at(111, 0), "GET k"), "$-1\r\n");
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
    assert_eq!(db.next_deadline(), Some(100));
    // Lazy: a read after the deadline does not see the key.
    assert_eq!(
        run(&mut db, 150, &["GET a", "TTL a", "EXISTS a b", "DBSIZE"]),
        ["$-1\r\n", ":-2\r\n", ":1\r\n", ":3\r\n"]
    );
    // Active: the reaper removes what is due, within its budget.
    assert_eq!(
        db.reap(Duration::from_millis(350), 1),
        super::keyspace::Reaped {
            removed: 1,
            more_due: true,
            next: Some(Duration::from_millis(301))
        }
    );
    assert_eq!(
        db.reap(Duration::from_millis(350), 10),
        super::keyspace::Reaped {
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
                "EXPIRE k 5 GT LT",
                "EXPIRE k 5 BOGUS",
                "EXPIRE k x BOGUS",
                "EXPIRE k x",
                "PERSIST k",
                "PERSIST k",
                "TTL k",
                "EXPIRE k 9223372036854775807",
                "EXPIRE k 9223372036854774",
                "PEXPIRE k 9223372036854775807",
                "EXPIRE k -9223372036854775808",
                "EXISTS k",
                "SET k v",
                "EXPIRE k 0",
                "EXISTS k",
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
            "-ERR GT and LT options at the same time are not compatible\r\n",
            "-ERR Unsupported option BOGUS\r\n",
            "-ERR Unsupported option BOGUS\r\n",
            "-ERR value is not an integer or out of range\r\n",
            ":1\r\n",
            ":0\r\n",
            ":-1\r\n",
            "-ERR invalid expire time in 'expire' command\r\n",
            "-ERR invalid expire time in 'expire' command\r\n",
            "-ERR invalid expire time in 'pexpire' command\r\n",
            "-ERR invalid expire time in 'expire' command\r\n",
            ":1\r\n",
            "+OK\r\n",
            ":1\r\n",
            ":0\r\n",
        ]
    );
    assert_eq!(db.expiring(), 0, "the index follows the keys");
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
                "LRANGE l x 1",
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
                "LPOP l 0",
                "RPOP l -1",
                "RPOP l 5",
                "EXISTS l",
                "LPOP l 1",
                "LPOP l",
                "LPOP l 1 2",
            ]
        ),
        [
            ":3\r\n",
            ":4\r\n",
            "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
            "*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
            "-ERR value is not an integer or out of range\r\n",
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
            "*0\r\n",
            "-ERR value is out of range, must be positive\r\n",
            "*1\r\n$1\r\na\r\n",
            ":0\r\n",
            "*-1\r\n",
            "$-1\r\n",
            "-ERR wrong number of arguments for 'lpop' command\r\n",
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
                "Ping hi",
                "CLIENT",
                "CLIENT FOO",
                "client getname x",
                "config get",
                "SELECT x",
                "SELECT 99999999999",
                "SELECT -1",
            ]
        ),
        [
            "-ERR wrong number of arguments for 'get' command\r\n",
            "-ERR wrong number of arguments for 'get' command\r\n",
            "-ERR wrong number of arguments for 'ping' command\r\n",
            "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n",
            "+PONG\r\n",
            "$2\r\nhi\r\n",
            "-ERR wrong number of arguments for 'client' command\r\n",
            "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
            "-ERR wrong number of arguments for 'client|getname' command\r\n",
            "-ERR wrong number of arguments for 'config|get' command\r\n",
            "-ERR value is not an integer or out of range\r\n",
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
            "-ERR DB index is out of range\r\n",
        ]
    );
}

/// Redis quotes arguments into errors as raw bytes, up to a NUL.
#[test]
fn errors_quote_raw_bytes() {
    let mut db = db();
    let mut session = db.new_session();
    let mut out = Vec::new();
    let long = vec![b'x'; 200];
    let args = crate::resp::OwnedArgs::from_slices(&[
        &b"N\xffO\0pe"[..],
        b"a\0b",
        b"\r\n",
        &long,
        b"never",
    ]);
    db.execute(args.args(), &mut session, Duration::ZERO, &mut out);
    let mut expected =
        b"-ERR unknown command 'N\xffO', with args beginning with: 'a' '  ' '".to_vec();
    expected.extend_from_slice(&long[..128 - 9]);
    expected.extend_from_slice(b"' \r\n");
    assert_eq!(
        out.escape_ascii().to_string(),
        expected.escape_ascii().to_string()
    );
}

#[test]
fn connection_commands() {
    let mut db = db();
    let replies = run(
        &mut db,
        0,
        &[
            "HELLO 4",
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
            "AUTH default secret",
            "AUTH someone secret",
            "COMMAND DOCS get",
            "RESET",
            "CLIENT GETNAME",
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
    assert_eq!(replies[9], format!(":{}\r\n", table::COMMANDS.len()));
    assert_eq!(replies[10], "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    assert_eq!(replies[11], "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    assert_eq!(replies[12], "+OK\r\n");
    assert_eq!(
        replies[13],
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        replies[14],
        "-ERR unknown subcommand 'DOCS'. Try COMMAND HELP.\r\n"
    );
    assert_eq!(replies[15], "+RESET\r\n");
    assert_eq!(replies[16], "$-1\r\n");
    assert_eq!(replies[17], "+OK\r\n");
}

/// After `HELLO 3`: nulls, maps, pushes, and no pub/sub context.
#[test]
fn resp3_replies() {
    let mut db = db();
    let replies = run(
        &mut db,
        0,
        &[
            "HELLO 3",
            "GET nope",
            "LPOP nope 2",
            "MGET nope",
            "CONFIG GET appendonly",
            "SUBSCRIBE ch",
            "GET nope",
            "PING",
            "UNSUBSCRIBE",
            "UNSUBSCRIBE",
            "RESET",
            "GET nope",
        ],
    );
    assert!(replies[0].starts_with("%7\r\n$6\r\nserver\r\n"));
    assert!(replies[0].contains("$5\r\nproto\r\n:3\r\n"));
    assert_eq!(
        &replies[1..],
        [
            "_\r\n",
            "_\r\n",
            "*1\r\n_\r\n",
            "%1\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
            ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
            "_\r\n",
            "+PONG\r\n",
            ">3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n",
            ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n",
            "+RESET\r\n",
            "$-1\r\n",
        ]
    );
}

#[test]
fn transactions() {
    let mut db = db();
    let mut a = db.new_session();
    let mut b = db.new_session();
    assert_eq!(
        run_as(
            &mut db,
            &mut a,
            0,
            &[
                "MULTI",
                "MULTI",
                "SET k 1",
                "INCR k",
                "LPUSH k x",
                "GET k",
                "EXEC"
            ]
        ),
        [
            "+OK\r\n",
            "-ERR MULTI calls can not be nested\r\n",
            "+QUEUED\r\n",
            "+QUEUED\r\n",
            "+QUEUED\r\n",
            "+QUEUED\r\n",
            &format!("*4\r\n+OK\r\n:2\r\n-{WRONGTYPE}\r\n$1\r\n2\r\n"),
        ]
    );
    // A queuing error aborts the transaction; EXEC and DISCARD outside it.
    assert_eq!(
        run_as(
            &mut db,
            &mut a,
            0,
            &[
                "MULTI", "SET k 2", "GET", "SHUTDOWN", "EXEC", "EXEC", "DISCARD", "GET k", "EXEC x"
            ]
        ),
        [
            "+OK\r\n",
            "+QUEUED\r\n",
            "-ERR wrong number of arguments for 'get' command\r\n",
            "-ERR Command not allowed inside a transaction\r\n",
            "-EXECABORT Transaction discarded because of previous errors.\r\n",
            "-ERR EXEC without MULTI\r\n",
            "-ERR DISCARD without MULTI\r\n",
            "$1\r\n2\r\n",
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
        ]
    );
    // WATCH: another connection's write, an expiry, a FLUSHALL of a key
    // that was there each fail the transaction; a FLUSHALL of a missing
    // key does not.
    let watched = |db: &mut Db, a: &mut Session, b: &mut Session, other: &[&str], now: u64| {
        run_as(db, a, 0, &["WATCH w", "MULTI", "SET w mine"]);
        run_as(db, b, 0, other);
        run_as(db, a, now, &["EXEC"]).remove(0)
    };
    assert_eq!(
        watched(&mut db, &mut a, &mut b, &["SET w theirs"], 0),
        "*-1\r\n"
    );
    assert_eq!(
        watched(&mut db, &mut a, &mut b, &["GET w"], 0),
        "*1\r\n+OK\r\n"
    );
    assert_eq!(
        watched(&mut db, &mut a, &mut b, &["PEXPIRE w 10"], 0),
        "*-1\r\n"
    );
    run_as(&mut db, &mut b, 0, &["SET w v PX 10"]);
    assert_eq!(watched(&mut db, &mut a, &mut b, &[], 20), "*-1\r\n");
    run_as(&mut db, &mut b, 20, &["SET w v"]);
    assert_eq!(
        watched(&mut db, &mut a, &mut b, &["FLUSHALL"], 0),
        "*-1\r\n"
    );
    assert_eq!(
        watched(&mut db, &mut a, &mut b, &["FLUSHALL"], 0),
        "*1\r\n+OK\r\n"
    );
    assert_eq!(
        run_as(&mut db, &mut a, 0, &["MULTI", "WATCH x", "EXEC"]),
        [
            "+OK\r\n",
            "-ERR WATCH inside MULTI is not allowed\r\n",
            "*0\r\n"
        ]
    );
}

/// What `PUBLISH` delivers, with replies and messages as Redis shapes them.
#[test]
fn pubsub_replies() {
    let mut db = db();
    let mut a = db.new_session();
    assert_eq!(
        run_as(
            &mut db,
            &mut a,
            0,
            &[
                "UNSUBSCRIBE",
                "SUBSCRIBE ch other ch",
                "PSUBSCRIBE c*",
                "GET k",
                "PING",
                "PING x",
                "PUNSUBSCRIBE",
                "UNSUBSCRIBE",
                "PING",
            ]
        ),
        [
            "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
            "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n\
             *3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:2\r\n\
             *3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:2\r\n",
            "*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:3\r\n",
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
             RESET are allowed in this context\r\n",
            "*2\r\n$4\r\npong\r\n$0\r\n\r\n",
            "*2\r\n$4\r\npong\r\n$1\r\nx\r\n",
            "*3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:2\r\n",
            "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n\
             *3\r\n$11\r\nunsubscribe\r\n$5\r\nother\r\n:0\r\n",
            "+PONG\r\n",
        ]
    );
    // Inside EXEC, a message to the publisher itself lands in its reply.
    assert_eq!(
        run_as(
            &mut db,
            &mut a,
            0,
            &["MULTI", "SUBSCRIBE c", "PUBLISH c hi", "EXEC"]
        )[3],
        "*2\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n\
         *3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n:1\r\n"
    );
    db.end_session(&mut a);
    assert_eq!(db.subscribers(), 0);
}

#[test]
fn globs() {
    let cases: &[(&str, &str, bool)] = &[
        ("*", "", false),
        ("", "", true),
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
        ("a\\", "a\\", true),
        ("[a-]", "]", true),
    ];
    for &(pattern, string, expected) in cases {
        assert_eq!(
            glob_match(pattern.as_bytes(), string.as_bytes()),
            expected,
            "{pattern:?} vs {string:?}"
        );
    }
    // Ranges compare signed chars: 0xff is -1, below 'a'.
    assert!(glob_match(b"[\xff-a]", b"Z"));
    assert!(!glob_match(b"[a-z]", b"\xe9"));
    // Many stars cost no stack.
    let pattern = "*a".repeat(100_000);
    assert!(!glob_match(pattern.as_bytes(), &[b'a'; 1000]));
}
