// A crate that calls itself `coshare` and brings its own `__private` with a
// look-alike `CoroutineShareable` cannot redirect the derive: the expansion
// binds the real crate with `extern crate` and implements the real trait.
#![allow(hidden_glob_reexports, dead_code)]

extern crate coshare as coshare_real;
extern crate self as coshare;

pub use coshare_real::*;

pub mod __private {
    pub use coshare_real::__private::*;

    /// Same items as the real trait, so a hijacked expansion would compile.
    pub trait CoroutineShareable: 'static {
        type Fields;
        type PartsMut<'a>;
        fn parts_mut(&mut self) -> Self::PartsMut<'_>;
    }
}

#[derive(coshare::CoroutineShareable)]
pub struct Game {
    round: u32,
}

fn real<T: coshare_real::CoroutineShareable>() {}
fn look_alike<T: __private::CoroutineShareable>() {}

fn main() {
    real::<Game>();
    look_alike::<Game>(); //~ ERROR E0277: the trait bound `Game: __private::CoroutineShareable` is not satisfied
}
