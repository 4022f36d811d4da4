//! The server on a coshare driver: an accept task, one task per
//! connection, and the expiry reaper, all sharing one [`State`].
//!
//! Each connection is straight-line code: read some bytes (a yield point),
//! run every complete request in them against the keyspace (inside
//! `with_state`, between yield points, so no other task can see a half-done
//! command and no lock is needed), write the replies (a yield point), and
//! repeat. Pipelined requests are simply several requests found in one
//! read; their replies go out together, in order.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use coshare::SpawnOptions;
use coshare::driver::{Deadlock, Driver, Instant, Notify, Task, TcpListener, TcpStream, wait};
use coshare::{Eff, Yields};
use frunk::{Coproduct, hlist};

use crate::commands::{After, Config, Db, Session};
use crate::resp::{Limits, Parsed, Parser, ReadBuffer, reply};

/// What every task shares: the keyspace, and whether a client asked the
/// server to stop.
pub struct State {
    /// The keyspace and server-wide counters.
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
}

impl Options {
    /// Redis's defaults, on `127.0.0.1:port`.
    pub fn loopback(port: u16) -> Options {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            limits: Limits::default(),
            max_clients: 10_000,
        }
    }
}

/// Replies are sent once this many bytes are pending, before more
/// requests are run: a client that pipelines without reading gets
/// back-pressure instead of an ever-growing output buffer.
const FLUSH_AT: usize = 64 * 1024;

/// How long a connection closed for a protocol error keeps reading (and
/// discarding) what the client still sends, so that the client sees the
/// error reply instead of a reset.
const LINGER: Duration = Duration::from_secs(1);

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
    pub fn bind(options: Options) -> io::Result<RedisServer> {
        let config = Config {
            server_name: "coshare",
            port: options.addr.port(),
            max_clients: options.max_clients,
            limits: options.limits,
        };
        let mut driver = Driver::new(State {
            db: Db::new(config),
            shutdown: false,
        });
        let listener = driver.handle().tcp_listen(options.addr)?;
        let addr = listener.local_addr()?;
        driver.state().db.config.port = addr.port();
        let reaper_wakeup = driver.handle().notify();
        let wakeup = reaper_wakeup.clone();
        let limits = options.limits;
        driver
            .spawn_with(&SpawnOptions::new().name("accept"), move |t| {
                accept_loop(t, listener, limits, wakeup)
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
    limits: Limits,
    reaper_wakeup: Notify,
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
        let wakeup = reaper_wakeup.clone();
        let options = SpawnOptions::new().name(format!("client {} {peer}", session.id));
        let spawned = t.spawn_with(&options, move |t| {
            connection(t, conn, session, limits, wakeup)
        });
        if let Err(e) = spawned {
            // Out of stacks or memory maps: refuse this client only.
            eprintln!("cannot start a task for {peer}: {}", e.error());
            t.with_state(|s| s.db.clients -= 1);
        }
    }
}

/// How a connection ended.
enum End {
    /// The client closed its side.
    Eof,
    /// `QUIT`.
    Quit,
    /// `SHUTDOWN`.
    Shutdown,
    /// A protocol error that the connection cannot survive.
    Fatal,
    /// A read or write failed (reset, broken pipe).
    Io(io::Error),
}

/// One client, from accept to close.
fn connection(
    t: &mut Task<'_, State>,
    mut conn: TcpStream,
    mut session: Session,
    limits: Limits,
    reaper_wakeup: Notify,
) -> Eff<Yields, ()> {
    let _ = conn.set_nodelay(true);
    let end = serve(t, &mut conn, &mut session, limits, &reaper_wakeup)?;
    t.with_state(|s| {
        s.db.clients -= 1;
        if matches!(end, End::Shutdown) {
            s.shutdown = true;
        }
    });
    match end {
        End::Fatal => {
            let _ = conn.shutdown(Shutdown::Write);
            linger(t, &mut conn)?;
        }
        End::Io(e) if e.kind() != io::ErrorKind::ConnectionReset => {
            eprintln!("client {}: {e}", session.id);
        }
        End::Eof | End::Quit | End::Shutdown | End::Io(_) => {}
    }
    Ok(())
}

/// The request loop: read, run what is complete, reply, repeat.
fn serve(
    t: &mut Task<'_, State>,
    conn: &mut TcpStream,
    session: &mut Session,
    limits: Limits,
    reaper_wakeup: &Notify,
) -> Eff<Yields, End> {
    let mut parser = Parser::new(limits);
    let mut input = ReadBuffer::new();
    let mut out = Vec::with_capacity(4096);
    loop {
        // Run every complete request read so far. No yield point in this
        // loop: the requests of one read run back to back.
        let now = t.now().since_start();
        let mut end = None;
        let mut need = None;
        while end.is_none() && need.is_none() && out.len() < FLUSH_AT {
            let used = match parser.parse(input.unread()) {
                Parsed::Request { args, consumed } => {
                    let after = t.with_state(|s| {
                        let after = s.db.execute(args, session, now, &mut out);
                        if s.db.take_reaper_wakeup() {
                            reaper_wakeup.notify_one();
                        }
                        after
                    });
                    match after {
                        After::Continue => {}
                        After::Close => end = Some(End::Quit),
                        After::Shutdown => end = Some(End::Shutdown),
                    }
                    consumed
                }
                Parsed::Skip(skip) => skip,
                Parsed::Invalid { error, skip } => {
                    reply::error(&mut out, &format!("ERR {error}"));
                    skip
                }
                Parsed::Fatal(error) => {
                    reply::error(&mut out, &format!("ERR {error}"));
                    end = Some(End::Fatal);
                    0
                }
                Parsed::Incomplete { need: more } => {
                    need = Some(more);
                    0
                }
            };
            input.consume(used);
        }
        if !out.is_empty() {
            if let Err(e) = t.write_all(conn, &out)? {
                return Ok(End::Io(e));
            }
            out.clear();
            out.shrink_to(2 * FLUSH_AT); // after one huge reply
        }
        if let Some(end) = end {
            return Ok(end);
        }
        // Stopped because replies piled up: run the rest before reading.
        let Some(need) = need else { continue };
        match t.read(conn, input.spare(need))? {
            Ok(0) => return Ok(End::Eof),
            Ok(n) => input.filled(n),
            Err(e) => return Ok(End::Io(e)),
        }
    }
}

/// Reads and discards what the client still sends, until it closes or
/// [`LINGER`] has passed.
fn linger(t: &mut Task<'_, State>, conn: &mut TcpStream) -> Eff<Yields, ()> {
    let deadline = t.now() + LINGER;
    let mut sink = vec![0; 16 * 1024];
    loop {
        match t.select(hlist![wait::read(conn, &mut sink), wait::until(deadline)])? {
            Coproduct::Inl(Ok(n)) if n > 0 => {}
            _ => return Ok(()),
        }
    }
}

/// Removes expired keys on the driver's timers: sleeps until the earliest
/// deadline, or until a command sets an earlier one. See `commands`.
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
