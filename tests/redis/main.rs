//! The Redis example server (`examples/redis_server`) against real clients
//! and against a real `redis-server`:
//!
//! * `clients`: the `redis` crate, raw sockets and `redis-cli`;
//! * `protocol`: malformed and oversized input, with redis-server's replies
//!   and closing behaviour;
//! * `tx`: `MULTI`/`EXEC`/`WATCH` across connections;
//! * `pubsub`: subscribers, publishers, and the slow-subscriber limit;
//! * `shards`: the server split over two shards (`--threads 2`);
//! * `diff`: generated command sequences sent to this server (on one
//!   thread, and split over two shards) and to a real `redis-server`, reply
//!   bytes compared.
//!
//! Each test runs its own server on a thread, on a free loopback port, and
//! stops it with `SHUTDOWN`.
#![cfg(feature = "io")]

#[allow(dead_code)] // shared with the example; not every item is used here
#[path = "../../examples/redis_server/client.rs"]
mod client;
#[allow(dead_code)]
#[path = "../../examples/redis_server/commands/mod.rs"]
mod commands;
#[allow(dead_code)]
#[path = "../../examples/redis_server/forward.rs"]
mod forward;
#[allow(dead_code)]
#[path = "../../examples/redis_server/resp/mod.rs"]
mod resp;
#[allow(dead_code)]
#[path = "../../examples/redis_server/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../../examples/redis_server/sharded.rs"]
mod sharded;

#[allow(dead_code)] // each test binary uses its own part
mod support;

mod clients;
mod diff;
mod protocol;
mod pubsub;
mod shards;
mod tx;
