//! Where a request runs when the keyspace is split over several shards
//! (`--threads N`): a pure function of the request, the connection's
//! transaction, and the shard count, with no I/O (the connection task in
//! `client.rs` carries the plan out).
//!
//! # Which shard owns a key
//!
//! Redis Cluster's rule: the key's *hash slot* is the CRC16 (XMODEM) of the
//! key, or of its hash tag (the bytes between the first `{` and the next
//! `}`, if there are any), modulo 16384; the shard is the slot modulo the
//! shard count. Keys with the same hash tag (`{user1}.name`,
//! `{user1}.mail`) always live on one shard.
//!
//! # What runs where
//!
//! * Commands about the connection (`HELLO`, `CLIENT`, `SUBSCRIBE`, ...)
//!   and every request the one-shard server would refuse (unknown command,
//!   wrong arity, wrong context) run here, exactly as on one shard.
//! * A command whose keys all live on one shard runs there, whole.
//! * `DEL`, `UNLINK`, `EXISTS`, `MGET` and `MSET` with keys on several
//!   shards are split: each owner runs the command on its own keys, and the
//!   replies are combined (counts added, values put back in the order of
//!   the arguments). Each part is atomic on its shard; the whole is not, as
//!   in Redis Cluster (where such a command is refused instead).
//! * `KEYS`, `DBSIZE`, `FLUSHALL`, `FLUSHDB` and `PUBLISH` run on every
//!   shard, and the replies are combined (`KEYS` lists shard 0's keys
//!   first).
//! * A transaction runs on one shard, in one step there (see `tx.rs`): its
//!   `WATCH`ed and queued keys must all live on one shard, else the
//!   command that would bring in a second shard gets Redis Cluster's
//!   `CROSSSLOT` error (and, inside `MULTI`, makes `EXEC` fail, as any
//!   refused command does). `MSETNX` is atomic by definition, so its keys
//!   must live on one shard too.
//!
//! With one shard every request runs here: the server answers exactly as
//! the one-thread server does.

use super::table::{self, Check};
use crate::resp::{Args, OwnedArgs};

/// Redis Cluster's error for keys that do not live together.
pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";

/// Redis Cluster's number of hash slots.
const SLOTS: u16 = 16384;

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as
/// `crc16.c` of redis-server computes it, a byte at a time from a table.
fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0, |crc, &byte| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ byte)]
    })
}

/// The CRC of each byte value, shifted to the top: computed at compile
/// time, bit by bit.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// The key's hash slot (`CLUSTER KEYSLOT`): of its hash tag if it has a
/// non-empty one.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(key);
    crc16(hashed) % SLOTS
}

/// The shard that owns `key`, of `shards`.
pub fn owner(key: &[u8], shards: usize) -> usize {
    usize::from(key_slot(key)) % shards
}

/// How the replies of a command's parts become its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// Integers, added (`DEL`, `EXISTS`, `DBSIZE`, `PUBLISH`).
    Sum,
    /// Arrays, joined in shard order (`KEYS`).
    Join,
    /// One array of `n` values, each part's values put back at the
    /// positions of its keys (`MGET`).
    Gather(usize),
    /// The same reply from every part (`MSET`, `FLUSHALL`): the first.
    Same,
}

/// One shard's part of a split command.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    /// The shard that runs it.
    pub shard: usize,
    /// The command, with this shard's keys only.
    pub args: OwnedArgs,
    /// For [`Combine::Gather`]: where each of its values goes in the
    /// reply.
    pub positions: Vec<usize>,
}

/// What to do with one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Run it here, as the one-shard server does.
    Here,
    /// Run it here, then forget what this connection watches on `shard`
    /// (`EXEC`, `DISCARD`, `UNWATCH`, `RESET` end a transaction's
    /// watches, and they are on that shard).
    HereThenUnwatch(usize),
    /// Send it, whole, to `shard`.
    Send(usize),
    /// Send the transaction queued here, with this `EXEC`, to `shard`.
    Exec(usize),
    /// Split it by owner, run every part, combine the replies.
    Split(Combine, Vec<Part>),
    /// Run it on every shard, combine the replies.
    Everywhere(Combine),
    /// Refuse it with this error (inside `MULTI`, the transaction then
    /// fails).
    Refuse(String),
}

/// What one connection's routing remembers: which shard its transaction
/// (`WATCH`, then `MULTI` ... `EXEC`) is bound to.
#[derive(Debug)]
pub struct Router {
    here: usize,
    shards: usize,
    /// The shard of the keys watched or queued so far.
    tx: Option<usize>,
    /// Shards other than this one where the connection watched keys.
    watched_elsewhere: Vec<usize>,
}

