//! Transactions: `MULTI EXEC DISCARD WATCH UNWATCH`, following `multi.c` of
//! redis-server 7.0.
//!
//! Between `MULTI` and `EXEC` a connection's commands are checked (name,
//! arity, context) and queued in its [`Session`], each answered `+QUEUED`;
//! a command refused at that point makes `EXEC` fail with `EXECABORT`.
//! `WATCH` registers keys in the [`Db`]; any write to one of them (by any
//! connection, this one included), its expiry, or a `FLUSHALL` while it
//! exists, makes `EXEC` fail with a null array.
//!
//! `EXEC` runs the queued commands one after the other inside [`exec`]:
//! one call, one `&mut Db`, no wait in between. In the coshare server that
//! call happens inside a single `with_state` closure, and such a closure
//! cannot reach the task to wait on anything (it does not compile), so no
//! other connection can run in the middle of a transaction. The atomicity
//! comes from the type system, not from a lock.

use super::table::{self, Spec};
use super::{After, Cx, Db, Session};
use crate::resp::{Args, OwnedArgs, reply};

/// A transaction being queued.
#[derive(Debug, Default)]
pub struct Queued {
    commands: Vec<OwnedArgs>,
    /// Bytes held by `commands`.
    bytes: usize,
    /// A command was refused while queuing: `EXEC` fails.
    aborted: bool,
}

impl Queued {
    /// Commands queued so far.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Makes `EXEC` fail (a command was refused).
    pub fn abort(&mut self) {
        self.aborted = true;
    }
}

/// Refuses a command before it runs (Redis's `rejectCommand`): inside
/// `MULTI` the transaction will fail; a refused `EXEC` discards it at once.
pub(super) fn reject(
    db: &mut Db,
    session: &mut Session,
    spec: Option<&Spec>,
    out: &mut Vec<u8>,
    message: &[u8],
) -> After {
    if let Some(multi) = &mut session.multi {
        multi.aborted = true;
    }
    if spec.is_some_and(|spec| spec.name == "exec") {
        discard_transaction(db, session);
        let mut error = b"EXECABORT Transaction discarded because of: ".to_vec();
        error.extend_from_slice(message);
        reply::error(out, error);
    } else {
        let mut error = b"ERR ".to_vec();
        error.extend_from_slice(message);
        reply::error(out, error);
    }
    After::Continue
}

/// Queues a command inside `MULTI`.
pub(super) fn queue(
    db: &mut Db,
    session: &mut Session,
    args: Args<'_>,
    out: &mut Vec<u8>,
) -> After {
    let limit = db.config.max_queued_bytes;
    let multi = session.multi.as_mut().expect("inside MULTI");
    let command = args.to_owned();
    if multi.bytes + command.heap_size() > limit {
        let message = format!("transaction exceeds the limit of {limit} bytes of queued commands");
        return reject(db, session, None, out, message.as_bytes());
    }
    multi.bytes += command.heap_size();
    multi.commands.push(command);
    reply::simple(out, "QUEUED");
    After::Continue
}

/// Ends the transaction, if any, and forgets the watched keys.
fn discard_transaction(db: &mut Db, session: &mut Session) {
    session.multi = None;
    db.watches.unwatch(session.id);
}

pub fn multi(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    if cx.session.multi.is_some() {
        return cx.error("ERR MULTI calls can not be nested");
    }
    cx.session.multi = Some(Queued::default());
    cx.ok()
}

pub fn discard(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    if cx.session.multi.is_none() {
        return cx.error("ERR DISCARD without MULTI");
    }
    discard_transaction(cx.db, cx.session);
    cx.ok()
}

/// `EXEC`: the whole transaction, in this one call.
pub fn exec(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    let Some(queued) = cx.session.multi.take() else {
        return cx.error("ERR EXEC without MULTI");
    };
    // A watched key that expired since is a change: removing it now tells
    // its watchers, this transaction included.
    for key in cx.db.watches.keys_of(cx.session.id) {
        cx.db.expire_if_due(&key, cx.now);
    }
    let changed = cx.db.watches.is_dirty(cx.session.id);
    cx.db.watches.unwatch(cx.session.id);
    if queued.aborted {
        return cx.error("EXECABORT Transaction discarded because of previous errors.");
    }
    if changed {
        return cx.nil_array();
    }
    reply::array(cx.out, queued.commands.len());
    for command in &queued.commands {
        let args = command.args();
        let spec = table::lookup(args).expect("checked when it was queued");
        let after = cx.db.run(spec, args, cx.session, cx.now, cx.out);
        // Commands that end the connection are never queued.
        debug_assert_eq!(after, After::Continue);
    }
    After::Continue
}

pub fn watch(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if cx.session.multi.is_some() {
        return cx.error("ERR WATCH inside MULTI is not allowed");
    }
    for key in args.iter_from(1) {
        // An expired key is a missing key: remove it now, so that its
        // removal later is not taken for a change.
        cx.db.expire_if_due(key, cx.now);
        cx.db.watches.watch(cx.session.id, key);
    }
    cx.ok()
}

pub fn unwatch(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    cx.db.watches.unwatch(cx.session.id);
    cx.ok()
}
