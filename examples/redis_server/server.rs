//! The server on a coshare driver: an accept task, one task per
//! connection (`client.rs`), and the expiry reaper, all sharing one
//! [`State`].

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use coshare::SpawnOptions;
use coshare::driver::{
    Deadlock, Driver, Instant, Notify, Task, TcpListenOptions, TcpListener, wait,
};
use coshare::{Eff, Yields};
use frunk::hlist;

use crate::client::{self, Settings};
use crate::commands::{Config, Db};
use crate::resp::Limits;

/// What every task shares: the keyspace, and whether a client asked the
/// server to stop.
pub struct State {
    /// The keyspace, the WATCH and pub/sub registries, and the counters.
    pub db: Db,
    /// Set by `SHUTDOWN`; the main loop stops when it is.
    pub shutdown: bool,
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
}

/// Keys the reaper removes before it lets the connections run again.
const REAP_BATCH: usize = 256;

/// A bound server, not running yet.
pub struct RedisServer {
    driver: Driver<State>,
    addr: SocketAddr,
}

impl RedisServer {
    /// Binds the listener and starts the accept and reaper tasks (they run
    /// once [`run`](Self::run) is called).
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
            shutdown: false,
        });
        let listener = driver
            .handle()
            .tcp_listen_with(options.addr, &TcpListenOptions::new().backlog(511))?;
        let addr = listener.local_addr()?;
        driver.state().db.config.port = addr.port();
        let reaper_wakeup = driver.handle().notify();
        let settings = Settings {
            limits: options.limits,
            max_pubsub_messages: options.max_pubsub_messages,
            max_pubsub_bytes: options.max_pubsub_bytes,
            reaper_wakeup: reaper_wakeup.clone(),
        };
        driver
            .spawn_with(&SpawnOptions::new().name("accept"), move |t| {
                accept_loop(t, listener, settings)
            })
            .map_err(|e| io::Error::other(e.error().to_string()))?;
        driver
            .spawn_with(&SpawnOptions::new().name("reaper"), move |t| {
                reaper(t, reaper_wakeup)
            })
            .map_err(|e| io::Error::other(e.error().to_string()))?;
        Ok(RedisServer { driver, addr })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until a client sends `SHUTDOWN`. Then every connection is
    /// closed: dropping the driver cancels the remaining tasks, which
    /// unwinds them and drops their sockets.
    pub fn run(mut self) -> Result<(), Deadlock> {
        self.driver.run_until_state(|s| s.shutdown)
    }
}

/// Accepts connections and spawns a task for each.
fn accept_loop(
    t: &mut Task<'_, State>,
    mut listener: TcpListener,
    settings: Settings,
) -> Eff<Yields, ()> {
    loop {
        let (mut conn, peer) = match t.accept(&mut listener)? {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: back off instead
                // of spinning, and keep serving the open connections.
                eprintln!("accept failed: {e}");
                t.sleep(Duration::from_millis(50))?;
                continue;
            }
        };
        let session = t.with_state(|s| {
            (s.db.clients < s.db.config.max_clients).then(|| {
                s.db.clients += 1;
                s.db.new_session()
            })
        });
        let Some(session) = session else {
            // A fresh socket has room for one short line.
            let _ = t.write(&mut conn, b"-ERR max number of clients reached\r\n")?;
            continue;
        };
        let settings = settings.clone();
        let options = SpawnOptions::new().name(format!("client {} {peer}", session.id));
        let spawned = t.spawn_with(&options, move |t| {
            client::connection(t, conn, session, settings)
        });
        if let Err(e) = spawned {
            // Out of stacks or memory maps: refuse this client only.
            eprintln!("cannot start a task for {peer}: {}", e.error());
            t.with_state(|s| s.db.clients -= 1);
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