impl Router {
    /// The router of a connection on shard `here` of `shards`.
    pub fn new(here: usize, shards: usize) -> Router {
        Router {
            here,
            shards,
            tx: None,
            watched_elsewhere: Vec::new(),
        }
    }

    /// How many shards there are.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// Other shards where this connection has ever watched keys: when it
    /// closes, they must forget its watches.
    pub fn watched_elsewhere(&self) -> &[usize] {
        &self.watched_elsewhere
    }

    /// The plan for `args`, from a connection that is inside `MULTI` or
    /// not, and in RESP2 pub/sub mode or not.
    pub fn plan(&mut self, args: Args<'_>, in_multi: bool, resp2_subscribed: bool) -> Plan {
        if self.shards == 1 {
            return Plan::Here;
        }
        let Ok(spec) = table::lookup(args) else {
            return Plan::Here;
        };
        if resp2_subscribed {
            // Only connection commands run in this context; `RESET` also
            // ends the transaction.
            return match spec.name {
                "reset" => self.end_tx(),
                _ => Plan::Here,
            };
        }
        let arity_ok = if spec.arity >= 0 {
            args.len() == spec.arity as usize
        } else {
            args.len() >= spec.arity.unsigned_abs() as usize
        };
        if !arity_ok {
            return Plan::Here;
        }
        match spec.name {
            "exec" => {
                if !in_multi {
                    return Plan::Here;
                }
                return match self.tx.take() {
                    Some(shard) if shard != self.here => Plan::Exec(shard),
                    _ => Plan::Here,
                };
            }
            "discard" | "reset" if in_multi || spec.name == "reset" => return self.end_tx(),
            "unwatch" if !in_multi => return self.end_tx(),
            "watch" if !in_multi => {
                let Some(shard) = self.one_shard(args, spec.first_key, spec.last_key, 1) else {
                    return Plan::Refuse(CROSSSLOT.into());
                };
                return self.bind(shard, Plan::Send(shard));
            }
            _ => {}
        }
        if spec.check != Check::Queued {
            return Plan::Here;
        }
        let everywhere = match spec.name {
            "keys" => Some(Combine::Join),
            "dbsize" | "publish" => Some(Combine::Sum),
            "flushall" | "flushdb" => Some(Combine::Same),
            _ => None,
        };
        if let Some(combine) = everywhere {
            if in_multi {
                return Plan::Refuse(format!(
                    "ERR {} cannot be part of a transaction while the keyspace is split over {} shards",
                    spec.name.to_ascii_uppercase(),
                    self.shards
                ));
            }
            return Plan::Everywhere(combine);
        }
        if spec.first_key == 0 {
            // About the connection: where it lives. These answer the same
            // on any shard, and change nothing of the connection there
            // (there is one database, and no password).
            if in_multi && !matches!(spec.name, "ping" | "echo" | "unwatch" | "select" | "auth") {
                return self.bind(self.here, Plan::Here);
            }
            return Plan::Here;
        }
        let (first, last, step) = (spec.first_key, spec.last_key, spec.step);
        if in_multi {
            return match self.one_shard(args, first, last, step) {
                Some(shard) => self.bind(shard, Plan::Here),
                None => Plan::Refuse(CROSSSLOT.into()),
            };
        }
        if let Some(shard) = self.one_shard(args, first, last, step) {
            return if shard == self.here {
                Plan::Here
            } else {
                Plan::Send(shard)
            };
        }
        match spec.name {
            "del" | "unlink" | "exists" => Plan::Split(Combine::Sum, self.split(args, 1)),
            "mget" => Plan::Split(Combine::Gather(args.len() - 1), self.split(args, 1)),
            // An odd count is MSET's own error: run it here.
            "mset" if args.len() % 2 == 1 => Plan::Split(Combine::Same, self.split(args, 2)),
            "mset" => Plan::Here,
            _ => Plan::Refuse(CROSSSLOT.into()),
        }
    }

    /// Binds the transaction to `shard`, if it may, and returns `then`;
    /// else refuses.
    fn bind(&mut self, shard: usize, then: Plan) -> Plan {
        match self.tx {
            Some(bound) if bound != shard => return Plan::Refuse(CROSSSLOT.into()),
            _ => self.tx = Some(shard),
        }
        if let Plan::Send(shard) = then {
            if shard == self.here {
                return Plan::Here;
            }
            if !self.watched_elsewhere.contains(&shard) {
                self.watched_elsewhere.push(shard);
            }
        }
        then
    }

