// G4: a function that returns `Eff<Pure, _>` cannot `?` a yielding call.
use coshare::{Co, Eff, Pure, Stage, Yields};

fn tally(co: &mut Co<u32>) -> Eff<Pure, u32> {
    co.suspend(())?; //~ ERROR E0277: `?` couldn't convert the error to `Interrupt<Pure>`
    Ok(*co.state())
}

fn main() {
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, u32> { Ok(tally(co)?) })
        .unwrap();
    stage.resume(h, ()).unwrap();
}
