// A generic helper must say which parts it needs: the message says how.
use coshare::prelude::*;
use coshare::{Co, CoroutineShareable};

struct JobQueue(Vec<u32>);

fn enqueue<S: CoroutineShareable>(co: &mut Co<S>, job: u32) {
    co.part::<JobQueue>().0.push(job); //~ ERROR the shared state `S` has no part of type `JobQueue` that a lookup by type can find
}

fn main() {}
