//! An interrupt is not `Clone` either: no spare can be made to end a
//! coroutine nobody cancelled.

use coshare::{Co, Eff, Interrupt, Stage, Yields};

type Spare = Option<Interrupt<Yields>>;

fn main() {
    let mut stage = Stage::new(Spare::None);
    let _ = stage.spawn(|co: &mut Co<Spare>, ()| -> Eff<Yields, ()> {
        let interrupt = co.suspend(()).unwrap_err();
        *co.state() = Some(interrupt.clone()); //~ ERROR E0599: no method named `clone` found for struct `Interrupt<E>`
        Err(interrupt)
    });
}
