//! The server on a coshare driver: the server task, and in its task scope
//! the expiry reaper and one task per connection (`client.rs`), all
//! sharing one [`State`].
//!
//! The scope is what makes shutdown clean: no connection outlives the
//! server. On `SHUTDOWN` the server task stops accepting, cancels every
//! task of its scope (their pending waits return `Err(Interrupt)`, they
//! unwind and drop their sockets), and its scope returns once every one of
//! them has ended, so every connection is closed when `run` returns.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use coshare::SpawnOptions;
use coshare::driver::shards::Inbox;
use coshare::driver::{
    Deadlock, Driver, DriverHandle, Event, Instant, JoinHandle, Notify, Scope, Task,
    TcpListenOptions, TcpListener, wait,
};
use coshare::{Eff, Yields, select};
use frunk::hlist;

use crate::client::{self, Settings};
use crate::commands::{Config, Db};
use crate::forward::{self, Message, ShardMesh};
use crate::resp::Limits;

/// What every task shares: the keyspace.
pub struct State {
    /// The keyspace, the WATCH and pub/sub registries, and the counters.
    pub db: Db,
}

/// How to run a server.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to listen (port 0: any free port).
    pub addr: SocketAddr,
    /// Protocol limits (see `resp`).
    pub limits: Limits,
    /// Connections beyond this many get an error and are closed.
    pub max_clients: usize,
    /// The most messages queued for one subscriber that has not read them
    /// yet; one more and it is disconnected (see `client.rs`).
    pub max_pubsub_messages: usize,
    /// The most bytes of messages queued for one subscriber; past it, it
    /// is disconnected. Redis's `client-output-buffer-limit pubsub` hard
    /// limit, 32 MiB.
    pub max_pubsub_bytes: usize,
}

impl Options {
    /// Redis's defaults, on `127.0.0.1:port`.
    pub fn loopback(port: u16) -> Options {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            limits: Limits::default(),
            max_clients: 10_000,
            max_pubsub_messages: 64 * 1024,
            max_pubsub_bytes: 32 * 1024 * 1024,
        }
    }

    /// What the connection tasks of a driver are started with: these
    /// limits, the driver's reaper wake-up and stop event, and the other
    /// shards, if the keyspace is split.
    pub fn settings(
        &self,
        handle: &DriverHandle,
        reaper_wakeup: &Notify,
        mesh: Option<ShardMesh>,
    ) -> Settings {
        Settings {
            limits: self.limits,
            max_pubsub_messages: self.max_pubsub_messages,
            max_pubsub_bytes: self.max_pubsub_bytes,
            reaper_wakeup: reaper_wakeup.clone(),
            stop: handle.event(),
            mesh,
        }
    }
}

/// Keys the reaper removes before it lets the connections run again.
const REAP_BATCH: usize = 256;

