// A shard's inbox stays on its shard's thread: its waits name the shard's
// tasks. Only the mesh crosses threads.

use coshare::driver::shards::{Shard, ShardsBuilder};
use coshare::driver::Task;
use coshare::{Eff, Yields};

fn main() {
    let _shards = ShardsBuilder::new().shards(1).local(
        |_, _| (),
        |_: &mut Task<()>, shard: Shard<u32, ()>| -> Eff<Yields, ()> {
            let (_mesh, mut inbox) = shard.into_parts();
            std::thread::spawn(move || {
                //~^ ERROR cannot be sent between threads safely
                let _ = inbox.try_recv();
            });
            Ok(())
        },
    );
}
