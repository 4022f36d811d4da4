//! The server on `N` shards (`--threads N`): one driver per thread, each
//! with its own part of the keyspace, all listening on one port.
//!
//! Every shard runs the one-shard server's task tree (`server.rs`: the
//! accept loop, the reaper, a task per connection, in one task scope) over
//! the keys that hash to it (`commands/route.rs`), plus a task that runs
//! the other shards' requests (`forward.rs`). The listeners share the port
//! with `SO_REUSEPORT`: the kernel spreads the connections over the
//! shards, and a connection stays on the shard that accepted it.
//!
//! `SHUTDOWN` on any connection stops every shard; [`ShardedServer::run`]
//! returns once each has closed its connections.
//!
//! `Options::max_clients` applies to each shard (the kernel does not spread
//! connections exactly evenly, so a global bound split `N` ways would
//! refuse clients below it); `INFO` reports the connection's own shard.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;

use coshare::driver::TcpListenOptions;
use coshare::driver::shards::{Shard, Shards, ShardsBuilder};
use coshare::driver::{Task, TcpListener};
use coshare::{Eff, Yields};
use socket2::{Domain, Socket, Type};

use crate::commands::{Config, Db};
use crate::forward::Message;
use crate::server::{Options, State, serve};

/// A server running on its shards.
pub struct ShardedServer {
    shards: Shards<()>,
    addr: SocketAddr,
}

impl ShardedServer {
    /// Starts `threads` shards listening on `options.addr` (port 0: a free
    /// port, the same for all), and returns once every one listens. With
    /// `pin`, each shard's thread runs on one CPU of its own
    /// (`ShardsBuilder::pin_to_cores`).
    pub fn start(options: Options, threads: usize, pin: bool) -> io::Result<ShardedServer> {
        // Holds the port (bound, not listening, so it takes no connection)
        // while the shards bind it: with port 0 they all get this one.
        let holder = Socket::new(Domain::for_address(options.addr), Type::STREAM, None)?;
        holder.set_reuse_address(true)?;
        holder.set_reuse_port(true)?;
        holder.bind(&options.addr.into())?;
        let addr = holder
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("the holder socket has no IP address"))?;
        let (bound, listening) = mpsc::channel::<io::Result<()>>();
        let config = Config::new("coshare", addr.port(), options.max_clients, options.limits);
        let mut builder = ShardsBuilder::new().shards(threads);
        if pin {
            builder = builder.pin_to_cores();
        }
        let shards = builder
            .start(
                move |_, _| State {
                    db: Db::new(config.clone()),
                },
                move |t: &mut Task<'_, State>, shard: Shard<Message, State>| {
                    shard_main(t, shard, addr, &options, &bound)
                },
                |_| (),
            )
            .map_err(|e| io::Error::other(e.to_string()))?;
        for _ in 0..threads {
            let result = listening
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("a shard ended before it listened")));
            if let Err(e) = result {
                shards.stop();
                drop(shards.join());
                return Err(e);
            }
        }
        drop(holder);
        Ok(ShardedServer { shards, addr })
    }

    /// The address every shard listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until a client sends `SHUTDOWN`; returns once every shard
    /// has closed its connections. `Err` names each shard that failed.
    pub fn run(self) -> Result<(), String> {
        let failures: Vec<String> = self
            .shards
            .join()
            .into_iter()
            .filter_map(|end| end.err().map(|failure| failure.to_string()))
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("\n"))
        }
    }
}

/// A shard's main task: its listener on the shared port, then the
/// one-shard server's task tree, with the task that answers the others.
fn shard_main(
    t: &mut Task<'_, State>,
    shard: Shard<Message, State>,
    addr: SocketAddr,
    options: &Options,
    bound: &mpsc::Sender<io::Result<()>>,
) -> Eff<Yields, ()> {
    let (mesh, inbox) = shard.into_parts();
    let listen = TcpListenOptions::new().backlog(511).reuse_port(true);
    let listener: TcpListener = match t.handle().tcp_listen_with(addr, &listen) {
        Ok(listener) => listener,
        Err(e) => {
            let _ = bound.send(Err(e));
            return Ok(());
        }
    };
    let (index, shards) = (mesh.index(), mesh.shards());
    t.with_state(|s| s.db.set_client_ids(index as u64 + 1, shards as u64));
    let reaper_wakeup = t.handle().notify();
    let settings = options.settings(t.handle(), &reaper_wakeup, Some(mesh));
    let _ = bound.send(Ok(()));
    serve(t, listener, settings, reaper_wakeup, Some(inbox))
}
