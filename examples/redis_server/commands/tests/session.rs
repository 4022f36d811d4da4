//! What depends on the connection: errors, `HELLO`, RESP3, transactions,
//! pub/sub.

use super::*;

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
