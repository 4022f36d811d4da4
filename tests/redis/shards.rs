//! The server split over two shards (`--threads 2`): connections on either
//! shard see one keyspace; split and keyspace-wide commands, transactions
//! bound to one shard, pub/sub across shards, pipelines in order, expiry on
//! the owner's timers, and `SHUTDOWN` stopping every shard.
//!
//! Which shard a connection is on follows from its `CLIENT ID`: shard `i`
//! of 2 hands out `i + 1`, `i + 3`, ... Keys tagged `{a}` live on shard 1,
//! `{b}` on shard 0.

use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Replies, TestServer, show};

/// A connection that the kernel gave to shard `shard` (of 2).
fn on_shard(server: &TestServer, shard: usize) -> Replies {
    for _ in 0..200 {
        let mut conn = Replies::connect(server.addr);
        let id = conn.call(&["CLIENT", "ID"]);
        let id: usize = std::str::from_utf8(&id[1..id.len() - 2])
            .unwrap()
            .parse()
            .unwrap();
        if (id - 1) % 2 == shard {
            return conn;
        }
    }
    panic!("200 connections and none on shard {shard}");
}

fn call(conn: &mut Replies, args: &[&str]) -> String {
    show(&conn.call(args))
}

#[test]
fn both_shards_see_one_keyspace() {
    let server = TestServer::sharded(2);
    let mut zero = on_shard(&server, 0);
    let mut one = on_shard(&server, 1);
    // Written through one shard, read through the other, both ways.
    assert_eq!(call(&mut zero, &["SET", "{a}k", "from zero"]), "+OK\\r\\n");
    assert_eq!(call(&mut one, &["SET", "{b}k", "from one"]), "+OK\\r\\n");
    assert_eq!(call(&mut one, &["GET", "{a}k"]), "$9\\r\\nfrom zero\\r\\n");
    assert_eq!(call(&mut zero, &["GET", "{b}k"]), "$8\\r\\nfrom one\\r\\n");
    assert_eq!(call(&mut zero, &["INCR", "{a}n"]), ":1\\r\\n");
    assert_eq!(call(&mut one, &["INCR", "{a}n"]), ":2\\r\\n");
    // Errors of a command run on the other shard come back as they are.
    assert_eq!(
        call(&mut zero, &["INCR", "{a}k"]),
        "-ERR value is not an integer or out of range\\r\\n"
    );
    assert_eq!(
        call(&mut zero, &["LPUSH", "{a}k", "x"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\\r\\n"
    );
    // Distinct client ids on the two shards.
    assert_ne!(
        call(&mut zero, &["CLIENT", "ID"]),
        call(&mut one, &["CLIENT", "ID"])
    );
}

#[test]
fn multi_key_commands_are_split_and_gathered_in_argument_order() {
    let server = TestServer::sharded(2);
    for shard in 0..2 {
        let mut conn = on_shard(&server, shard);
        assert_eq!(call(&mut conn, &["FLUSHALL"]), "+OK\\r\\n");
        assert_eq!(
            call(
                &mut conn,
                &["MSET", "{a}1", "x", "{b}2", "yy", "{a}3", "zzz"]
            ),
            "+OK\\r\\n"
        );
        assert_eq!(
            call(&mut conn, &["MGET", "{b}2", "{a}1", "none", "{a}3", "{b}2"]),
            "*5\\r\\n$2\\r\\nyy\\r\\n$1\\r\\nx\\r\\n$-1\\r\\n$3\\r\\nzzz\\r\\n$2\\r\\nyy\\r\\n"
        );
        // Duplicates count as in Redis: EXISTS counts each, DEL removes once.
        assert_eq!(
            call(&mut conn, &["EXISTS", "{a}1", "{b}2", "{a}1", "no"]),
            ":3\\r\\n"
        );
        assert_eq!(
            call(&mut conn, &["DEL", "{a}1", "{b}2", "{a}1", "no"]),
            ":2\\r\\n"
        );
        assert_eq!(call(&mut conn, &["UNLINK", "{a}3", "{b}2"]), ":1\\r\\n");
        // RESP3 nulls from the other shard's part.
        assert!(call(&mut conn, &["HELLO", "3"]).starts_with("%7"));
        assert_eq!(
            call(&mut conn, &["MGET", "{a}1", "{b}x"]),
            "*2\\r\\n_\\r\\n_\\r\\n"
        );
        // MSETNX is atomic over its keys: one shard's keys only.
        assert_eq!(
            call(&mut conn, &["MSETNX", "{a}1", "x", "{b}2", "y"]),
            "-CROSSSLOT Keys in request don\\'t hash to the same slot\\r\\n"
        );
        assert_eq!(
            call(&mut conn, &["MSETNX", "{a}1", "x", "{a}2", "y"]),
            ":1\\r\\n"
        );
        // An odd MSET is its own error, not a split.
        assert_eq!(
            call(&mut conn, &["MSET", "{a}1", "x", "{b}2"]),
            "-ERR wrong number of arguments for \\'mset\\' command\\r\\n"
        );
    }
}

#[test]
fn keyspace_wide_commands_cover_every_shard() {
    let server = TestServer::sharded(2);
    let mut conn = on_shard(&server, 0);
    for key in ["{a}1", "{a}2", "{b}1", "plain"] {
        assert_eq!(call(&mut conn, &["SET", key, "v"]), "+OK\\r\\n");
    }
    assert_eq!(call(&mut conn, &["DBSIZE"]), ":4\\r\\n");
    let keys = conn.call(&["KEYS", "*"]);
    let text = show(&keys);
    assert!(text.starts_with("*4\\r\\n"), "{text}");
    for key in ["{a}1", "{a}2", "{b}1", "plain"] {
        assert!(
            text.contains(&format!("\\r\\n{key}\\r\\n")),
            "{key} in {text}"
        );
    }
    assert_eq!(call(&mut conn, &["KEYS", "{a}*"]).matches("{a}").count(), 2);
    assert_eq!(call(&mut conn, &["FLUSHALL"]), "+OK\\r\\n");
    assert_eq!(call(&mut conn, &["DBSIZE"]), ":0\\r\\n");
    assert_eq!(call(&mut conn, &["KEYS", "*"]), "*0\\r\\n");
}

#[test]
fn a_transaction_runs_on_the_shard_of_its_keys() {
    let server = TestServer::sharded(2);
    let mut zero = on_shard(&server, 0);
    let mut one = on_shard(&server, 1);
    // Shard 0's connection, shard 1's keys: queued here, run there.
    assert_eq!(call(&mut zero, &["WATCH", "{a}k"]), "+OK\\r\\n");
    assert_eq!(call(&mut zero, &["MULTI"]), "+OK\\r\\n");
    assert_eq!(call(&mut zero, &["INCR", "{a}k"]), "+QUEUED\\r\\n");
    assert_eq!(call(&mut zero, &["INCR", "{a}j"]), "+QUEUED\\r\\n");
    assert_eq!(call(&mut zero, &["PING"]), "+QUEUED\\r\\n");
    assert_eq!(
        call(&mut zero, &["EXEC"]),
        "*3\\r\\n:1\\r\\n:1\\r\\n+PONG\\r\\n"
    );
    // WATCH on the other shard sees a write from a third connection.
    assert_eq!(call(&mut zero, &["WATCH", "{a}k"]), "+OK\\r\\n");
    assert_eq!(call(&mut one, &["SET", "{a}k", "theirs"]), "+OK\\r\\n");
    assert_eq!(call(&mut zero, &["MULTI"]), "+OK\\r\\n");
    assert_eq!(call(&mut zero, &["SET", "{a}k", "mine"]), "+QUEUED\\r\\n");
    assert_eq!(call(&mut zero, &["EXEC"]), "*-1\\r\\n");
    assert_eq!(call(&mut one, &["GET", "{a}k"]), "$6\\r\\ntheirs\\r\\n");
    // EXEC ended the watch: a later write does not fail the next one.
    assert_eq!(call(&mut zero, &["MULTI"]), "+OK\\r\\n");
    assert_eq!(call(&mut zero, &["SET", "{a}k", "mine"]), "+QUEUED\\r\\n");
    assert_eq!(call(&mut one, &["SET", "{a}k", "again"]), "+OK\\r\\n");
    assert_eq!(call(&mut zero, &["EXEC"]), "*1\\r\\n+OK\\r\\n");
    // Keys on two shards: CROSSSLOT, and the transaction fails.
    assert_eq!(call(&mut zero, &["MULTI"]), "+OK\\r\\n");
    assert_eq!(call(&mut zero, &["SET", "{a}k", "x"]), "+QUEUED\\r\\n");
    assert_eq!(
        call(&mut zero, &["GET", "{b}k"]),
        "-CROSSSLOT Keys in request don\\'t hash to the same slot\\r\\n"
    );
    assert_eq!(
        call(&mut zero, &["KEYS", "*"]),
        "-ERR KEYS cannot be part of a transaction while the keyspace is split over 2 shards\\r\\n"
    );
    assert_eq!(
        call(&mut zero, &["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\\r\\n"
    );
    assert_eq!(call(&mut one, &["GET", "{a}k"]), "$4\\r\\nmine\\r\\n");
    // WATCH of keys on two shards is refused; on one, bound there.
    assert_eq!(
        call(&mut zero, &["WATCH", "{a}k", "{b}k"]),
        "-CROSSSLOT Keys in request don\\'t hash to the same slot\\r\\n"
    );
    assert_eq!(call(&mut zero, &["WATCH", "{b}k"]), "+OK\\r\\n");
    assert_eq!(
        call(&mut zero, &["WATCH", "{a}k"]),
        "-CROSSSLOT Keys in request don\\'t hash to the same slot\\r\\n"
    );
    // UNWATCH frees the connection for another shard's keys.
    assert_eq!(call(&mut zero, &["UNWATCH"]), "+OK\\r\\n");
    assert_eq!(call(&mut zero, &["WATCH", "{a}k"]), "+OK\\r\\n");
    assert_eq!(
        call(&mut zero, &["DISCARD"]),
        "-ERR DISCARD without MULTI\\r\\n"
    );
}

/// `INFO`'s `watching_clients` on the connection's shard.
fn watching_clients(conn: &mut Replies) -> usize {
    let info = String::from_utf8(conn.call(&["INFO"])).unwrap();
    let line = info
        .lines()
        .find_map(|line| line.strip_prefix("watching_clients:"))
        .expect("INFO reports watching_clients");
    line.trim().parse().unwrap()
}

#[test]
fn a_closed_connection_leaves_no_watch_on_the_other_shard() {
    let server = TestServer::sharded(2);
    let mut one = on_shard(&server, 1);
    assert_eq!(watching_clients(&mut one), 0);
    // Connections of shard 0 watch keys of shard 1: the watches are there.
    let mut watchers: Vec<Replies> = (0..5).map(|_| on_shard(&server, 0)).collect();
    for zero in &mut watchers {
        assert_eq!(call(zero, &["WATCH", "{a}k", "{a}j"]), "+OK\\r\\n");
    }
    assert_eq!(watching_clients(&mut one), 5);
    // One ends its transaction; the others close without one.
    assert_eq!(call(&mut watchers[0], &["UNWATCH"]), "+OK\\r\\n");
    assert_eq!(watching_clients(&mut one), 4);
    drop(watchers);
    let until = Instant::now() + Duration::from_secs(5);
    while watching_clients(&mut one) != 0 {
        assert!(
            Instant::now() < until,
            "shard 1 still keeps closed clients' watches"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn publish_reaches_subscribers_on_every_shard() {
    let server = TestServer::sharded(2);
    let mut subscribers = [on_shard(&server, 0), on_shard(&server, 1)];
    for sub in &mut subscribers {
        assert_eq!(
            call(sub, &["SUBSCRIBE", "news"]),
            "*3\\r\\n$9\\r\\nsubscribe\\r\\n$4\\r\\nnews\\r\\n:1\\r\\n"
        );
    }
    for shard in 0..2 {
        let mut publisher = on_shard(&server, shard);
        assert_eq!(call(&mut publisher, &["PUBLISH", "news", "hi"]), ":2\\r\\n");
        for sub in &mut subscribers {
            assert_eq!(
                show(&sub.next().expect("the message")),
                "*3\\r\\n$7\\r\\nmessage\\r\\n$4\\r\\nnews\\r\\n$2\\r\\nhi\\r\\n"
            );
        }
    }
    // Messages from one publisher arrive in the order it sent them.
    let mut publisher = on_shard(&server, 1);
    let mut pipeline = Vec::new();
    for n in 0..100 {
        crate::resp::reply::request(&mut pipeline, &["PUBLISH", "news", &n.to_string()]);
    }
    publisher.send(&pipeline);
    for _ in 0..100 {
        assert_eq!(show(&publisher.next().unwrap()), ":2\\r\\n");
    }
    for sub in &mut subscribers {
        for n in 0..100 {
            let message = show(&sub.next().unwrap());
            assert!(message.ends_with(&format!("\\r\\n{n}\\r\\n")), "{message}");
        }
    }
}

#[test]
fn a_pipeline_over_both_shards_gets_its_replies_in_order() {
    let server = TestServer::sharded(2);
    let mut conn = on_shard(&server, 0);
    let mut pipeline = Vec::new();
    let mut expected = Vec::new();
    for n in 0..3000 {
        let key = format!("key:{n}");
        crate::resp::reply::request(&mut pipeline, &["SET", &key, &n.to_string()]);
        expected.push("+OK\\r\\n".to_string());
        crate::resp::reply::request(&mut pipeline, &["INCR", &key]);
        expected.push(format!(":{}\\r\\n", n + 1));
        if n % 100 == 0 {
            crate::resp::reply::request(&mut pipeline, &["DBSIZE"]);
            expected.push(format!(":{}\\r\\n", n + 1));
            crate::resp::reply::request(&mut pipeline, &["MGET", &key, "key:0"]);
            expected.push(format!(
                "*2\\r\\n${}\\r\\n{}\\r\\n$1\\r\\n1\\r\\n",
                (n + 1).to_string().len(),
                n + 1
            ));
        }
    }
    conn.send(&pipeline);
    for (i, want) in expected.iter().enumerate() {
        let got = show(&conn.next().expect("a reply"));
        assert_eq!(&got, want, "reply {i}");
    }
}

#[test]
fn a_key_expires_on_its_owners_timers() {
    let server = TestServer::sharded(2);
    let mut zero = on_shard(&server, 0);
    assert_eq!(
        call(&mut zero, &["SET", "{a}t", "v", "PX", "100"]),
        "+OK\\r\\n"
    );
    assert_eq!(
        call(&mut zero, &["SET", "{b}t", "v", "PX", "100"]),
        "+OK\\r\\n"
    );
    assert_eq!(call(&mut zero, &["DBSIZE"]), ":2\\r\\n");
    // The reapers remove them (DBSIZE counts keys due but not reaped yet).
    let until = Instant::now() + Duration::from_secs(5);
    while call(&mut zero, &["DBSIZE"]) != ":0\\r\\n" {
        assert!(Instant::now() < until, "the keys were never reaped");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(call(&mut zero, &["GET", "{a}t"]), "$-1\\r\\n");
}

#[test]
fn shutdown_on_either_shard_stops_them_all() {
    for shard in 0..2 {
        let server = TestServer::sharded(2);
        let mut others: Vec<Replies> = (0..2).map(|s| on_shard(&server, s)).collect();
        let mut stopper = on_shard(&server, shard);
        stopper.send(b"SHUTDOWN\r\n");
        // Every connection, on both shards, is closed.
        for conn in &mut others {
            assert!(conn.next().is_none(), "the connection was closed");
        }
        assert!(stopper.next().is_none());
        // Dropping the server joins its thread: every shard ended.
        drop(server);
    }
}

/// The `redis` crate against two shards: pipelines, a transaction of
/// hash-tagged keys, and many clients at once, each seeing its own writes.
#[test]
fn a_real_client_uses_two_shards_unchanged() {
    let server = TestServer::sharded(2);
    let mut con = server.client();
    let (a, b, total): (String, Option<String>, i64) = redis::pipe()
        .cmd("SET")
        .arg("user:1")
        .arg("ann")
        .ignore()
        .cmd("SET")
        .arg("user:2")
        .arg("bob")
        .ignore()
        .cmd("GET")
        .arg("user:1")
        .cmd("GET")
        .arg("user:3")
        .cmd("EXISTS")
        .arg(&["user:1", "user:2", "user:3"])
        .query(&mut con)
        .unwrap();
    assert_eq!((a.as_str(), b, total), ("ann", None, 2));
    // A transaction over keys that share a hash tag.
    let (balance, log): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCRBY")
        .arg("{acct:7}.balance")
        .arg(50)
        .cmd("RPUSH")
        .arg("{acct:7}.log")
        .arg("+50")
        .query(&mut con)
        .unwrap();
    assert_eq!((balance, log), (50, 1));
    // Many clients, on both shards, each counting its own keys.
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let addr = server.addr;
            thread::spawn(move || {
                let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
                let mut con = client.get_connection().unwrap();
                for n in 0..200 {
                    let key = format!("c{c}:k{n}");
                    let _: () = redis::cmd("SET").arg(&key).arg(n).query(&mut con).unwrap();
                    let back: i64 = redis::cmd("INCR").arg(&key).query(&mut con).unwrap();
                    assert_eq!(back, n + 1);
                }
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("c{c}:*"))
                    .query(&mut con)
                    .unwrap();
                assert_eq!(keys.len(), 200);
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 2 + 2 + 8 * 200);
}
