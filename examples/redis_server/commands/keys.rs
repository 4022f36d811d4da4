//! Generic key commands: `DEL UNLINK EXISTS EXPIRE PEXPIRE TTL PTTL PERSIST
//! TYPE KEYS DBSIZE FLUSHALL FLUSHDB`, following `db.c` and `expire.c` of
//! redis-server 7.0.

use super::keyspace::{Entry, Value};
use super::{After, Cx, SYNTAX, glob_match, int_arg, is, printed, unix_millis};
use crate::resp::{Args, reply};

pub fn del(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let mut removed = 0;
    for key in args.iter_from(1) {
        cx.db.expire_if_due(key, cx.now);
        removed += i64::from(cx.db.remove(key).is_some());
    }
    cx.integer(removed)
}

pub fn exists(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let mut found = 0;
    for key in args.iter_from(1) {
        found += i64::from(cx.get(key).is_some());
    }
    cx.integer(found)
}

/// `EXPIRE key seconds [NX | XX | GT | LT]` (`unit` = 1000) and `PEXPIRE`:
/// Redis's `expireGenericCommand`, checks and errors in its order.
pub fn expire(cx: &mut Cx<'_>, args: Args<'_>, unit: i64) -> After {
    let name = if unit == 1 { "pexpire" } else { "expire" };
    let invalid = format!("ERR invalid expire time in '{name}' command");
    let key = args.arg(1);
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in args.iter_from(3) {
        match () {
            () if is(option, "NX") => nx = true,
            () if is(option, "XX") => xx = true,
            () if is(option, "GT") => gt = true,
            () if is(option, "LT") => lt = true,
            () => {
                let mut message = b"ERR Unsupported option ".to_vec();
                message.extend_from_slice(printed(option, usize::MAX));
                return cx.error(message);
            }
        }
    }
    if nx && (xx || gt || lt) {
        return cx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return cx.error("ERR GT and LT options at the same time are not compatible");
    }
    let amount = match int_arg(args.arg(2)) {
        Ok(n) => n,
        Err(e) => return cx.error(e),
    };
    // The deadline in Unix milliseconds must fit in an i64.
    if unit == 1000 && !(i64::MIN / 1000..=i64::MAX / 1000).contains(&amount) {
        return cx.error(invalid);
    }
    let ms = amount * unit;
    let base = unix_millis();
    if ms > i64::MAX - base {
        return cx.error(invalid);
    }
    let now = cx.now;
    let Some(current) = cx.get(key).map(|e| e.expires_at) else {
        return cx.integer(0);
    };
    // Compare relative to now, on the server's clock; a key without a TTL
    // counts as expiring never.
    let new = i128::from(ms);
    let current = current.map(|at| i128::from(at) - i128::from(now));
    let applies = match current {
        _ if nx => current.is_none(),
        None => !(xx || gt),
        Some(current) => (!gt || new > current) && (!lt || new < current),
    };
    if !applies {
        return cx.integer(0);
    }
    if ms <= 0 {
        cx.db.remove(key);
    } else {
        cx.db.set_expiry(key, Some(now.saturating_add(ms as u64)));
    }
    cx.integer(1)
}

/// `TTL` (rounded to the nearest second, as Redis does) and `PTTL`.
pub fn ttl(cx: &mut Cx<'_>, args: Args<'_>, millis: bool) -> After {
    let now = cx.now;
    match cx.get(args.arg(1)).map(|e| e.expires_at) {
        None => cx.integer(-2),
        Some(None) => cx.integer(-1),
        Some(Some(at)) => {
            let ms = at.saturating_sub(now) as i64;
            cx.integer(if millis { ms } else { (ms + 500) / 1000 })
        }
    }
}

pub fn persist(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let key = args.arg(1);
    match cx.get(key).map(|e| e.expires_at) {
        Some(Some(_)) => {
            cx.db.set_expiry(key, None);
            cx.integer(1)
        }
        _ => cx.integer(0),
    }
}

pub fn type_of(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let name = match cx.get(args.arg(1)) {
        None => "none",
        Some(Entry {
            value: Value::Str(_),
            ..
        }) => "string",
        Some(Entry {
            value: Value::List(_),
            ..
        }) => "list",
    };
    reply::simple(cx.out, name);
    After::Continue
}

/// `KEYS pattern`: `*` alone lists every live key (even the empty one,
/// which Redis's matcher would not match).
pub fn keys(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let pattern = args.arg(1);
    let all = pattern == b"*";
    let matching: Vec<&Vec<u8>> = cx
        .db
        .live_keys(cx.now)
        .filter(|key| all || glob_match(pattern, key))
        .collect();
    reply::array(cx.out, matching.len());
    for key in matching {
        reply::bulk(cx.out, key);
    }
    After::Continue
}

pub fn dbsize(cx: &mut Cx<'_>, _: Args<'_>) -> After {
    let len = cx.db.len() as i64;
    cx.integer(len)
}

/// `FLUSHALL [ASYNC | SYNC]`, `FLUSHDB [ASYNC | SYNC]`.
pub fn flush(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match args.len() {
        1 => {}
        2 if is(args.arg(1), "ASYNC") || is(args.arg(1), "SYNC") => {}
        _ => return cx.error(SYNTAX),
    }
    cx.db.flush();
    cx.ok()
}
