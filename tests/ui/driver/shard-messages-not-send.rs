// Messages between shards cross threads: a message type that is not
// `Send` (here one holding an `Rc`) is refused.

use std::rc::Rc;

use coshare::driver::shards::{Shard, ShardsBuilder};
use coshare::driver::Task;
use coshare::{Eff, Yields};

fn main() {
    let _shards = ShardsBuilder::new().shards(2).start(
        |_, _| (),
        |_: &mut Task<()>, _: Shard<Rc<u32>, ()>| -> Eff<Yields, ()> { Ok(()) },
        // ERROR (at `start`): `Rc<u32>` cannot be sent between threads safely
        |_| (),
    );
}
