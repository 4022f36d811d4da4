//! String commands: `GET SET SETNX MSET MSETNX MGET INCR DECR INCRBY DECRBY
//! APPEND STRLEN`, following `t_string.c` of redis-server 7.0.

use super::keyspace::{Entry, Value};
use super::{After, Cx, NOT_AN_INTEGER, SYNTAX, WRONGTYPE, int_arg, server_deadline, wrong_arity};
use crate::resp::{Args, parse_i64_strict, reply};

const INVALID_EXPIRE: &str = "ERR invalid expire time in 'set' command";

pub fn get(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match cx.db.get(args.arg(1), cx.now) {
        None => reply::null(cx.out, cx.session.resp3),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => reply::bulk(cx.out, s),
        Some(_) => reply::error(cx.out, WRONGTYPE),
    }
    After::Continue
}

/// The options of `SET`, as Redis's `parseExtendedStringArgumentsOrReply`
/// accepts them: `NX` and `XX` exclude each other; `EX`, `PX`, `EXAT`,
/// `PXAT` and `KEEPTTL` exclude each other but each may repeat (the last
/// value counts); `GET` may repeat.
#[derive(Default)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    /// The unit option (`b"EX"`, ...) and its argument.
    expire: Option<(&'static str, &'a [u8])>,
}

