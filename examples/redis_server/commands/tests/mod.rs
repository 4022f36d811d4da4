//! Unit tests of the commands, on a [`Db`] without any connection. The
//! expected replies are redis-server 7.0's (the differential test in
//! `tests/redis/diff/` checks many more against the real thing).
//!
//! `data`: strings, keys, expiry, lists, globs; `session`: what depends on
//! the connection (errors, `HELLO`, RESP3, transactions, pub/sub); `route`:
//! where requests run when the keyspace is split over shards.

mod data;
mod route;
mod session;

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
