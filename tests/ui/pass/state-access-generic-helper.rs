// A helper written once against `impl StateAccess` works on the main stack
// and in a coroutine, and its borrow ends before the yield point.
use coshare::{Co, Eff, Resumed, Stage, StateAccess, Yields};

#[derive(Default)]
struct Jobs {
    queue: Vec<u32>,
    done: u32,
}

fn enqueue(access: &mut impl StateAccess<State = Jobs>, job: u32) -> usize {
    let jobs = access.state();
    jobs.queue.push(job);
    jobs.queue.len()
}

fn take(access: &mut impl StateAccess<State = Jobs>) -> Option<u32> {
    let jobs = access.state();
    let job = jobs.queue.pop()?;
    jobs.done += 1;
    Some(job)
}

fn main() {
    let mut stage = Stage::new(Jobs::default());
    let h = stage
        .spawn(|co: &mut Co<Jobs, (), u32>, ()| -> Eff<Yields, u32> {
            enqueue(co, 100);
            while let Some(job) = take(co) {
                co.suspend(job)?;
            }
            Ok(co.state().done)
        })
        .unwrap();
    assert_eq!(enqueue(&mut stage, 1), 1);
    assert_eq!(stage.resume(h, ()).unwrap(), Resumed::Yield(100));
    assert_eq!(stage.resume(h, ()).unwrap(), Resumed::Yield(1));
    assert_eq!(enqueue(&mut stage, 2), 1);
    assert_eq!(stage.resume(h, ()).unwrap(), Resumed::Yield(2));
    assert_eq!(stage.resume(h, ()).unwrap(), Resumed::Return(3));
    assert_eq!(take(&mut stage), None);
}
