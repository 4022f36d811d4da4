//! One client connection, from accept to close: a single straight-line
//! task.
//!
//! The loop: take the pub/sub messages queued for this connection, run
//! every complete request read so far against the keyspace (each inside
//! `with_state`, between yield points, so no other task can see a half-done
//! command and no lock is needed), write the replies (a yield point), and
//! wait for more input (a yield point). Pipelined requests are simply
//! several requests found in one read; their replies go out together, in
//! order. A whole `MULTI`/`EXEC` transaction runs inside the one
//! `with_state` call that runs `EXEC`.
//!
//! # Pub/sub
//!
//! A subscribed connection waits on its socket and on its subscription
//! channel at once, `t.select(hlist![wait::read(..), wait::recv(..), ..])`.
//! Publishers never wait: `PUBLISH` offers each message to the
//! subscriber's outbox, a bounded driver channel ([`Mailbox`]), with
//! `try_send`.
//!
//! The slow-subscriber policy is Redis's hard output limit for pub/sub
//! clients: a subscriber whose queue holds [`Settings::max_pubsub_messages`]
//! messages, or [`Settings::max_pubsub_bytes`] bytes of them (32 MiB, as
//! `client-output-buffer-limit pubsub 32mb`), when the next message comes,
//! is disconnected: it loses its subscriptions at once, and its task closes
//! the socket, even while it is blocked writing to a peer that stopped
//! reading. So a subscriber holds at most the queue's bounds plus one batch
//! of output ([`FLUSH_AT`] and one message). Redis's soft limit (8 MiB for
//! 60 s) is not modelled.

use std::cell::Cell;
use std::io;
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use coshare::driver::{Event, Notify, Receiver, Sender, Task, TcpStream, wait};
use coshare::{Eff, Yields};
use frunk::{Coproduct, hlist};

use crate::commands::{After, Frame, Outbox, Session};
use crate::forward::{self, Forwarder, MAX_FORWARDED, ShardMesh};
use crate::resp::{Limits, Parsed, Parser, ReadBuffer};
use crate::server::State;

/// What every connection task is started with.
#[derive(Clone)]
pub struct Settings {
    /// Protocol limits (see `resp`).
    pub limits: Limits,
    /// The most messages queued for one subscriber.
    pub max_pubsub_messages: usize,
    /// The most bytes of messages queued for one subscriber.
    pub max_pubsub_bytes: usize,
    /// Woken when a command sets the earliest deadline.
    pub reaper_wakeup: Notify,
    /// Set by `SHUTDOWN`: the server stops (see `server.rs`).
    pub stop: Event,
    /// The other shards, when the keyspace is split over several (see
    /// `forward.rs`).
    pub mesh: Option<ShardMesh>,
}

/// Replies are sent once this many bytes are pending, before more
/// requests are run: a client that pipelines without reading gets
/// back-pressure instead of an ever-growing output buffer.
pub const FLUSH_AT: usize = 64 * 1024;

/// How long a connection closed for a protocol error keeps reading (and
/// discarding) what the client still sends, so that the client sees the
/// error reply instead of a reset.
const LINGER: Duration = Duration::from_secs(1);

/// A subscriber's outbox, the publishers' end: a bounded driver channel,
/// and the bytes queued in it.
struct Mailbox {
    tx: Sender<Frame>,
    queued: Rc<Cell<usize>>,
    max_bytes: usize,
    kicked: Event,
}

impl Outbox for Mailbox {
    fn offer(&self, frame: &Frame) -> bool {
        let queued = self.queued.get() + frame.len();
        if queued > self.max_bytes || self.tx.try_send(Rc::clone(frame)).is_err() {
            return false;
        }
        self.queued.set(queued);
        true
    }

    fn disconnect(&self) {
        self.kicked.set();
    }
}

/// The subscriber's end of its [`Mailbox`].
struct Inbox {
    rx: Receiver<Frame>,
    queued: Rc<Cell<usize>>,
    kicked: Event,
}

impl Inbox {
    /// Moves one message to the output.
    fn take(&self, frame: &Frame, out: &mut Vec<u8>) {
        self.queued.set(self.queued.get() - frame.len());
        out.extend_from_slice(frame);
    }

