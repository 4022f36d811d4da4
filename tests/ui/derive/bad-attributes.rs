// Every mistake in the attributes is reported, each at its own tokens, in
// one pass: an unknown option, a repeated `crate`, an attribute on a field.
use coshare::CoroutineShareable;

#[derive(CoroutineShareable)]
#[coshare(crate = "coshare", skip)] //~ ERROR unknown option `skip`
#[coshare(crate = "coshare")] //~ ERROR duplicate `crate` option
struct Game {
    #[coshare(crate = "coshare")] //~ ERROR `#[coshare(..)]` goes on the struct, not on a field
    round: u32,
}

fn main() {}
