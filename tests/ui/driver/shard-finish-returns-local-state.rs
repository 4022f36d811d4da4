// A shard's state need not be `Send` (it is built on its thread), but what
// `finish` makes of it goes back to the caller's thread: returning the
// `Rc` state itself is refused.

use std::rc::Rc;

use coshare::driver::shards::{Finished, Shard, ShardsBuilder};
use coshare::driver::Task;
use coshare::{Eff, Yields};

fn main() {
    let _shards = ShardsBuilder::new().shards(2).start(
        |_, _| Rc::new(0u32),
        |_: &mut Task<Rc<u32>>, _: Shard<u32, Rc<u32>>| -> Eff<Yields, ()> { Ok(()) },
        |end: Finished<Rc<u32>, u32>| end.state,
        // ERROR (at `start`): `Rc<u32>` cannot be sent between threads safely
    );
}
