//! The tokio peer of `examples/redis_server`, for `benches/redis/run.sh`.
//!
//! The same protocol code (`resp.rs`) and the same commands (`commands.rs`,
//! included from the example) on tokio's single-threaded runtime: one
//! `spawn_local` task per connection, the keyspace in an `Rc<RefCell<Db>>`
//! (a `HashMap` inside) borrowed for each request, and the expiry reaper on
//! tokio's timers. So the benchmark compares the runtimes and the way the
//! state is shared, not two implementations of the commands. Pub/sub
//! messages go through a bounded tokio channel per subscriber, with the
//! same slow-subscriber limits as the coshare server.
//!
//! ```text
//! cargo bench --bench redis_tokio -- --port 6381
//! ```
//!
//! Without `--port` it prints a note and exits, so that `cargo bench` and
//! `cargo test --all-targets` do not hang on a server. `SHUTDOWN` stops it.

// Shared with the example; not every item is used here, and without the
// test harness the unit tests' imports are unused too.
#[allow(dead_code, unused_imports)]
#[path = "../examples/redis_server/commands/mod.rs"]
mod commands;
#[allow(dead_code, unused_imports)]
#[path = "../examples/redis_server/resp/mod.rs"]
mod resp;

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

use commands::{After, Config, Db, Frame, Outbox, Session};
use resp::{Limits, Parsed, Parser, ReadBuffer};

/// As in the coshare server.
const FLUSH_AT: usize = 64 * 1024;
const REAP_BATCH: usize = 256;
const MAX_PUBSUB_MESSAGES: usize = 64 * 1024;
const MAX_PUBSUB_BYTES: usize = 32 * 1024 * 1024;

/// A subscriber's end of its mailbox: messages, bytes queued, kicked.
type Inbox = (mpsc::Receiver<Frame>, Rc<Cell<usize>>, Rc<Notify>);

/// A subscriber's outbox: a bounded tokio channel and the bytes in it.
struct Mailbox {
    tx: mpsc::Sender<Frame>,
    queued: Rc<Cell<usize>>,
    kicked: Rc<Notify>,
}

impl Outbox for Mailbox {
    fn offer(&self, frame: &Frame) -> bool {
        let queued = self.queued.get() + frame.len();
        if queued > MAX_PUBSUB_BYTES || self.tx.try_send(Rc::clone(frame)).is_err() {
            return false;
        }
        self.queued.set(queued);
        true
    }

    fn disconnect(&self) {
        self.kicked.notify_one();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut port = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse::<u16>().ok()),
            "--bench" => {} // added by `cargo bench`
            other => {
                eprintln!("redis_tokio: unknown argument {other:?}; usage: --port N");
                std::process::exit(2);
            }
        }
    }
    let Some(port) = port else {
        // `cargo bench` and `cargo test --benches` land here.
        println!("redis_tokio: a server for benches/redis/run.sh; start it with --port N");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve(SocketAddr::from(([127, 0, 0, 1], port))));
}

async fn serve(addr: SocketAddr) {
    let limits = Limits::default();
    let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
        eprintln!("cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    let addr = listener.local_addr().expect("bound");
    println!("tokio redis server listening on {addr}");
    let _ = std::io::stdout().flush();
    let start = Instant::now();
    let db = Rc::new(RefCell::new(Db::new(Config::new(
        "tokio",
        addr.port(),
        10_000,
        limits,
    ))));
    let wakeup = Rc::new(Notify::new());
    tokio::task::spawn_local(reaper(Rc::clone(&db), Rc::clone(&wakeup), start));
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let session = db.borrow_mut().new_session();
        tokio::task::spawn_local(connection(
            socket,
            session,
            Rc::clone(&db),
            Rc::clone(&wakeup),
            limits,
            start,
        ));
    }
}

async fn connection(
    mut socket: TcpStream,
    mut session: Session,
    db: Rc<RefCell<Db>>,
    wakeup: Rc<Notify>,
    limits: Limits,
    start: Instant,
) {
    let _ = socket.set_nodelay(true);
    db.borrow_mut().clients += 1;
    let mut parser = Parser::new(limits);
    let mut input = ReadBuffer::new();
    let mut out = Vec::with_capacity(4096);
    let mut inbox: Option<Inbox> = None;
    'conn: loop {
        if let Some((rx, queued, _)) = &mut inbox {
            while out.len() < FLUSH_AT {
                let Ok(frame) = rx.try_recv() else { break };
                queued.set(queued.get() - frame.len());
                out.extend_from_slice(&frame);
            }
        }
        let now = start.elapsed();
        let mut end = None;
        let mut need = None;
        while end.is_none() && need.is_none() && out.len() < FLUSH_AT {
            let used = match parser.parse(input.unread()) {
                Parsed::Request { args, consumed } => {
                    let mut db = db.borrow_mut();
                    end = match db.execute(args, &mut session, now, &mut out) {
                        After::Continue => None,
                        After::Close => Some(false),
                        After::Drop => break 'conn,
                        After::Shutdown => std::process::exit(0),
                    };
                    if db.take_reaper_wakeup() {
                        wakeup.notify_one();
                    }
                    consumed
                }
                Parsed::Skip(skip) => skip,
                Parsed::Fatal(error) => {
                    error.reply(&mut out);
                    end = Some(true);
                    0
                }
                Parsed::Incomplete { need: more } => {
                    need = Some(more);
                    0
                }
            };
            input.consume(used);
        }
        if session.needs_outbox() {
            let (tx, rx) = mpsc::channel(MAX_PUBSUB_MESSAGES);
            let (queued, kicked) = (Rc::new(Cell::new(0)), Rc::new(Notify::new()));
            let mailbox = Mailbox {
                tx,
                queued: Rc::clone(&queued),
                kicked: Rc::clone(&kicked),
            };
            db.borrow_mut()
                .attach_outbox(&mut session, Rc::new(mailbox));
            inbox = Some((rx, queued, kicked));
        }
        if !out.is_empty() {
            let written = match &inbox {
                None => socket.write_all(&out).await,
                Some((_, _, kicked)) => tokio::select! {
                    written = socket.write_all(&out) => written,
                    () = kicked.notified() => break 'conn,
                },
            };
            if written.is_err() {
                break 'conn;
            }
            out.clear();
            out.shrink_to(2 * FLUSH_AT);
        }
        if end.is_some() {
            break 'conn;
        }
        let Some(need) = need else { continue };
        let read = match inbox.as_mut().filter(|_| session.in_pubsub()) {
            None => socket.read(input.spare(need)).await,
            Some((rx, queued, kicked)) => tokio::select! {
                read = socket.read(input.spare(need)) => read,
                Some(frame) = rx.recv() => {
                    queued.set(queued.get() - frame.len());
                    out.extend_from_slice(&frame);
                    continue;
                }
                () = kicked.notified() => break 'conn,
            },
        };
        match read {
            Ok(0) | Err(_) => break 'conn,
            Ok(n) => input.filled(n),
        }
    }
    let mut db = db.borrow_mut();
    db.clients -= 1;
    db.end_session(&mut session);
}

async fn reaper(db: Rc<RefCell<Db>>, wakeup: Rc<Notify>, start: Instant) {
    loop {
        let reaped = db.borrow_mut().reap(start.elapsed(), REAP_BATCH);
        if reaped.more_due {
            tokio::task::yield_now().await;
            continue;
        }
        match reaped.next {
            Some(next) => {
                tokio::select! {
                    () = wakeup.notified() => {}
                    () = tokio::time::sleep_until((start + next).into()) => {}
                }
            }
            None => wakeup.notified().await,
        }
    }
}
