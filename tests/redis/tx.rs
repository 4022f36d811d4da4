//! `MULTI`/`EXEC`/`WATCH` across connections.

use std::thread;
use std::time::Duration;

use crate::support::{Replies, TestServer, int, show};

/// Each case: connection A watches `k` and queues a write; connection B
/// (or time) does something; A's `EXEC` fails with a null array or runs.
#[test]
fn watch_sees_writes_expiry_and_flushes() {
    let server = TestServer::start();
    let mut a = Replies::connect(server.addr);
    let mut b = Replies::connect(server.addr);
    let mut attempt = |a: &mut Replies, setup: &[&[&str]], other: &[&[&str]], wait: u64| {
        for command in setup {
            a.call(command);
        }
        assert_eq!(a.call(&["WATCH", "k"]), b"+OK\r\n");
        assert_eq!(a.call(&["MULTI"]), b"+OK\r\n");
        assert_eq!(a.call(&["SET", "k", "mine"]), b"+QUEUED\r\n");
        for command in other {
            b.call(command);
        }
        thread::sleep(Duration::from_millis(wait));
        show(&a.call(&["EXEC"]))
    };
    let ran = "*1\\r\\n+OK\\r\\n";
    let failed = "*-1\\r\\n";
    assert_eq!(attempt(&mut a, &[], &[], 0), ran);
    assert_eq!(attempt(&mut a, &[], &[&["GET", "k"]], 0), ran);
    assert_eq!(attempt(&mut a, &[], &[&["SET", "k", "theirs"]], 0), failed);
    assert_eq!(attempt(&mut a, &[], &[&["DEL", "k"]], 0), failed);
    // A write that changes nothing is still a write, as in Redis.
    assert_eq!(attempt(&mut a, &[], &[&["SET", "k", "mine"]], 0), failed);
    // Expiry: the key's deadline passes between WATCH and EXEC.
    assert_eq!(
        attempt(&mut a, &[&["SET", "k", "v", "PX", "50"]], &[], 150),
        failed
    );
    assert_eq!(
        attempt(
            &mut a,
            &[&["SET", "k", "v"]],
            &[&["PEXPIRE", "k", "10"]],
            100
        ),
        failed
    );
    // FLUSHALL fails the transaction if the key was there, not otherwise.
    assert_eq!(
        attempt(&mut a, &[&["SET", "k", "v"]], &[&["FLUSHALL"]], 0),
        failed
    );
    assert_eq!(attempt(&mut a, &[&["DEL", "k"]], &[&["FLUSHALL"]], 0), ran);
    // UNWATCH forgets; a failed EXEC forgets too.
    a.call(&["WATCH", "k"]);
    a.call(&["UNWATCH"]);
    b.call(&["SET", "k", "theirs"]);
    a.call(&["MULTI"]);
    a.call(&["INCR", "n"]);
    assert_eq!(a.call(&["EXEC"]), b"*1\r\n:1\r\n");
}

#[test]
fn queuing_errors_abort_the_transaction() {
    let server = TestServer::start();
    let mut a = Replies::connect(server.addr);
    let replies: Vec<String> = [
        &["MULTI"][..],
        &["SET", "k", "1"],
        &["NOSUCH"],
        &["EXEC"],
        &["GET", "k"],
        &["MULTI"],
        &["MULTI"],
        &["WATCH", "k"],
        &["INCR", "k"],
        &["DISCARD"],
        &["EXEC"],
        &["DISCARD"],
    ]
    .iter()
    .map(|c| String::from_utf8_lossy(&a.call(c)).into_owned())
    .collect();
    assert_eq!(
        replies,
        [
            "+OK\r\n",
            "+QUEUED\r\n",
            "-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
            "-EXECABORT Transaction discarded because of previous errors.\r\n",
            "$-1\r\n",
            "+OK\r\n",
            "-ERR MULTI calls can not be nested\r\n",
            "-ERR WATCH inside MULTI is not allowed\r\n",
            "+QUEUED\r\n",
            "+OK\r\n",
            "-ERR EXEC without MULTI\r\n",
            "-ERR DISCARD without MULTI\r\n",
        ]
    );
}

/// Transactions from many connections never interleave: a reader never
/// sees one of two counters moved without the other.
#[test]
fn transactions_are_atomic() {
    let server = TestServer::start();
    let addr = server.addr;
    let writers: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
                let mut con = client.get_connection().unwrap();
                for _ in 0..200 {
                    let (a, b): (i64, i64) = redis::pipe()
                        .atomic()
                        .cmd("INCR")
                        .arg("a")
                        .cmd("INCR")
                        .arg("b")
                        .query(&mut con)
                        .unwrap();
                    assert_eq!(a, b);
                }
            })
        })
        .collect();
    let mut con = server.client();
    let mut reads = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        let (a, b): (Option<i64>, Option<i64>) = redis::cmd("MGET")
            .arg("a")
            .arg("b")
            .query(&mut con)
            .unwrap();
        assert_eq!(a, b, "a transaction was seen half done");
        reads += 1;
    }
    for writer in writers {
        writer.join().unwrap();
    }
    assert!(reads > 0);
    assert_eq!(int(&mut con, &["GET", "a"]), 800);
}
