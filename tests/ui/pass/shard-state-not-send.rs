// A shard's state need not be `Send`: it is built on the shard's thread
// and stays there; `finish` turns it into a value that is.

use std::rc::Rc;

use coshare::driver::shards::{Finished, Shard, ShardsBuilder};
use coshare::driver::Task;
use coshare::{Eff, Yields};

fn main() {
    let shards = ShardsBuilder::new()
        .shards(2)
        .start(
            |index, _| Rc::new(index),
            |_: &mut Task<Rc<usize>>, _: Shard<u32, Rc<usize>>| -> Eff<Yields, ()> { Ok(()) },
            |end: Finished<Rc<usize>, u32>| *end.state,
        )
        .unwrap();
    let states: Vec<usize> = shards.join().into_iter().map(Result::unwrap).collect();
    assert_eq!(states, [0, 1]);
}
