//! List commands: `LPUSH RPUSH LPOP RPOP LLEN LRANGE`, following `t_list.c`
//! of redis-server 7.0.

use std::collections::VecDeque;

use super::keyspace::{Entry, Value};
use super::{After, Cx, WRONGTYPE, int_arg, wrong_arity};
use crate::resp::{Args, reply};

pub fn push(cx: &mut Cx<'_>, args: Args<'_>, front: bool) -> After {
    let key = args.arg(1);
    match cx.get(key) {
        Some(Entry {
            value: Value::List(_),
            ..
        }) => {}
        Some(_) => return cx.error(WRONGTYPE),
        None => cx.db.insert(key, Value::List(VecDeque::new())),
    }
    let Some(Entry {
        value: Value::List(list),
        ..
    }) = cx.db.space.keys.get_mut(key)
    else {
        unreachable!("a list is there now");
    };
    for value in args.iter_from(2) {
        if front {
            list.push_front(value.to_vec());
        } else {
            list.push_back(value.to_vec());
        }
    }
    let len = list.len() as i64;
    cx.db.touch(key);
    cx.integer(len)
}

/// `LPOP key [count]`, `RPOP key [count]`.
pub fn pop(cx: &mut Cx<'_>, args: Args<'_>, front: bool) -> After {
    let key = args.arg(1);
    let count = match args.len() {
        2 => None,
        // `getPositiveLongFromObjectOrReply`: one message for both a bad
        // number and a negative one.
        3 => match int_arg(args.arg(2)) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return cx.error("ERR value is out of range, must be positive"),
        },
        _ => {
            let name = if front { "lpop" } else { "rpop" };
            return cx.error(format!("ERR {}", wrong_arity(name)));
        }
    };
    let list = match cx.entry_mut(key) {
        None if count.is_some() => return cx.nil_array(),
        None => return cx.nil(),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return cx.error(WRONGTYPE),
    };
    if count == Some(0) {
        return cx.empty_array();
    }
    let take = count.unwrap_or(1).min(list.len());
    let popped: Vec<Vec<u8>> = (0..take)
        .filter_map(|_| {
            if front {
                list.pop_front()
            } else {
                list.pop_back()
            }
        })
        .collect();
    if list.is_empty() {
        cx.db.remove(key);
    } else {
        cx.db.touch(key);
    }
    match count {
        None => cx.bulk(&popped[0]),
        Some(_) => {
            reply::array(cx.out, popped.len());
            for value in &popped {
                reply::bulk(cx.out, value);
            }
            After::Continue
        }
    }
}

pub fn llen(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    match cx.get(args.arg(1)) {
        None => cx.integer(0),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => {
            let len = list.len() as i64;
            cx.integer(len)
        }
        Some(_) => cx.error(WRONGTYPE),
    }
}

pub fn lrange(cx: &mut Cx<'_>, args: Args<'_>) -> After {
    let (start, stop) = match (int_arg(args.arg(2)), int_arg(args.arg(3))) {
        (Ok(start), Ok(stop)) => (start, stop),
        (Err(e), _) | (_, Err(e)) => return cx.error(e),
    };
    let now = cx.now;
    let list = match cx.db.get(args.arg(1), now) {
        None => return cx.empty_array(),
        Some(Entry {
            value: Value::List(list),
            ..
        }) => list,
        Some(_) => return cx.error(WRONGTYPE),
    };
    let len = list.len() as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        reply::array(cx.out, 0);
        return After::Continue;
    }
    let stop = stop.min(len - 1);
    reply::array(cx.out, (stop - start + 1) as usize);
    for value in list.range(start as usize..=stop as usize) {
        reply::bulk(cx.out, value);
    }
    After::Continue
}
