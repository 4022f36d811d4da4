// The main stack reads and writes the state between resumes, with
// `state()` and `with_state`.
use coshare::{Co, Eff, Resumed, Stage, Yields};

#[derive(Default)]
struct Counter {
    events: u32,
    log: Vec<&'static str>,
}

fn main() {
    let mut stage = Stage::new(Counter::default());
    let h = stage
        .spawn(
            |co: &mut Co<Counter, &'static str, u32>, mut event| -> Eff<Yields, usize> {
                while event != "stop" {
                    let seen = co.with_state(|s| {
                        s.events += 1;
                        s.log.push(event);
                        s.events
                    });
                    event = co.suspend(seen)?;
                }
                Ok(co.state().log.len())
            },
        )
        .unwrap();

    assert_eq!(stage.resume(h, "a").unwrap(), Resumed::Yield(1));
    stage.state().events += 10;
    let log = stage.state();
    log.log.push("main");
    assert_eq!(stage.resume(h, "b").unwrap(), Resumed::Yield(12));
    let events = stage.with_state(|s| {
        s.log.push("main again");
        s.events
    });
    assert_eq!(events, 12);
    assert_eq!(stage.resume(h, "stop").unwrap(), Resumed::Return(4));
    assert_eq!(stage.state().log, ["a", "main", "b", "main again"]);
}
