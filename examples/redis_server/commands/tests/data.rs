//! Strings, keys, expiry, lists and globs.

use super::*;

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
