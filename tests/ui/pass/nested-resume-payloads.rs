// A coroutine resumes a child, nested: inputs go down, yields and the return
// value come back up, typed at each level.
use coshare::{Co, Eff, Resumed, Stage, Yields};

fn main() {
    let mut stage = Stage::new(Vec::<String>::new());
    let parent = stage
        .spawn(
            |co: &mut Co<Vec<String>, u32, String>, base: u32| -> Eff<Yields, u64> {
                // The child doubles its inputs and yields them as text; it returns
                // the sum of what it saw.
                let child = co
                    .spawn(
                        |co: &mut Co<Vec<String>, u32, String>, mut x: u32| -> Eff<Yields, u64> {
                            let mut total = 0u64;
                            while x != 0 {
                                total += u64::from(x);
                                co.state().push(format!("child saw {x}"));
                                x = co.suspend(format!("{}", x * 2))?;
                            }
                            Ok(total)
                        },
                    )
                    .unwrap();
                let mut input = base;
                loop {
                    match co.resume(child, input)?.unwrap() {
                        Resumed::Yield(text) => {
                            co.state().push(format!("parent got {text}"));
                            let next = co.suspend(text)?;
                            input = next;
                        }
                        Resumed::Return(total) => return Ok(total),
                    }
                }
            },
        )
        .unwrap();

    assert_eq!(
        stage.resume(parent, 3).unwrap(),
        Resumed::Yield("6".to_string())
    );
    assert_eq!(
        stage.resume(parent, 5).unwrap(),
        Resumed::Yield("10".to_string())
    );
    assert_eq!(stage.resume(parent, 0).unwrap(), Resumed::Return(8));
    assert_eq!(
        stage.state(),
        &[
            "child saw 3",
            "parent got 6",
            "child saw 5",
            "parent got 10"
        ]
    );
}