    /// The transaction ends: its watches go, wherever they are.
    fn end_tx(&mut self) -> Plan {
        match self.tx.take() {
            Some(shard) if shard != self.here => Plan::HereThenUnwatch(shard),
            _ => Plan::Here,
        }
    }

    /// The indexes of the keys of `args`, as the table's key positions
    /// say.
    fn key_indexes(
        args: Args<'_>,
        first: i32,
        last: i32,
        step: i32,
    ) -> impl Iterator<Item = usize> {
        let last = if last < 0 {
            args.len() as i32 + last
        } else {
            last
        };
        (first..=last)
            .step_by(step.max(1) as usize)
            .map(|i| i as usize)
    }

    /// The one shard owning every key of `args`, if there is one.
    fn one_shard(&self, args: Args<'_>, first: i32, last: i32, step: i32) -> Option<usize> {
        let mut owners =
            Self::key_indexes(args, first, last, step).map(|i| owner(args.arg(i), self.shards));
        let first = owners.next()?;
        owners.all(|shard| shard == first).then_some(first)
    }

    /// Splits a command whose arguments after the name are groups of
    /// `group` (a key first), by the key's owner, in shard order.
    fn split(&self, args: Args<'_>, group: usize) -> Vec<Part> {
        let mut by_shard: Vec<(Vec<&[u8]>, Vec<usize>)> =
            vec![(Vec::new(), Vec::new()); self.shards];
        for (n, at) in (1..args.len()).step_by(group).enumerate() {
            let (part, positions) = &mut by_shard[owner(args.arg(at), self.shards)];
            if part.is_empty() {
                part.push(args.arg(0));
            }
            part.extend((at..at + group).map(|i| args.arg(i)));
            positions.push(n);
        }
        by_shard
            .into_iter()
            .enumerate()
            .filter(|(_, (part, _))| !part.is_empty())
            .map(|(shard, (part, positions))| Part {
                shard,
                args: OwnedArgs::from_slices(&part),
                positions,
            })
            .collect()
    }
}

/// Combines the parts' replies into one. Any part's error is the reply
/// (the first one, in part order).
pub fn combine(how: Combine, parts: &[&[u8]], positions: &[&[usize]], out: &mut Vec<u8>) {
    if let Some(error) = parts.iter().find(|part| part.first() == Some(&b'-')) {
        out.extend_from_slice(error);
        return;
    }
    match how {
        Combine::Sum => {
            let sum: i64 = parts.iter().map(|part| integer(part).unwrap_or(0)).sum();
            crate::resp::reply::integer(out, sum);
        }
        Combine::Same => out.extend_from_slice(parts.first().copied().unwrap_or(b"+OK\r\n")),
        Combine::Join => {
            let elements: Vec<Vec<&[u8]>> = parts.iter().map(|part| elements(part)).collect();
            crate::resp::reply::array(out, elements.iter().map(Vec::len).sum());
            for element in elements.iter().flatten() {
                out.extend_from_slice(element);
            }
        }
        Combine::Gather(n) => {
            let mut values: Vec<&[u8]> = vec![b"$-1\r\n"; n];
            for (part, positions) in parts.iter().zip(positions) {
                for (element, &at) in elements(part).into_iter().zip(positions.iter()) {
                    values[at] = element;
                }
            }
            crate::resp::reply::array(out, n);
            for value in values {
                out.extend_from_slice(value);
            }
        }
    }
}

/// The value of an integer reply, `:n\r\n`.
fn integer(reply: &[u8]) -> Option<i64> {
    let digits = reply.strip_prefix(b":")?.strip_suffix(b"\r\n")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The elements of an array reply of bulk strings and nulls (what `KEYS`
/// and `MGET` answer), each with its framing; nothing if it is not one.
fn elements(reply: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let Some((header, mut rest)) = line(reply) else {
        return found;
    };
    if !header.starts_with(b"*") {
        return found;
    }
    while !rest.is_empty() {
        let Some((header, after)) = line(rest) else {
            break;
        };
        let len = match header {
            b"_" | b"$-1" => 0,
            _ => match std::str::from_utf8(&header[1..])
                .ok()
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(len) => len + 2,
                None => break,
            },
        };
        let taken = rest.len() - after.len() + len;
        if taken > rest.len() {
            break;
        }
        found.push(&rest[..taken]);
        rest = &rest[taken..];
    }
    found
}

/// The first line of `bytes` without its `\r\n`, and what follows it.
fn line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    Some((&bytes[..end], &bytes[end + 2..]))
}
