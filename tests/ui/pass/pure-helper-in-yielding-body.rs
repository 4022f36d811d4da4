// An `Eff<Pure, _>` helper can be `?`-ed inside a yielding body
// (`Interrupt<Pure>` converts into `Interrupt<Yields>`), and a yielding
// helper that takes `co` composes with `?` too.
use coshare::prelude::*;
use coshare::{Co, Eff, Pure, Resumed, Stage, Yields};

fn checked_add(total: &mut u32, x: u32) -> Eff<Pure, u32> {
    *total += x;
    Ok(*total)
}

fn step(co: &mut Co<u32, u32, u32>, value: u32) -> Eff<Yields, u32> {
    co.suspend(value)
}

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(
            |co: &mut Co<u32, u32, u32>, mut x: u32| -> Eff<Yields, u32> {
                while x != 0 {
                    let total = checked_add(co.state(), x)?;
                    x = step(co, total)?;
                }
                Ok(*co.state())
            },
        )
        .unwrap();
    assert_eq!(stage.resume(h, 2).unwrap(), Resumed::Yield(2));
    assert_eq!(stage.resume(h, 3).unwrap(), Resumed::Yield(5));
    assert_eq!(checked_add(stage.state(), 10).into_value(), 15);
    assert_eq!(stage.resume(h, 0).unwrap(), Resumed::Return(15));
}
