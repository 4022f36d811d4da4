//! Routing on a split keyspace: key slots as Redis Cluster computes them,
//! the plan of each kind of request, and the combining of replies.

use super::super::route::{CROSSSLOT, Combine, Part, Plan, Router, combine, key_slot, owner};
use crate::resp::OwnedArgs;

/// `CLUSTER KEYSLOT` of redis-server, and the CRC16 check value.
#[test]
fn key_slots_are_redis_clusters() {
    assert_eq!(key_slot(b"123456789"), 0x31c3); // CRC16/XMODEM check value
    assert_eq!(key_slot(b"foo"), 12182);
    assert_eq!(key_slot(b"bar"), 5061);
    assert_eq!(key_slot(b""), 0);
    // Hash tags: the first `{`, the next `}`, and not empty.
    assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
    assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
    assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
    assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
    assert_eq!(key_slot(b"{bar"), key_slot(b"{bar"));
    // `{a}` and `{b}` (the tests' tags) live on different shards of two.
    assert_eq!((owner(b"{a}x", 2), owner(b"{b}x", 2)), (1, 0));
}

fn args(words: &[&str]) -> OwnedArgs {
    OwnedArgs::from_slices(words)
}

/// The plan for `words` on shard 0 of 2.
fn plan(router: &mut Router, words: &[&str], in_multi: bool) -> Plan {
    router.plan(args(words).args(), in_multi, false)
}

#[test]
fn one_shard_runs_everything_here() {
    let mut router = Router::new(0, 1);
    for words in [
        &["GET", "{a}k"][..],
        &["KEYS", "*"],
        &["WATCH", "{a}x", "{b}y"],
    ] {
        assert_eq!(plan(&mut router, words, false), Plan::Here);
    }
}

#[test]
fn a_key_runs_on_its_owner_and_errors_run_here() {
    let mut router = Router::new(0, 2);
    assert_eq!(plan(&mut router, &["GET", "{b}k"], false), Plan::Here);
    assert_eq!(plan(&mut router, &["get", "{a}k"], false), Plan::Send(1));
    assert_eq!(
        plan(&mut router, &["MGET", "{a}k", "{a}j"], false),
        Plan::Send(1)
    );
    // Unknown commands and wrong arities get the one-shard server's errors.
    assert_eq!(plan(&mut router, &["GET"], false), Plan::Here);
    assert_eq!(plan(&mut router, &["NOPE", "{a}k"], false), Plan::Here);
    assert_eq!(
        plan(&mut router, &["MSET", "{a}k", "v", "{b}k"], false),
        Plan::Here
    );
    // So do the connection's own commands.
    assert_eq!(
        plan(&mut router, &["CLIENT", "SETNAME", "x"], false),
        Plan::Here
    );
    assert_eq!(plan(&mut router, &["SUBSCRIBE", "{a}k"], false), Plan::Here);
    // In RESP2's subscribed context everything runs here (and is refused
    // there as on one shard).
    assert_eq!(
        router.plan(args(&["GET", "{a}k"]).args(), false, true),
        Plan::Here
    );
}

#[test]
fn multi_key_commands_are_split_by_owner_in_shard_order() {
    let mut router = Router::new(0, 2);
    let Plan::Split(Combine::Gather(3), parts) =
        plan(&mut router, &["MGET", "{a}1", "{b}2", "{a}3"], false)
    else {
        panic!("MGET over two shards is split")
    };
    assert_eq!(
        parts,
        [
            Part {
                shard: 0,
                args: args(&["MGET", "{b}2"]),
                positions: vec![1],
            },
            Part {
                shard: 1,
                args: args(&["MGET", "{a}1", "{a}3"]),
                positions: vec![0, 2],
            },
        ]
    );
    let Plan::Split(Combine::Same, parts) =
        plan(&mut router, &["MSET", "{a}1", "x", "{b}2", "y"], false)
    else {
        panic!("MSET over two shards is split")
    };
    assert_eq!(parts[1].args, args(&["MSET", "{a}1", "x"]));
    for name in ["DEL", "UNLINK", "EXISTS"] {
        assert!(matches!(
            plan(&mut router, &[name, "{a}1", "{b}2", "{a}1"], false),
            Plan::Split(Combine::Sum, parts) if parts[1].args == args(&[name, "{a}1", "{a}1"])
        ));
    }
    // Atomic over its keys: refused.
    assert_eq!(
        plan(&mut router, &["MSETNX", "{a}1", "x", "{b}2", "y"], false),
        Plan::Refuse(CROSSSLOT.into())
    );
}

#[test]
fn keyspace_wide_commands_run_everywhere_but_not_in_a_transaction() {
    let mut router = Router::new(0, 2);
    assert_eq!(
        plan(&mut router, &["KEYS", "*"], false),
        Plan::Everywhere(Combine::Join)
    );
    assert_eq!(
        plan(&mut router, &["DBSIZE"], false),
        Plan::Everywhere(Combine::Sum)
    );
    assert_eq!(
        plan(&mut router, &["PUBLISH", "c", "m"], false),
        Plan::Everywhere(Combine::Sum)
    );
    assert_eq!(
        plan(&mut router, &["FLUSHALL"], false),
        Plan::Everywhere(Combine::Same)
    );
    let Plan::Refuse(error) = plan(&mut router, &["DBSIZE"], true) else {
        panic!("DBSIZE inside MULTI is refused")
    };
    assert_eq!(
        error,
        "ERR DBSIZE cannot be part of a transaction while the keyspace is split over 2 shards"
    );
}

