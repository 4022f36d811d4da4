// A scope's child cannot capture a borrow of the shared state and use it
// after its first wait: its body is `'static`, and another task may change
// the state while it waits. Children share the state through their own
// `Task`, between their own waits.

use std::time::Duration;

use coshare::driver::{DriverBuilder, Task};
use coshare::{Eff, Yields};

struct Names {
    first: String,
}

fn main() {
    let mut driver = DriverBuilder::new().virtual_clock().build(Names {
        first: "ada".to_owned(),
    });
    driver
        .spawn(|t: &mut Task<Names>| -> Eff<Yields, ()> {
            let first: &String = &t.state().first;
            t.scope(|s| { //~ ERROR cannot borrow `*t` as mutable more than once at a time
                s.spawn(move |t: &mut Task<Names>| -> Eff<Yields, Result<(), ()>> {
                    t.sleep(Duration::from_secs(1))?;
                    println!("{first}"); //~ ERROR borrowed data escapes outside of closure
                    Ok(Ok(()))
                })
                .unwrap();
                Ok(Ok::<(), ()>(()))
            })?
            .unwrap();
            Ok(())
        })
        .unwrap();
}
