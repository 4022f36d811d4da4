// Taking the state again after a yield point is fine: the earlier borrow
// ended before the suspend.
use coshare::{Co, Eff, Resumed, Stage, Yields};

fn main() {
    let mut stage = Stage::new(vec![1, 2, 3]);
    let h = stage
        .spawn(
            |co: &mut Co<Vec<i32>, i32, i32>, add: i32| -> Eff<Yields, i32> {
                let first = co.state()[0];
                co.state().push(add);
                let more = co.suspend(first)?;
                let state = co.state();
                state.push(more);
                Ok(state.iter().sum())
            },
        )
        .unwrap();
    assert_eq!(stage.resume(h, 4).unwrap(), Resumed::Yield(1));
    assert_eq!(stage.state(), &[1, 2, 3, 4]);
    assert_eq!(stage.resume(h, 5).unwrap(), Resumed::Return(15));
    assert_eq!(stage.state(), &[1, 2, 3, 4, 5]);
}