#[test]
fn a_transaction_is_bound_to_the_shard_of_its_first_key() {
    let mut router = Router::new(0, 2);
    // WATCH on the other shard binds the transaction there.
    assert_eq!(
        plan(&mut router, &["WATCH", "{a}1", "{a}2"], false),
        Plan::Send(1)
    );
    assert_eq!(router.watched_elsewhere(), [1]);
    assert_eq!(
        plan(&mut router, &["WATCH", "{b}1"], false),
        Plan::Refuse(CROSSSLOT.into())
    );
    assert_eq!(plan(&mut router, &["MULTI"], false), Plan::Here);
    // Queued here, checked against the binding.
    assert_eq!(plan(&mut router, &["SET", "{a}3", "v"], true), Plan::Here);
    assert_eq!(plan(&mut router, &["PING"], true), Plan::Here);
    assert_eq!(
        plan(&mut router, &["GET", "{b}3"], true),
        Plan::Refuse(CROSSSLOT.into())
    );
    // EXEC takes the transaction to its shard, and ends the binding.
    assert_eq!(plan(&mut router, &["EXEC"], true), Plan::Exec(1));
    assert_eq!(plan(&mut router, &["MULTI"], false), Plan::Here);
    assert_eq!(plan(&mut router, &["GET", "{b}3"], true), Plan::Here);
    assert_eq!(plan(&mut router, &["EXEC"], true), Plan::Here);
    // A connection command in a transaction binds it here.
    assert_eq!(plan(&mut router, &["MULTI"], false), Plan::Here);
    assert_eq!(
        plan(&mut router, &["CLIENT", "SETNAME", "x"], true),
        Plan::Here
    );
    assert_eq!(
        plan(&mut router, &["GET", "{a}3"], true),
        Plan::Refuse(CROSSSLOT.into())
    );
    assert_eq!(plan(&mut router, &["DISCARD"], true), Plan::Here);
    // Keys of one transaction on two shards.
    assert_eq!(
        plan(&mut router, &["WATCH", "{a}1", "{b}1"], false),
        Plan::Refuse(CROSSSLOT.into())
    );
}

#[test]
fn ending_a_transaction_forgets_its_watches_on_their_shard() {
    let mut router = Router::new(0, 2);
    for end in [&["UNWATCH"][..], &["RESET"]] {
        assert_eq!(plan(&mut router, &["WATCH", "{a}1"], false), Plan::Send(1));
        assert_eq!(plan(&mut router, end, false), Plan::HereThenUnwatch(1));
        assert_eq!(plan(&mut router, end, false), Plan::Here);
    }
    assert_eq!(plan(&mut router, &["WATCH", "{a}1"], false), Plan::Send(1));
    // DISCARD without MULTI keeps the watches, as in Redis.
    assert_eq!(plan(&mut router, &["DISCARD"], false), Plan::Here);
    assert_eq!(plan(&mut router, &["MULTI"], false), Plan::Here);
    assert_eq!(
        plan(&mut router, &["DISCARD"], true),
        Plan::HereThenUnwatch(1)
    );
    // RESET also in RESP2's subscribed context.
    assert_eq!(plan(&mut router, &["WATCH", "{a}1"], false), Plan::Send(1));
    assert_eq!(
        router.plan(args(&["RESET"]).args(), false, true),
        Plan::HereThenUnwatch(1)
    );
}

fn combined(how: Combine, parts: &[&[u8]], positions: &[&[usize]]) -> String {
    let mut out = Vec::new();
    combine(how, parts, positions, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn replies_are_combined_as_one_shard_would_answer() {
    assert_eq!(
        combined(Combine::Sum, &[b":2\r\n", b":0\r\n", b":5\r\n"], &[]),
        ":7\r\n"
    );
    assert_eq!(
        combined(Combine::Same, &[b"+OK\r\n", b"+OK\r\n"], &[]),
        "+OK\r\n"
    );
    assert_eq!(
        combined(
            Combine::Join,
            &[
                b"*1\r\n$1\r\na\r\n",
                b"*0\r\n",
                b"*2\r\n$0\r\n\r\n$2\r\nbc\r\n"
            ],
            &[]
        ),
        "*3\r\n$1\r\na\r\n$0\r\n\r\n$2\r\nbc\r\n"
    );
    // Values back at their keys' positions; nulls of either protocol; a
    // value holding `\r\n`.
    assert_eq!(
        combined(
            Combine::Gather(4),
            &[b"*2\r\n$-1\r\n$4\r\na\r\nb\r\n", b"*2\r\n_\r\n$1\r\nz\r\n"],
            &[&[1, 2], &[0, 3]]
        ),
        "*4\r\n_\r\n$-1\r\n$4\r\na\r\nb\r\n$1\r\nz\r\n"
    );
    // An error from any part is the reply.
    assert_eq!(
        combined(Combine::Sum, &[b":1\r\n", b"-ERR shard 1 stopped\r\n"], &[]),
        "-ERR shard 1 stopped\r\n"
    );
}
