//! Running a connection's requests when the keyspace is split over shards:
//! here, on the key's owner, or on several shards at once, with every
//! reply written back in the order of the requests.
//!
//! The connection task runs the requests of one read back to back (see
//! `client.rs`). A request planned here ([`Router::plan`]) runs at once,
//! as on one shard; one for another shard is added to that shard's batch,
//! and a *hole* in the output marks where its reply goes. Once the read's
//! requests are planned, [`Forwarder::gather`] sends each shard its batch
//! as one message, waits for the answers (all shards work on their batches
//! at the same time), and fills the holes. So a pipeline of requests costs
//! one message and one wake-up per shard it touches, not one per request,
//! and the buffers of a batch and of its replies travel back and forth and
//! are used again, so that nothing is allocated per request.
//!
//! Order: each shard gets a connection's requests in the order they were
//! sent (one batch per read, batches in order, and the mesh keeps a
//! sender's order), and every key lives on one shard, so the requests on
//! any one key run in the order the client sent them, as on one shard.

use std::time::Duration;

use coshare::driver::shards::{Answer, Inbox, Mesh, Reply};
use coshare::driver::{Event, Notify, Task};
use coshare::{Eff, Yields};

use crate::commands::{After, Combine, Plan, Queued, Router, Session, combine};
use crate::resp::{Args, OwnedArgs, OwnedBatch, reply};
use crate::server::State;

/// What shards send each other.
pub enum Message {
    /// Requests of connection `client` (of another shard), in order, for
    /// keys this shard owns; answered with one reply each, in `replies`
    /// (an empty buffer to fill). Both buffers go back with the answer, to
    /// be used again for the connection's next batch.
    Run {
        client: u64,
        batch: Batch,
        replies: Replies,
        reply: Reply<(Batch, Replies)>,
    },
    /// Connection `client` (of another shard) closed: forget what it
    /// watched here.
    Forget { client: u64 },
    /// A client sent `SHUTDOWN` to another shard: stop this one too.
    Shutdown,
}

/// Requests run for another shard's connection.
#[derive(Default)]
pub struct Batch {
    requests: OwnedBatch,
    /// Per request: the connection speaks RESP3.
    resp3: Vec<bool>,
    /// `EXEC`s, with the transaction the connection queued: (request,
    /// transaction).
    exec: Vec<(usize, Queued)>,
}

impl Batch {
    fn push(&mut self, args: Args<'_>, resp3: bool) -> usize {
        self.requests.push(args);
        self.resp3.push(resp3);
        self.requests.len() - 1
    }

    fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Empties it, keeping its buffers (up to [`KEPT_BYTES`]).
    fn clear(&mut self) {
        self.requests.clear(KEPT_BYTES);
        self.resp3.clear();
        self.exec.clear();
    }
}

/// The most bytes a connection keeps in a batch or reply buffer for the
/// next read (what a huge pipeline grew beyond is given back).
const KEPT_BYTES: usize = 64 * 1024;

/// The replies to a [`Batch`], in one buffer.
#[derive(Default)]
pub struct Replies {
    data: Vec<u8>,
    /// Where each reply ends in `data`.
    ends: Vec<usize>,
}

impl Replies {
    /// Empties it, keeping its buffers (up to [`KEPT_BYTES`]).
    fn clear(&mut self) {
        self.data.clear();
        self.data.shrink_to(KEPT_BYTES);
        self.ends.clear();
        self.ends.shrink_to(KEPT_BYTES / 16);
    }

    /// Reply `i`.
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }
}

/// The shards' mesh, as the Redis server uses it.
pub type ShardMesh = Mesh<Message, State>;

/// The most requests a read may forward before its replies are gathered
/// (a bound on what one batch holds).
pub const MAX_FORWARDED: usize = 1024;

