// `Handle<I, Y, R>` is invariant in its payload types: a handle to a
// coroutine that takes `&'static str` cannot be turned into one that takes a
// shorter-lived `&'a str`, or the coroutine could keep a dangling input.
use coshare::{Co, Eff, Handle, Stage, Yields};

fn lend<'a>(h: Handle<&'static str, (), usize>) -> Handle<&'a str, (), usize> {
    h //~ ERROR lifetime may not live long enough
}

fn main() {
    let mut stage = Stage::new(());
    let h = stage
        .spawn(
            |_co: &mut Co<(), &'static str>, s: &'static str| -> Eff<Yields, usize> { Ok(s.len()) },
        )
        .unwrap();
    let line = String::from("short-lived");
    let h = lend(h);
    stage.resume(h, &line).unwrap();
}