    /// Moves queued messages to the output, until it holds `FLUSH_AT`.
    fn drain(&mut self, out: &mut Vec<u8>) {
        while out.len() < FLUSH_AT {
            match self.rx.try_recv() {
                Ok(frame) => self.take(&frame, out),
                Err(_) => return,
            }
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
    /// A request Redis drops the connection for, without a reply.
    Dropped,
    /// A subscriber that fell behind.
    Kicked,
    /// A read or write failed (reset, broken pipe).
    Io(io::Error),
}

/// One client, from accept to close.
pub fn connection(
    t: &mut Task<'_, State>,
    mut conn: TcpStream,
    mut session: Session,
    settings: Settings,
) -> Eff<Yields, ()> {
    let _ = conn.set_nodelay(true);
    let mut forwarder = settings.mesh.clone().map(Forwarder::new);
    let end = serve(t, &mut conn, &mut session, &settings, forwarder.as_mut())?;
    t.with_state(|s| {
        s.db.clients -= 1;
        s.db.end_session(&mut session);
    });
    if let Some(forwarder) = &forwarder {
        // The other shards first: once this shard's stop is set, its
        // server cancels this task at its next wait.
        if matches!(end, End::Shutdown) {
            forwarder.shutdown_all(t)?;
        }
        forwarder.close(t, session.id)?;
    }
    if matches!(end, End::Shutdown) {
        settings.stop.set();
    }
    match end {
        End::Fatal => {
            let _ = conn.shutdown(Shutdown::Write);
            linger(t, &mut conn)?;
        }
        End::Io(e) if e.kind() != io::ErrorKind::ConnectionReset => {
            eprintln!("client {}: {e}", session.id);
        }
        End::Eof | End::Quit | End::Shutdown | End::Dropped | End::Kicked | End::Io(_) => {}
    }
    Ok(())
}

/// The request loop: take messages, run what is complete, reply, wait.
fn serve(
    t: &mut Task<'_, State>,
    conn: &mut TcpStream,
    session: &mut Session,
    settings: &Settings,
    mut forwarder: Option<&mut Forwarder>,
) -> Eff<Yields, End> {
    let mut parser = Parser::new(settings.limits);
    let mut input = ReadBuffer::new();
    let mut out = Vec::with_capacity(4096);
    let mut inbox: Option<Inbox> = None;
    loop {
        // Messages first: they were published before the requests below
        // are run, so they come before those requests' replies.
        if let Some(inbox) = &mut inbox {
            if inbox.kicked.is_set() {
                return Ok(End::Kicked);
            }
            inbox.drain(&mut out);
        }
        // Run every complete request read so far. No yield point in this
        // loop: the requests of one read run back to back.
        let now = t.now().since_start();
        let mut end = None;
        let mut need = None;
        let room = |forwarder: &Option<&mut Forwarder>| {
            forwarder
                .as_ref()
                .is_none_or(|f| f.forwarded() < MAX_FORWARDED)
        };
        while end.is_none() && need.is_none() && out.len() < FLUSH_AT && room(&forwarder) {
            let used = match parser.parse(input.unread()) {
                Parsed::Request { args, consumed } => {
                    let wakeup = &settings.reaper_wakeup;
                    let after = match forwarder.as_deref_mut() {
                        None => forward::here(t, args, session, now, &mut out, wakeup),
                        Some(f) => f.request(t, args, session, now, &mut out, wakeup),
                    };
                    end = match after {
                        After::Continue => None,
                        After::Close => Some(End::Quit),
                        After::Drop => Some(End::Dropped),
                        After::Shutdown => Some(End::Shutdown),
                    };
                    consumed
                }
                Parsed::Skip(skip) => skip,
                Parsed::Fatal(error) => {
                    error.reply(&mut out);
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
        // The replies from other shards, in their places.
        if let Some(forwarder) = forwarder.as_deref_mut() {
            forwarder.gather(t, session.id, &mut out)?;
        }
        if matches!(end, Some(End::Dropped)) {
            return Ok(End::Dropped);
        }
        // A first subscription: give the connection its outbox now, before
        // the next yield point, so that no message for it is missed.
        if session.needs_outbox() {
            let (tx, rx) = t.handle().channel(settings.max_pubsub_messages);
            let kicked = t.handle().event();
            let queued = Rc::new(Cell::new(0));
            let mailbox = Rc::new(Mailbox {
                tx,
                queued: Rc::clone(&queued),
                max_bytes: settings.max_pubsub_bytes,
                kicked: kicked.clone(),
            });
            t.with_state(|s| s.db.attach_outbox(session, mailbox));
            inbox = Some(Inbox { rx, queued, kicked });
        }
        if !out.is_empty() {
            match flush(t, conn, &out, inbox.as_ref().map(|i| &i.kicked))? {
                Ok(()) => {}
                Err(end) => return Ok(end),
            }
            out.clear();
            out.shrink_to(2 * FLUSH_AT); // after one huge reply
        }
        if let Some(end) = end {
            return Ok(end);
        }
        // Stopped because replies piled up: run the rest before reading.
        let Some(need) = need else { continue };
        let subscribed = inbox.as_mut().filter(|_| session.in_pubsub());
        let read = match subscribed {
            None => t.read(conn, input.spare(need))?,
            Some(inbox) => match t.select(hlist![
                wait::read(conn, input.spare(need)),
                wait::recv(&mut inbox.rx),
                wait::event(&inbox.kicked),
            ])? {
                Coproduct::Inl(read) => read,
                Coproduct::Inr(Coproduct::Inl(Ok(frame))) => {
                    inbox.take(&frame, &mut out);
                    continue;
                }
                // The session keeps a sender: the channel never closes.
                Coproduct::Inr(Coproduct::Inl(Err(_))) => continue,
                Coproduct::Inr(Coproduct::Inr(Coproduct::Inl(()))) => return Ok(End::Kicked),
                Coproduct::Inr(Coproduct::Inr(Coproduct::Inr(never))) => match never {},
            },
        };
        match read {
            Ok(0) => return Ok(End::Eof),
            Ok(n) => input.filled(n),
            Err(e) => return Ok(End::Io(e)),
        }
    }
}

/// Writes all of `out`. A subscriber also watches for being disconnected
/// (`kicked`) meanwhile, so a peer that stopped reading cannot keep it.
fn flush(
    t: &mut Task<'_, State>,
    conn: &mut TcpStream,
    out: &[u8],
    kicked: Option<&Event>,
) -> Eff<Yields, Result<(), End>> {
    let Some(kicked) = kicked else {
        return Ok(t.write_all(conn, out)?.map_err(End::Io));
    };
    let mut at = 0;
    while at < out.len() {
        match t.select(hlist![wait::write(conn, &out[at..]), wait::event(kicked)])? {
            Coproduct::Inl(Ok(0)) => return Ok(Err(End::Io(io::ErrorKind::WriteZero.into()))),
            Coproduct::Inl(Ok(n)) => at += n,
            Coproduct::Inl(Err(e)) => return Ok(Err(End::Io(e))),
            Coproduct::Inr(Coproduct::Inl(())) => return Ok(Err(End::Kicked)),
            Coproduct::Inr(Coproduct::Inr(never)) => match never {},
        }
    }
    Ok(Ok(()))
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
