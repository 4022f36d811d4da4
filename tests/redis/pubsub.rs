//! Pub/sub across connections: delivery, the RESP2 subscribed context, a
//! real client's pub/sub API, and the slow-subscriber limit.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::server::Options;
use crate::support::{Replies, TestServer, show};

fn message(channel: &str, payload: &str) -> String {
    format!(
        "*3\\r\\n$7\\r\\nmessage\\r\\n${}\\r\\n{channel}\\r\\n${}\\r\\n{payload}\\r\\n",
        channel.len(),
        payload.len()
    )
}

#[test]
fn subscribers_get_what_is_published() {
    let server = TestServer::start();
    let mut sub = Replies::connect(server.addr);
    let mut other = Replies::connect(server.addr);
    let mut publisher = Replies::connect(server.addr);
    assert_eq!(
        show(&sub.call(&["SUBSCRIBE", "news"])),
        "*3\\r\\n$9\\r\\nsubscribe\\r\\n$4\\r\\nnews\\r\\n:1\\r\\n"
    );
    assert_eq!(
        show(&sub.call(&["PSUBSCRIBE", "n*"])),
        "*3\\r\\n$10\\r\\npsubscribe\\r\\n$2\\r\\nn*\\r\\n:2\\r\\n"
    );
    other.call(&["SUBSCRIBE", "news"]);
    assert_eq!(publisher.call(&["PUBLISH", "news", "hello"]), b":3\r\n");
    assert_eq!(publisher.call(&["PUBLISH", "nothing", "x"]), b":1\r\n");
    assert_eq!(publisher.call(&["PUBLISH", "sports", "x"]), b":0\r\n");
    assert_eq!(show(&sub.next().unwrap()), message("news", "hello"));
    assert_eq!(
        show(&sub.next().unwrap()),
        "*4\\r\\n$8\\r\\npmessage\\r\\n$2\\r\\nn*\\r\\n$4\\r\\nnews\\r\\n$5\\r\\nhello\\r\\n"
    );
    assert_eq!(
        show(&sub.next().unwrap()),
        "*4\\r\\n$8\\r\\npmessage\\r\\n$2\\r\\nn*\\r\\n$7\\r\\nnothing\\r\\n$1\\r\\nx\\r\\n"
    );
    assert_eq!(show(&other.next().unwrap()), message("news", "hello"));
    // The RESP2 subscribed context.
    assert_eq!(
        String::from_utf8(sub.call(&["GET", "k"])).unwrap(),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
         RESET are allowed in this context\r\n"
    );
    assert_eq!(
        show(&sub.call(&["PING"])),
        "*2\\r\\n$4\\r\\npong\\r\\n$0\\r\\n\\r\\n"
    );
    // Messages published while a subscriber's request is in flight come
    // before that request's reply, as they would from Redis.
    publisher.call(&["PUBLISH", "news", "first"]);
    assert_eq!(
        show(&sub.call(&["PING", "after"])),
        message("news", "first")
    );
    assert_eq!(
        show(&sub.next().unwrap()),
        "*4\\r\\n$8\\r\\npmessage\\r\\n$2\\r\\nn*\\r\\n$4\\r\\nnews\\r\\n$5\\r\\nfirst\\r\\n"
    );
    assert_eq!(
        show(&sub.next().unwrap()),
        "*2\\r\\n$4\\r\\npong\\r\\n$5\\r\\nafter\\r\\n"
    );
    assert_eq!(show(&sub.call(&["RESET"])), "+RESET\\r\\n");
    assert_eq!(publisher.call(&["PUBLISH", "news", "x"]), b":1\r\n");
    assert_eq!(sub.call(&["GET", "k"]), b"$-1\r\n");
}

/// The `redis` crate's pub/sub API works against the server.
#[test]
fn a_client_library_subscribes() {
    let server = TestServer::start();
    let mut sub_con = server.client();
    let mut pub_con = server.client();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.subscribe("events").unwrap();
    pubsub.psubscribe("ev*").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("events")
        .arg("payload")
        .query(&mut pub_con)
        .unwrap();
    assert_eq!(receivers, 2);
    let first = pubsub.get_message().unwrap();
    assert_eq!(first.get_channel_name(), "events");
    assert_eq!(first.get_payload::<String>().unwrap(), "payload");
    let second = pubsub.get_message().unwrap();
    assert_eq!(second.get_pattern::<String>().unwrap(), "ev*");
    pubsub.unsubscribe("events").unwrap();
    pubsub.punsubscribe("ev*").unwrap();
}

/// A subscriber that stops reading is disconnected once its queue is
/// full, and loses its subscriptions; a subscriber that reads keeps up and
/// gets every message. The publisher never waits.
#[test]
fn a_slow_subscriber_is_disconnected() {
    let mut options = Options::loopback(0);
    options.max_pubsub_messages = 1000;
    options.max_pubsub_bytes = 256 * 1024;
    let server = TestServer::with_options(options);
    let mut slow = Replies::connect(server.addr);
    slow.call(&["SUBSCRIBE", "firehose"]);
    let mut fast = Replies::connect(server.addr);
    fast.call(&["SUBSCRIBE", "firehose"]);
    let mut publisher = Replies::connect(server.addr);
    let payload = "x".repeat(16 * 1024);
    let started = Instant::now();
    let mut published = 0;
    // Enough to fill the slow subscriber's socket buffers and its queue.
    while published < 4000 {
        let receivers = publisher.call(&["PUBLISH", "firehose", &payload]);
        published += 1;
        assert_eq!(show(&fast.next().unwrap()), message("firehose", &payload));
        if receivers == b":1\r\n" {
            break; // the slow one is gone
        }
        assert_eq!(receivers, b":2\r\n");
    }
    assert!(published < 4000, "the slow subscriber was never cut off");
    assert!(started.elapsed() < Duration::from_secs(20));
    // The slow subscriber's connection is closed: what it can still read
    // is what was sent before, then EOF.
    let mut rest = Vec::new();
    slow.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.stream
        .read_to_end(&mut rest)
        .expect("closed, not timed out");
    assert!(rest.len() < published * (payload.len() + 64));
    // The fast one is still subscribed and served.
    assert_eq!(publisher.call(&["PUBLISH", "firehose", "end"]), b":1\r\n");
    assert_eq!(show(&fast.next().unwrap()), message("firehose", "end"));
}