/// The task of each shard that answers the others: runs their requests on
/// this shard's keyspace, each batch in one step.
pub fn answer(
    t: &mut Task<'_, State>,
    inbox: &mut Inbox<Message>,
    reaper_wakeup: &Notify,
    stop: &Event,
) -> Eff<Yields, ()> {
    while let Ok(message) = t.recv(inbox)? {
        match message {
            Message::Run {
                client,
                mut batch,
                mut replies,
                reply,
            } => {
                let now = t.now().since_start();
                t.with_state(|s| {
                    let mut exec = batch.exec.drain(..).peekable();
                    let requests = batch.requests.iter().zip(&batch.resp3);
                    for (i, (args, &resp3)) in requests.enumerate() {
                        let mut session = Session::proxy(client, resp3);
                        match exec.next_if(|(at, _)| *at == i) {
                            Some((_, queued)) => {
                                s.db.exec_shipped(&mut session, queued, now, &mut replies.data)
                            }
                            None => {
                                s.db.execute(args, &mut session, now, &mut replies.data);
                            }
                        }
                        replies.ends.push(replies.data.len());
                    }
                    if s.db.take_reaper_wakeup() {
                        reaper_wakeup.notify_one();
                    }
                });
                batch.clear();
                // `Err`: the connection closed meanwhile; nobody reads it.
                let _ = reply.send((batch, replies));
            }
            Message::Forget { client } => t.with_state(|s| s.db.forget_client(client)),
            Message::Shutdown => stop.set(),
        }
    }
    Ok(())
}

/// Runs one request here, as the one-shard server does, and appends its
/// reply to `out`.
pub fn here(
    t: &mut Task<'_, State>,
    args: Args<'_>,
    session: &mut Session,
    now: Duration,
    out: &mut Vec<u8>,
    reaper_wakeup: &Notify,
) -> After {
    t.with_state(|s| {
        let after = s.db.execute(args, session, now, out);
        if s.db.take_reaper_wakeup() {
            reaper_wakeup.notify_one();
        }
        after
    })
}

/// Where a forwarded reply is.
enum Piece {
    /// Made here already.
    Ready(Vec<u8>),
    /// Item `item` of the batch of `shard`.
    Remote { shard: usize, item: usize },
}

/// The reply `piece` stands for: `stopped[shard]` if its shard gave no
/// replies.
fn bytes_of<'a>(
    piece: &'a Piece,
    replies: &'a [Option<Replies>],
    stopped: &'a [Vec<u8>],
) -> &'a [u8] {
    match piece {
        Piece::Ready(reply) => reply,
        Piece::Remote { shard, item } => match &replies[*shard] {
            Some(replies) => replies.get(*item),
            None => &stopped[*shard],
        },
    }
}

/// What fills a hole in the output.
enum Hole {
    /// One reply from another shard.
    One(Piece),
    /// The parts of a split or everywhere command, combined.
    Combined {
        how: Combine,
        pieces: Vec<Piece>,
        positions: Vec<Vec<usize>>,
    },
}

/// One connection's forwarding: its router, and the batches and holes of
/// the read being run.
pub struct Forwarder {
    router: Router,
    mesh: ShardMesh,
    /// Per shard, the requests to send it.
    batches: Vec<Batch>,
    /// Per shard, an empty buffer for its next replies.
    spare: Vec<Replies>,
    /// The buffer the output is rebuilt in, kept for the next read.
    filled: Vec<u8>,
    /// Where replies from other shards go: an offset in the output, and
    /// what fills it there.
    holes: Vec<(usize, Hole)>,
    forwarded: usize,
}

impl Forwarder {
    /// The forwarding of a connection on `mesh`'s shard.
    pub fn new(mesh: ShardMesh) -> Forwarder {
        let shards = mesh.shards();
        Forwarder {
            router: Router::new(mesh.index(), shards),
            mesh,
            batches: (0..shards).map(|_| Batch::default()).collect(),
            spare: (0..shards).map(|_| Replies::default()).collect(),
            filled: Vec::new(),
            holes: Vec::new(),
            forwarded: 0,
        }
    }

    /// Requests forwarded since the last [`gather`](Self::gather).
    pub fn forwarded(&self) -> usize {
        self.forwarded
    }

