// A field named with a keyword is written `r#type`, and so is its label:
// the message says so (and does not blame tuple-struct fields).
use coshare::prelude::*;
use coshare::{CoroutineShareable, Label, Stage};

#[derive(CoroutineShareable)]
struct Token {
    r#type: u8,
    len: u8,
}

fn main() {
    let mut stage = Stage::new(Token { r#type: 1, len: 0 });
    *stage.field::<Label!(type)>() += 1; //~ ERROR `type` is a keyword, so a field with that name is written `r#type`
}
