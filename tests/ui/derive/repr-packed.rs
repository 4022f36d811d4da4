// Parts are lent out as references, and a packed struct's fields may be
// unaligned.
use coshare::CoroutineShareable;

#[derive(CoroutineShareable)]
#[repr(C, packed)] //~ ERROR cannot be derived for a `#[repr(packed)]` struct
struct Wire {
    tag: u8,
    len: u32,
}

fn main() {}