    /// Runs one request where its plan says: here at once, or into a batch
    /// with a hole where its reply goes.
    pub fn request(
        &mut self,
        t: &mut Task<'_, State>,
        args: Args<'_>,
        session: &mut Session,
        now: Duration,
        out: &mut Vec<u8>,
        reaper_wakeup: &Notify,
    ) -> After {
        let resp2_subscribed = session.in_pubsub() && !session.resp3();
        match self.router.plan(args, session.in_multi(), resp2_subscribed) {
            Plan::Here => here(t, args, session, now, out, reaper_wakeup),
            Plan::HereThenUnwatch(shard) => {
                let after = here(t, args, session, now, out, reaper_wakeup);
                // Nobody reads its reply: no hole.
                let unwatch = OwnedArgs::from_slices(&["UNWATCH"]);
                self.push(shard, unwatch.args(), false, None);
                after
            }
            Plan::Send(shard) => {
                let item = self.push(shard, args, session.resp3(), None);
                self.holes
                    .push((out.len(), Hole::One(Piece::Remote { shard, item })));
                After::Continue
            }
            Plan::Exec(shard) => {
                let queued = session.take_transaction();
                let item = self.push(shard, args, session.resp3(), queued);
                self.holes
                    .push((out.len(), Hole::One(Piece::Remote { shard, item })));
                After::Continue
            }
            Plan::Refuse(error) => {
                t.with_state(|s| s.db.refuse(session, &error, out));
                After::Continue
            }
            Plan::Split(how, parts) => {
                let mut pieces = Vec::with_capacity(parts.len());
                let mut positions = Vec::with_capacity(parts.len());
                for part in parts {
                    let args = part.args.args();
                    pieces.push(self.piece(t, part.shard, args, session, now, reaper_wakeup));
                    positions.push(part.positions);
                }
                self.holes.push((
                    out.len(),
                    Hole::Combined {
                        how,
                        pieces,
                        positions,
                    },
                ));
                After::Continue
            }
            Plan::Everywhere(how) => {
                let pieces = (0..self.router.shards())
                    .map(|shard| self.piece(t, shard, args, session, now, reaper_wakeup))
                    .collect();
                self.holes.push((
                    out.len(),
                    Hole::Combined {
                        how,
                        pieces,
                        positions: Vec::new(),
                    },
                ));
                After::Continue
            }
        }
    }

    /// One shard's part of a command: run now if it is this shard's.
    fn piece(
        &mut self,
        t: &mut Task<'_, State>,
        shard: usize,
        args: Args<'_>,
        session: &mut Session,
        now: Duration,
        reaper_wakeup: &Notify,
    ) -> Piece {
        if shard == self.mesh.index() {
            let mut out = Vec::new();
            here(t, args, session, now, &mut out, reaper_wakeup);
            return Piece::Ready(out);
        }
        let item = self.push(shard, args, session.resp3(), None);
        Piece::Remote { shard, item }
    }

    fn push(&mut self, shard: usize, args: Args<'_>, resp3: bool, exec: Option<Queued>) -> usize {
        let batch = &mut self.batches[shard];
        let item = batch.push(args, resp3);
        if let Some(queued) = exec {
            batch.exec.push((item, queued));
        }
        self.forwarded += 1;
        item
    }

