//! The command layer on arbitrary requests: the input is parsed as RESP
//! (inline or multibulk) and every request runs against one keyspace, from
//! two connections taking turns, on a clock that moves with the input.
//!
//! Checked: nothing panics, and every reply is well-formed RESP2 or RESP3.
#![no_main]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../examples/redis_server/commands/mod.rs"]
mod commands;
#[allow(dead_code, unused_imports)]
#[path = "../../examples/redis_server/resp/mod.rs"]
mod resp;

use commands::{After, Config, Db, Frame, Outbox};
use resp::{Limits, Parsed, Parser};

/// An outbox that keeps a few messages, then refuses (the subscriber is
/// slow), so the disconnect path runs too.
struct Queue(RefCell<Vec<Frame>>);

impl Outbox for Queue {
    fn offer(&self, frame: &Frame) -> bool {
        let mut queue = self.0.borrow_mut();
        queue.push(Rc::clone(frame));
        queue.len() < 4
    }

    fn disconnect(&self) {
        self.0.borrow_mut().clear();
    }
}

/// The length of the RESP2 or RESP3 value at the start of `out` (of the
/// types the server sends); panics if it is malformed.
fn value_len(out: &[u8]) -> usize {
    let line = out
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a line end")
        + 2;
    let number = || -> i64 {
        std::str::from_utf8(&out[1..line - 2])
            .unwrap()
            .parse()
            .unwrap()
    };
    match out[0] {
        b'+' | b'-' | b':' | b'_' => {
            assert!(!out[1..line - 2].contains(&b'\r') && !out[1..line - 2].contains(&b'\n'));
            line
        }
        b'$' | b'=' => match number() {
            -1 => line,
            len => {
                let end = line + len as usize;
                assert_eq!(&out[end..end + 2], b"\r\n");
                end + 2
            }
        },
        b'*' | b'~' | b'>' | b'%' => {
            let per_entry = if out[0] == b'%' { 2 } else { 1 };
            let mut at = line;
            for _ in 0..per_entry * number().max(0) {
                at += value_len(&out[at..]);
            }
            at
        }
        other => panic!("not a RESP type byte: {other}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bulk_len: 1024,
        max_args: 64,
        max_inline_len: 1024,
        max_request_len: 8192,
    };
    let mut config = Config::new("fuzz", 0, 10, limits);
    config.max_queued_bytes = 4096;
    let mut db = Db::new(config);
    let mut sessions = [db.new_session(), db.new_session()];
    let mut parser = Parser::new(limits);
    let mut at = 0;
    let mut clock = 0u64;
    let mut turn = 0;
    while at < data.len() {
        let (args, consumed) = match parser.parse(&data[at..]) {
            Parsed::Request { args, consumed } => (args, consumed),
            Parsed::Skip(n) => {
                at += n;
                continue;
            }
            Parsed::Incomplete { .. } | Parsed::Fatal(_) => break,
        };
        // The clock moves by the request's length, in milliseconds.
        clock += consumed as u64;
        let session = &mut sessions[turn];
        let mut out = Vec::new();
        let after = db.execute(args, session, Duration::from_millis(clock), &mut out);
        if session.needs_outbox() {
            db.attach_outbox(session, Rc::new(Queue(RefCell::new(Vec::new()))));
        }
        let mut read = 0;
        while read < out.len() {
            read += value_len(&out[read..]);
        }
        assert!(matches!(
            after,
            After::Continue | After::Close | After::Drop | After::Shutdown
        ));
        db.reap(Duration::from_millis(clock), 8);
        at += consumed;
        turn = 1 - turn;
    }
    for session in &mut sessions {
        db.end_session(session);
    }
    assert_eq!(db.subscribers(), 0);
});
