//! An interrupt is not `Copy`: a coroutine cannot end its own cancellation
//! with it and also keep it, to end a coroutine nobody cancelled with it
//! later.

use coshare::{Co, Eff, Interrupt, Stage, Yields};

type Spare = Option<Interrupt<Yields>>;

fn main() {
    let mut stage = Stage::new(Spare::None);
    let _ = stage.spawn(|co: &mut Co<Spare>, ()| -> Eff<Yields, ()> {
        if let Err(interrupt) = co.suspend(()) {
            *co.state() = Some(interrupt);
            return Err(interrupt); //~ ERROR E0382: use of moved value: `interrupt`
        }
        Ok(())
    });
}