    /// Sends every batch, waits for the answers, and puts each reply where
    /// its request was, in `out`. A shard that stopped (the server is
    /// shutting down) answers each of its requests with an error.
    pub fn gather(
        &mut self,
        t: &mut Task<'_, State>,
        client: u64,
        out: &mut Vec<u8>,
    ) -> Eff<Yields, ()> {
        if self.forwarded == 0 {
            return Ok(());
        }
        self.forwarded = 0;
        // Scatter: every shard gets its batch before any answer is awaited.
        let mut answers: Vec<(usize, Answer<(Batch, Replies)>)> = Vec::new();
        for shard in 0..self.batches.len() {
            if self.batches[shard].is_empty() {
                continue;
            }
            let batch = std::mem::take(&mut self.batches[shard]);
            let replies = std::mem::take(&mut self.spare[shard]);
            let sent = self.mesh.request(t, shard, |reply| Message::Run {
                client,
                batch,
                replies,
                reply,
            })?;
            if let Ok(answer) = sent {
                answers.push((shard, answer));
            }
        }
        // Gather; the buffers come back for the next read.
        let mut replies: Vec<Option<Replies>> = (0..self.batches.len()).map(|_| None).collect();
        for (shard, answer) in answers {
            if let Ok((batch, answered)) = t.wait(answer)? {
                self.batches[shard] = batch;
                replies[shard] = Some(answered);
            }
        }
        // What a shard that stopped answers, for each of its requests.
        let mut stopped: Vec<Vec<u8>> = Vec::new();
        if replies.iter().any(Option::is_none) {
            stopped = (0..replies.len())
                .map(|shard| {
                    let mut error = Vec::new();
                    let message = format!("ERR shard {shard} stopped before it answered");
                    reply::error(&mut error, message);
                    error
                })
                .collect();
        }
        let mut filled = std::mem::take(&mut self.filled);
        let mut at = 0;
        for (offset, hole) in self.holes.drain(..) {
            filled.extend_from_slice(&out[at..offset]);
            at = offset;
            match hole {
                Hole::One(piece) => filled.extend_from_slice(bytes_of(&piece, &replies, &stopped)),
                Hole::Combined {
                    how,
                    pieces,
                    positions,
                } => {
                    let parts: Vec<&[u8]> = pieces
                        .iter()
                        .map(|piece| bytes_of(piece, &replies, &stopped))
                        .collect();
                    let positions: Vec<&[usize]> = positions.iter().map(Vec::as_slice).collect();
                    combine(how, &parts, &positions, &mut filled);
                }
            }
        }
        filled.extend_from_slice(&out[at..]);
        std::mem::swap(out, &mut filled);
        filled.clear();
        filled.shrink_to(KEPT_BYTES);
        self.filled = filled;
        for (shard, answered) in replies.into_iter().enumerate() {
            if let Some(mut answered) = answered {
                answered.clear();
                self.spare[shard] = answered;
            }
        }
        Ok(())
    }

    /// The connection closed: the shards where it watched keys forget
    /// them.
    pub fn close(&self, t: &mut Task<'_, State>, client: u64) -> Eff<Yields, ()> {
        for &shard in self.router.watched_elsewhere() {
            // A shard that stopped has forgotten everything already.
            let _ = self.mesh.send(t, shard, Message::Forget { client })?;
        }
        Ok(())
    }

    /// `SHUTDOWN`: every other shard stops too.
    pub fn shutdown_all(&self, t: &mut Task<'_, State>) -> Eff<Yields, ()> {
        for shard in (0..self.mesh.shards()).filter(|&shard| shard != self.mesh.index()) {
            let _ = self.mesh.send(t, shard, Message::Shutdown)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use coshare::driver::Task;
    use coshare::driver::shards::{Shard, ShardsBuilder};
    use coshare::{Eff, Yields};

    use super::{Forwarder, Message};
    use crate::commands::{Config, Db, Session};
    use crate::resp::{Limits, OwnedArgs};
    use crate::server::State;

    /// Shard 0 runs a pipeline whose middle request is for shard 1, which
    /// has stopped: that request gets an error, in its place, and the
    /// others their replies.
    #[test]
    fn a_request_for_a_shard_that_stopped_gets_an_error_in_its_place() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&got);
        let mut shards = ShardsBuilder::new()
            .shards(2)
            .local(
                |_, _| State {
                    db: Db::new(Config::new("test", 0, 10, Limits::default())),
                },
                move |t: &mut Task<State>, shard: Shard<Message, State>| -> Eff<Yields, ()> {
                    if shard.index() == 1 {
                        return Ok(());
                    }
                    let (mesh, _inbox) = shard.into_parts();
                    let mut forwarder = Forwarder::new(mesh);
                    let mut session = Session::proxy(1, false);
                    let wakeup = t.handle().notify();
                    let mut out = Vec::new();
                    for words in [
                        &["SET", "{b}k", "v"][..],
                        &["GET", "{a}k"],
                        &["GET", "{b}k"],
                    ] {
                        let args = OwnedArgs::from_slices(words);
                        let now = Duration::ZERO;
                        forwarder.request(t, args.args(), &mut session, now, &mut out, &wakeup);
                    }
                    forwarder.gather(t, 1, &mut out)?;
                    *got.lock().unwrap() = out;
                    Ok(())
                },
            )
            .unwrap();
        shards.stop(1);
        shards.run_until_idle();
        drop(shards.finish());
        assert_eq!(
            String::from_utf8(seen.lock().unwrap().clone()).unwrap(),
            "+OK\r\n-ERR shard 1 stopped before it answered\r\n$1\r\nv\r\n"
        );
    }
}
