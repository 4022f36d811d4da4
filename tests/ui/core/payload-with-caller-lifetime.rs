// Everything that reaches a stack is `'static`: a coroutine's payload types
// (here its input and return value) cannot borrow for a caller's lifetime,
// or a leaked coroutine could keep the borrow past its end.
use coshare::{Co, Handle, Stage};

fn first_word<'a>(stage: &mut Stage<()>) -> Handle<&'a str, (), &'a str> {
    stage
        .spawn(|_: &mut Co<(), &'a str>, text: &'a str| Ok(text.trim())) //~ ERROR lifetime may not live long enough
        .unwrap()
}

fn main() {
    let mut stage = Stage::new(());
    let h = first_word(&mut stage);
    let text = String::from(" hello ");
    println!("{:?}", stage.resume(h, &text).unwrap());
}
