//! Pub/sub: `SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH`, with
//! the RESP2 reply shapes of redis-server 7.0 (`pubsub.c`).
//!
//! The [`Registry`] in the [`Db`] routes a channel to its subscribers, and
//! a pattern to its subscribers, in the order they subscribed. `PUBLISH`
//! encodes each message frame once and offers it to each subscriber's
//! [`Outbox`] without waiting: a message for the publishing connection
//! itself (possible inside `EXEC`) goes straight into its reply, as in
//! Redis; any other goes to the subscriber's bounded queue, and the
//! server's connection task writes it out.
//!
//! # Slow subscribers
//!
//! An outbox that refuses a message (its queue is full: the subscriber has
//! stopped reading) gets the subscriber disconnected: its subscriptions are
//! dropped at once, so no more messages are queued for it, and its
//! connection is told to close ([`Outbox::disconnect`]). That is Redis's
//! `client-output-buffer-limit pubsub` hard limit; the queue's bounds are
//! the server's (see `server.rs`). The message still counts in `PUBLISH`'s
//! reply, as in Redis, where it reached the output buffer that overflowed.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::{After, Cx, Db, Session, glob_match};
use crate::resp::{Args, reply};

/// An encoded message (`message` or `pmessage` array), shared by every
/// subscriber it goes to.
pub type Frame = Rc<[u8]>;

/// Where a subscriber's messages go: a bounded queue that its connection
/// drains.
pub trait Outbox {
    /// Queues `frame` without waiting; `false` if the subscriber's queue
    /// has no room for it.
    fn offer(&self, frame: &Frame) -> bool;

    /// The subscriber fell behind and was dropped: its connection must
    /// close. Called once, from inside a command (so it must not wait).
    fn disconnect(&self);
}

/// Channels or patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `SUBSCRIBE`, `UNSUBSCRIBE`, `message`.
    Channel,
    /// `PSUBSCRIBE`, `PUNSUBSCRIBE`, `pmessage`.
    Pattern,
}

impl Kind {
    fn subscribe(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
        }
    }

    fn unsubscribe(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
        }
    }
}

/// Who is subscribed to what.
#[derive(Default)]
pub struct Registry {
    channels: HashMap<Vec<u8>, Vec<u64>>,
    patterns: BTreeMap<Vec<u8>, Vec<u64>>,
    clients: HashMap<u64, Subscriber>,
}

struct Subscriber {
    outbox: Option<Rc<dyn Outbox>>,
    /// Messages as RESP3 pushes (else RESP2 arrays).
    resp3: bool,
    channels: OrderedSet,
    patterns: OrderedSet,
}

impl Subscriber {
    fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    fn set(&mut self, kind: Kind) -> &mut OrderedSet {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
        }
    }
}

impl Registry {
    fn routes(&mut self, kind: Kind, name: &[u8]) -> &mut Vec<u64> {
        match kind {
            Kind::Channel => self.channels.entry(name.to_vec()).or_default(),
            Kind::Pattern => self.patterns.entry(name.to_vec()).or_default(),
        }
    }

    fn unroute(&mut self, kind: Kind, name: &[u8], client: u64) {
        let routes = match kind {
            Kind::Channel => self.channels.get_mut(name),
            Kind::Pattern => self.patterns.get_mut(name),
        };
        if let Some(routes) = routes {
            routes.retain(|&c| c != client);
            if routes.is_empty() {
                match kind {
                    Kind::Channel => self.channels.remove(name),
                    Kind::Pattern => self.patterns.remove(name),
                };
            }
        }
    }

    /// Drops every subscription of `client`; its outbox, if it had one.
    pub fn forget(&mut self, client: u64) -> Option<Rc<dyn Outbox>> {
        let subscriber = self.clients.remove(&client)?;
        for name in subscriber.channels.iter() {
            self.unroute(Kind::Channel, name, client);
        }
        for name in subscriber.patterns.iter() {
            self.unroute(Kind::Pattern, name, client);
        }
        subscriber.outbox
    }

    /// Connections subscribed to anything.
    pub fn subscribers(&self) -> usize {
        self.clients.len()
    }

    /// `HELLO` switched `client`'s protocol.
    pub fn set_protocol(&mut self, client: u64, resp3: bool) {
        if let Some(subscriber) = self.clients.get_mut(&client) {
            subscriber.resp3 = resp3;
        }
    }
}

impl Db {
    /// Gives a connection its outbox (see [`Session::needs_outbox`]): the
    /// server calls this after the requests that subscribed, before the
    /// connection's next yield point, so no message for it is lost.
    pub fn attach_outbox(&mut self, session: &mut Session, outbox: Rc<dyn Outbox>) {
        if let Some(subscriber) = self.pubsub.clients.get_mut(&session.id) {
            subscriber.outbox = Some(Rc::clone(&outbox));
        }
        session.outbox = Some(outbox);
        session.needs_outbox = false;
    }

    /// Connections subscribed to anything.
    pub fn subscribers(&self) -> usize {
        self.pubsub.subscribers()
    }
}

/// `*3 <kind> <name> :<count>` (a push in RESP3), a (un)subscription's
/// confirmation.
fn confirm(out: &mut Vec<u8>, what: &[u8], name: Option<&[u8]>, count: usize, resp3: bool) {
    reply::push(out, 3, resp3);
    reply::bulk(out, what);
    match name {
        Some(name) => reply::bulk(out, name),
        None => reply::null(out, resp3),
    }
    reply::integer(out, count as i64);
}

