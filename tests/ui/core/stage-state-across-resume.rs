// G2: on the main stack, `stage.state()` must not be alive across
// `stage.resume` (the coroutine writes the same state).
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(Vec::<&'static str>::new());
    let h = stage
        .spawn(|co: &mut Co<Vec<&'static str>>, ()| -> Eff<Yields, ()> {
            co.state().push("coroutine");
            Ok(())
        })
        .unwrap();
    let log = stage.state();
    log.push("before");
    stage.resume(h, ()).unwrap(); //~ ERROR E0499: cannot borrow `stage` as mutable more than once at a time
    log.push("after");
}