/// A bound server, not running yet.
pub struct RedisServer {
    driver: Driver<State>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl RedisServer {
    /// Binds the listener and starts the server task (it runs once
    /// [`run`](Self::run) is called).
    ///
    /// Listens with Redis's backlog, 511.
    pub fn bind(options: Options) -> io::Result<RedisServer> {
        let config = Config::new(
            "coshare",
            options.addr.port(),
            options.max_clients,
            options.limits,
        );
        let mut driver = Driver::new(State {
            db: Db::new(config),
        });
        let listener = driver
            .handle()
            .tcp_listen_with(options.addr, &TcpListenOptions::new().backlog(511))?;
        let addr = listener.local_addr()?;
        driver.state().db.config.port = addr.port();
        let reaper_wakeup = driver.handle().notify();
        let settings = options.settings(driver.handle(), &reaper_wakeup, None);
        let server = driver
            .spawn_with(&SpawnOptions::new().name("server"), move |t| {
                serve(t, listener, settings, reaper_wakeup, None)
            })
            .map_err(|e| io::Error::other(e.error().to_string()))?;
        Ok(RedisServer {
            driver,
            addr,
            server,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until a client sends `SHUTDOWN`; returns once every
    /// connection is closed (see the module docs).
    pub fn run(mut self) -> Result<(), Deadlock> {
        if let Err(e) = self.driver.block_on(self.server)? {
            eprintln!("the server task ended: {e}");
        }
        Ok(())
    }
}

/// The server task: the reaper, the connections and, on a shard, the task
/// that answers the other shards, in one task scope.
pub fn serve(
    t: &mut Task<'_, State>,
    mut listener: TcpListener,
    settings: Settings,
    reaper_wakeup: Notify,
    inbox: Option<Inbox<Message>>,
) -> Eff<Yields, ()> {
    let stop = settings.stop.clone();
    let served = t.scope(|s| {
        let wakeup = reaper_wakeup.clone();
        let reaper_task = s.spawn_with(&SpawnOptions::new().name("reaper"), move |t| {
            reaper(t, wakeup)?;
            Ok(Ok(()))
        });
        if let Err(e) = reaper_task {
            eprintln!("cannot start the reaper: {}", e.error());
            return Ok(Ok(()));
        }
        if let Some(mut inbox) = inbox {
            let stop = stop.clone();
            let answering = s.spawn_with(&SpawnOptions::new().name("shards"), move |t| {
                forward::answer(t, &mut inbox, &reaper_wakeup, &stop)?;
                // The inbox closed: the shards are shutting down.
                stop.set();
                Ok(Ok(()))
            });
            if let Err(e) = answering {
                eprintln!(
                    "cannot start the task that answers other shards: {}",
                    e.error()
                );
                return Ok(Ok(()));
            }
        }
        accept_loop(s, &mut listener, &settings, &stop)?;
        // SHUTDOWN: stop the reaper and every connection; the scope waits
        // for their ends.
        s.cancel_all();
        Ok(Ok(()))
    })?;
    if let Err(failure) = served {
        // A connection task panicked: the scope stopped the others.
        eprintln!("the server stopped: {failure}");
    }
    Ok(())
}

/// Accepts connections and spawns a task for each into the server's
/// scope, until `stop` is set.
fn accept_loop(
    s: &mut Scope<'_, '_, State, Infallible>,
    listener: &mut TcpListener,
    settings: &Settings,
    stop: &Event,
) -> Eff<Yields, ()> {
    loop {
        let accepted = select!(s, {
            () = wait::event(stop) => return Ok(()),
            accepted = wait::accept(listener) => accepted,
        });
        let (mut conn, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: back off instead
                // of spinning, and keep serving the open connections.
                eprintln!("accept failed: {e}");
                s.sleep(Duration::from_millis(50))?;
                continue;
            }
        };
        let session = s.with_state(|st| {
            (st.db.clients < st.db.config.max_clients).then(|| {
                st.db.clients += 1;
                st.db.new_session()
            })
        });
        let Some(session) = session else {
            // A fresh socket has room for one short line.
            let _ = s.write(&mut conn, b"-ERR max number of clients reached\r\n")?;
            continue;
        };
        let settings = settings.clone();
        let options = SpawnOptions::new().name(format!("client {} {peer}", session.id));
        let spawned = s.spawn_with(&options, move |t| {
            client::connection(t, conn, session, settings)?;
            Ok(Ok(()))
        });
        if let Err(e) = spawned {
            // Out of stacks or memory maps: refuse this client only.
            eprintln!("cannot start a task for {peer}: {}", e.error());
            s.with_state(|st| st.db.clients -= 1);
        }
    }
}

/// Removes expired keys on the driver's timers: sleeps until the earliest
/// key is due, or until a command sets an earlier deadline. See `commands`.
fn reaper(t: &mut Task<'_, State>, wakeup: Notify) -> Eff<Yields, ()> {
    loop {
        let now = t.now().since_start();
        let reaped = t.with_state(|s| s.db.reap(now, REAP_BATCH));
        if reaped.more_due {
            // Many keys due at once: let the connections run in between.
            t.yield_now()?;
            continue;
        }
        match reaped.next {
            Some(next) => {
                t.select(hlist![
                    wait::notified(&wakeup),
                    wait::until(Instant::ZERO + next)
                ])?;
            }
            None => t.notified(&wakeup)?,
        }
    }
}