pub fn subscribe(cx: &mut Cx<'_>, args: Args<'_>, kind: Kind) -> After {
    let id = cx.session.id;
    let registry = &mut cx.db.pubsub;
    for name in args.iter_from(1) {
        let subscriber = registry.clients.entry(id).or_insert_with(|| Subscriber {
            outbox: cx.session.outbox.clone(),
            resp3: cx.session.resp3,
            channels: OrderedSet::default(),
            patterns: OrderedSet::default(),
        });
        if subscriber.outbox.is_none() {
            cx.session.needs_outbox = true;
        }
        let added = subscriber.set(kind).insert(name);
        let count = subscriber.count();
        if added {
            registry.routes(kind, name).push(id);
        }
        cx.session.subscriptions = count;
        confirm(
            cx.out,
            kind.subscribe(),
            Some(name),
            count,
            cx.session.resp3,
        );
    }
    After::Continue
}

pub fn unsubscribe(cx: &mut Cx<'_>, args: Args<'_>, kind: Kind) -> After {
    let id = cx.session.id;
    let registry = &mut cx.db.pubsub;
    let names: Vec<Vec<u8>> = if args.len() > 1 {
        args.iter_from(1).map(<[u8]>::to_vec).collect()
    } else {
        match registry.clients.get(&id) {
            Some(subscriber) => match kind {
                Kind::Channel => subscriber.channels.iter().cloned().collect(),
                Kind::Pattern => subscriber.patterns.iter().cloned().collect(),
            },
            None => Vec::new(),
        }
    };
    if names.is_empty() {
        confirm(
            cx.out,
            kind.unsubscribe(),
            None,
            cx.session.subscriptions,
            cx.session.resp3,
        );
        return After::Continue;
    }
    for name in &names {
        let (removed, count) = match registry.clients.get_mut(&id) {
            Some(subscriber) => (subscriber.set(kind).remove(name), subscriber.count()),
            None => (false, 0),
        };
        if removed {
            registry.unroute(kind, name, id);
        }
        if count == 0 {
            registry.clients.remove(&id);
        }
        cx.session.subscriptions = count;
        confirm(
            cx.out,
            kind.unsubscribe(),
            Some(name),
            count,
            cx.session.resp3,
        );
    }
    After::Continue
}

/// `*3 message <channel> <message>` or `*4 pmessage <pattern> <channel>
/// <message>` (pushes in RESP3).
fn frame(pattern: Option<&[u8]>, channel: &[u8], message: &[u8], resp3: bool) -> Frame {
    let mut out = Vec::with_capacity(48 + channel.len() + message.len());
    match pattern {
        None => {
            reply::push(&mut out, 3, resp3);
            reply::bulk(&mut out, b"message");
        }
        Some(pattern) => {
            reply::push(&mut out, 4, resp3);
            reply::bulk(&mut out, b"pmessage");
            reply::bulk(&mut out, pattern);
        }
    }
    reply::bulk(&mut out, channel);
    reply::bulk(&mut out, message);
    out.into()
}

/// `PUBLISH channel message`: the number of subscriptions it reached.
pub fn publish(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let (channel, message) = (args.arg(1), args.arg(2));
    let me = cx.session.id;
    let registry = &cx.db.pubsub;
    let mut receivers = 0;
    let mut kicked: Vec<u64> = Vec::new();
    // One frame per protocol, made when first needed, shared by everyone.
    let mut deliver = |ids: &[u64], pattern: Option<&[u8]>, out: &mut Vec<u8>| {
        let mut frames: [Option<Frame>; 2] = [None, None];
        for &id in ids {
            receivers += 1;
            let Some(subscriber) = registry.clients.get(&id) else {
                continue;
            };
            let frame = frames[usize::from(subscriber.resp3)]
                .get_or_insert_with(|| frame(pattern, channel, message, subscriber.resp3));
            if id == me {
                out.extend_from_slice(frame);
            } else if kicked.contains(&id) {
                continue;
            } else if let Some(outbox) = &subscriber.outbox {
                if !outbox.offer(frame) {
                    kicked.push(id);
                }
            }
            // A subscriber without an outbox (only in unit tests, which run
            // no connections) gets nothing.
        }
    };
    if let Some(ids) = registry.channels.get(channel) {
        deliver(ids, None, cx.out);
    }
    for (pattern, ids) in &registry.patterns {
        if glob_match(pattern, channel) {
            deliver(ids, Some(pattern), cx.out);
        }
    }
    for id in kicked {
        if let Some(outbox) = cx.db.pubsub.forget(id) {
            outbox.disconnect();
        }
    }
    cx.integer(receivers)
}

/// A set that remembers insertion order, with O(1) insert, remove and
/// membership (removal leaves a hole, filled when holes are the majority).
#[derive(Default)]
struct OrderedSet {
    items: Vec<Option<Vec<u8>>>,
    index: HashMap<Vec<u8>, usize>,
}

impl OrderedSet {
    fn len(&self) -> usize {
        self.index.len()
    }

    fn insert(&mut self, item: &[u8]) -> bool {
        if self.index.contains_key(item) {
            return false;
        }
        self.index.insert(item.to_vec(), self.items.len());
        self.items.push(Some(item.to_vec()));
        true
    }

    fn remove(&mut self, item: &[u8]) -> bool {
        let Some(at) = self.index.remove(item) else {
            return false;
        };
        self.items[at] = None;
        if self.index.len() * 2 < self.items.len() {
            self.items.retain(Option::is_some);
            for (at, item) in self.items.iter().enumerate() {
                let item = item.as_ref().expect("holes were removed");
                *self.index.get_mut(item).expect("indexed") = at;
            }
        }
        true
    }

    fn iter(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.items.iter().flatten()
    }
}
