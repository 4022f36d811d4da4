// G2: on the main stack, `stage.with_state` holds the state, so its closure
// cannot resume a coroutine (which would borrow the state too).
use coshare::{Co, Eff, Stage, Yields};

fn main() {
    let mut stage = Stage::new(Vec::<&'static str>::new());
    let h = stage
        .spawn(|co: &mut Co<Vec<&'static str>>, ()| -> Eff<Yields, ()> {
            co.state().push("coroutine");
            Ok(())
        })
        .unwrap();
    stage.with_state(|log| {
        log.push("main");
        stage.resume(h, ()).unwrap(); //~ ERROR E0499: cannot borrow `stage` as mutable more than once at a time
    });
}