fn set_options<'a>(args: &Args<'a>) -> Option<SetOptions<'a>> {
    let mut o = SetOptions::default();
    let mut i = 3;
    while i < args.len() {
        // Redis compares these byte by byte up to a NUL, as C strings.
        let option = super::cstr(args.arg(i));
        let next = (i + 1 < args.len()).then(|| args.arg(i + 1));
        let unit = o.expire.map(|(unit, _)| unit);
        let other_unit = |mine: &str| unit.is_some_and(|u| u != mine);
        let word = |w: &str| option.eq_ignore_ascii_case(w.as_bytes());
        if word("NX") && !o.xx {
            o.nx = true;
        } else if word("XX") && !o.nx {
            o.xx = true;
        } else if word("GET") {
            o.get = true;
        } else if word("KEEPTTL") && unit.is_none() {
            o.keep_ttl = true;
        } else if let Some(unit) = ["EX", "PX", "EXAT", "PXAT"].into_iter().find(|u| word(u)) {
            match next {
                Some(amount) if !o.keep_ttl && !other_unit(unit) => {
                    o.expire = Some((unit, amount));
                    i += 1;
                }
                _ => return None,
            }
        } else {
            return None;
        }
        i += 1;
    }
    Some(o)
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`
pub fn set(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let (key, value) = (args.arg(1), args.arg(2));
    let Some(options) = set_options(&args) else {
        return cx.error(SYNTAX);
    };
    // `getExpireMillisecondsOrReply`: a positive amount whose deadline, in
    // Unix milliseconds, fits in an i64.
    let deadline = match options.expire {
        None => None,
        Some((unit, amount)) => {
            let n = match int_arg(amount) {
                Ok(n) => n,
                Err(e) => return cx.error(e),
            };
            let seconds = unit == "EX" || unit == "EXAT";
            if n <= 0 || (seconds && n > i64::MAX / 1000) {
                return cx.error(INVALID_EXPIRE);
            }
            let ms = if seconds { n * 1000 } else { n };
            if unit == "EX" || unit == "PX" {
                // Redis adds the Unix time and fails on overflow.
                if ms.checked_add(super::unix_millis()).is_none() {
                    return cx.error(INVALID_EXPIRE);
                }
                Some(cx.now.saturating_add(ms as u64))
            } else {
                Some(server_deadline(cx.now, ms))
            }
        }
    };
    let old = match cx.get(key) {
        None => None,
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Some(if options.get { s.clone() } else { Vec::new() }),
        Some(_) if options.get => return cx.error(WRONGTYPE),
        Some(_) => Some(Vec::new()),
    };
    if options.get {
        match &old {
            Some(old) => reply::bulk(cx.out, old),
            None => reply::null(cx.out, cx.session.resp3),
        }
    }
    let exists = old.is_some();
    if (options.nx && exists) || (options.xx && !exists) {
        return if options.get {
            After::Continue
        } else {
            cx.nil()
        };
    }
    cx.db.put_str(key, value);
    if !options.keep_ttl {
        cx.db.set_expiry(key, deadline);
    }
    if options.get {
        After::Continue
    } else {
        cx.ok()
    }
}

pub fn setnx(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let key = args.arg(1);
    if cx.get(key).is_some() {
        return cx.integer(0);
    }
    cx.db.put_str(key, args.arg(2));
    cx.integer(1)
}

pub fn mset(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() % 2 == 0 {
        return cx.error(format!("ERR {}", wrong_arity("mset")));
    }
    for i in (1..args.len()).step_by(2) {
        let key = args.arg(i);
        cx.db.put_str(key, args.arg(i + 1));
        cx.db.set_expiry(key, None);
    }
    cx.ok()
}

pub fn msetnx(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    if args.len() % 2 == 0 {
        return cx.error(format!("ERR {}", wrong_arity("msetnx")));
    }
    for i in (1..args.len()).step_by(2) {
        if cx.get(args.arg(i)).is_some() {
            return cx.integer(0);
        }
    }
    for i in (1..args.len()).step_by(2) {
        cx.db.put_str(args.arg(i), args.arg(i + 1));
        cx.db.set_expiry(args.arg(i), None);
    }
    cx.integer(1)
}

pub fn mget(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    reply::array(cx.out, args.len() - 1);
    for key in args.iter_from(1) {
        match cx.db.get(key, cx.now) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => reply::bulk(cx.out, s),
            _ => reply::null(cx.out, cx.session.resp3),
        }
    }
    After::Continue
}

/// `incrDecrCommand`.
pub fn incr_by(cx: &mut Cx<'_>, key: &[u8], delta: i64) -> After {
    let result = match cx.entry_mut(key) {
        None => Ok(delta),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => match parse_i64_strict(s) {
            None => Err(NOT_AN_INTEGER),
            Some(n) => n
                .checked_add(delta)
                .ok_or("ERR increment or decrement would overflow"),
        },
        Some(_) => Err(WRONGTYPE),
    };
    match result {
        Ok(n) => {
            let mut digits = Vec::new();
            reply::decimal(&mut digits, n);
            cx.db.put_str(key, &digits);
            cx.integer(n)
        }
        Err(e) => cx.error(e),
    }
}

pub fn incrby(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match int_arg(args.arg(2)) {
        Ok(delta) => incr_by(cx, args.arg(1), delta),
        Err(e) => cx.error(e),
    }
}

pub fn decrby(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match int_arg(args.arg(2)) {
        Ok(i64::MIN) => cx.error("ERR decrement would overflow"),
        Ok(delta) => incr_by(cx, args.arg(1), -delta),
        Err(e) => cx.error(e),
    }
}

pub fn append(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let (key, tail) = (args.arg(1), args.arg(2));
    let limit = cx.db.config.limits.max_bulk_len;
    let len = match cx.entry_mut(key) {
        None => None,
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            if s.len() + tail.len() > limit {
                return cx.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
            }
            s.extend_from_slice(tail);
            Some(s.len())
        }
        Some(_) => return cx.error(WRONGTYPE),
    };
    match len {
        Some(len) => {
            cx.db.touch(key);
            cx.integer(len as i64)
        }
        None => {
            cx.db.put_str(key, tail);
            cx.integer(tail.len() as i64)
        }
    }
}

pub fn strlen(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match cx.get(args.arg(1)) {
        None => cx.integer(0),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            let len = s.len() as i64;
            cx.integer(len)
        }
        Some(_) => cx.error(WRONGTYPE),
    }
}
