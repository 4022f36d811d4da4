//! Runs a program on a real driver with a virtual clock, and reports what
//! happened: the same records as the model, the full event log (for the
//! determinism check), how often each task's frame was dropped, and the
//! order in which tasks ended and scopes returned.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::panic_any;
use std::rc::Rc;
use std::time::Duration;

use coshare::driver::{DriverBuilder, DriverHandle, Instant, JoinError, JoinHandle, Task};
use coshare::{CoroutineId, Eff, Yields};

use super::program::{Action, Child, Outcome, Program, Record, Step, Us, block_path};

/// A task's failure, routed to its scope.
#[derive(Debug)]
pub struct Fail;

/// The payload of `Step::Panic`; its panic message is silenced.
pub struct Boom;

/// One thing that happened, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A task's frame was dropped (it ended, however), at a time.
    End(String, Us),
    /// A timeout, shield or scope returned without passing an interrupt on.
    Block(String, Us, String),
    /// A scope returned, however (before its result is looked at).
    ScopeExit(String, Us),
}

#[derive(Default)]
struct Books {
    events: Vec<Event>,
    children: Vec<(String, JoinHandle<()>)>,
    names: BTreeMap<CoroutineId, String>,
}

/// What the tasks share with the test (not through the driver's state, so
/// that it outlives the driver).
#[derive(Clone)]
struct Run {
    books: Rc<RefCell<Books>>,
    driver: DriverHandle,
}

impl Run {
    fn now(&self) -> Us {
        micros(self.driver.now())
    }

    fn event(&self, event: Event) {
        self.books.borrow_mut().events.push(event);
    }
}

fn micros(at: Instant) -> Us {
    u64::try_from(at.since_start().as_micros()).expect("fits")
}

fn us(d: Us) -> Duration {
    Duration::from_micros(d)
}

/// Records its task's end when the task's frame goes, however it goes.
struct EndToken {
    run: Run,
    path: String,
}

impl Drop for EndToken {
    fn drop(&mut self) {
        let now = self.run.now();
        self.run.event(Event::End(self.path.clone(), now));
    }
}

/// What a run produced.
pub struct Report {
    pub records: Vec<Record>,
    pub events: Vec<Event>,
    /// Tasks still listed by the driver after the run (none expected).
    pub left: usize,
}

type TaskBody = Box<dyn FnOnce(&mut Task<'_, ()>) -> Eff<Yields, Result<(), Fail>>>;

fn body(run: Run, child: Rc<Child>, path: String) -> TaskBody {
    // Made now, so that a body dropped without running drops it too.
    let token = EndToken {
        run: run.clone(),
        path: path.clone(),
    };
    Box::new(move |t| {
        let _token = token;
        match steps(t, &run, &child.steps, &path) {
            Err(interrupt) => {
                if let Some(c) = child.cleanup {
                    let _ = t.shield(|t| t.sleep(us(c)));
                }
                Err(interrupt)
            }
            done => done,
        }
    })
}

fn steps(
    t: &mut Task<'_, ()>,
    run: &Run,
    list: &[Step],
    prefix: &str,
) -> Eff<Yields, Result<(), Fail>> {
    for (i, step) in list.iter().enumerate() {
        match step {
            Step::Sleep(d) => t.sleep(us(*d))?,
            Step::Fail => return Ok(Err(Fail)),
            Step::Panic => panic_any(Boom),
            Step::Timeout(d, inner) => {
                let path = block_path(prefix, 't', i);
                let out = t.timeout(us(*d), |t| steps(t, run, inner, &path))?;
                let result = match out {
                    Ok(Ok(())) => "ok",
                    Ok(Err(fail)) => return Ok(Err(fail)),
                    Err(_elapsed) => "elapsed",
                };
                run.event(Event::Block(path, run.now(), result.to_owned()));
            }
            Step::Shield(d, inner) => {
                let path = block_path(prefix, 'h', i);
                let out = match d {
                    Some(d) => t.shield_for(us(*d), |t| steps(t, run, inner, &path))?,
                    None => Ok(t.shield(|t| steps(t, run, inner, &path))?),
                };
                let result = match out {
                    Ok(Ok(())) => "ok",
                    Ok(Err(fail)) => return Ok(Err(fail)),
                    Err(_elapsed) => "elapsed",
                };
                run.event(Event::Block(path, run.now(), result.to_owned()));
            }
            Step::Scope(children, scope_body) => {
                let path = block_path(prefix, 's', i);
                let out = t.scope(|s| {
                    for (k, child) in children.iter().enumerate() {
                        let child_path = format!("{path}.c{k}");
                        let child_body =
                            body(run.clone(), Rc::new(child.clone()), child_path.clone());
                        let handle = s
                            .spawn(move |t: &mut Task<'_, ()>| child_body(t))
                            .unwrap_or_else(|_| panic!("spawn {child_path}"));
                        let mut books = run.books.borrow_mut();
                        books.names.insert(handle.id(), child_path.clone());
                        books.children.push((child_path, handle));
                    }
                    steps(s, run, scope_body, &format!("{path}.b"))
                });
                run.event(Event::ScopeExit(path.clone(), run.now()));
                let result = match out? {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => {
                        let books = run.books.borrow();
                        let first = match error.first().task() {
                            Some(id) => books.names[&id].clone(),
                            None => "body".to_owned(),
                        };
                        format!("error first={first} n={}", 1 + error.others().len())
                    }
                };
                run.event(Event::Block(path, run.now(), result));
            }
        }
    }
    Ok(Ok(()))
}

fn outcome<R>(joined: Option<Result<R, JoinError>>, failed: impl FnOnce(&R) -> bool) -> Outcome {
    match joined {
        Some(Ok(value)) if failed(&value) => Outcome::Failed,
        Some(Ok(_)) => Outcome::Returned,
        Some(Err(JoinError::Failed)) => Outcome::Failed,
        Some(Err(JoinError::Cancelled)) => Outcome::Cancelled,
        Some(Err(JoinError::Panicked(_))) => Outcome::Panicked,
        other => panic!("a task did not end: {:?}", other.map(|r| r.map(drop))),
    }
}

/// Runs `program` on a real driver.
pub fn run(program: &Program) -> Report {
    let mut driver = DriverBuilder::new().virtual_clock().build(());
    let run = Run {
        books: Rc::default(),
        driver: driver.handle().clone(),
    };
    let root_body = body(run.clone(), Rc::new(program.root.clone()), "r".to_owned());
    let mut root = driver
        .spawn(move |t: &mut Task<'_, ()>| root_body(t))
        .unwrap_or_else(|_| panic!("spawn the root"));
    let at = |x: Us| Instant::ZERO + us(x);
    let mut left = 0;
    match program.action {
        Action::Nothing => driver.run().expect("no deadlock"),
        Action::Abort(x) => {
            driver.run_until(at(x)).expect("no deadlock");
            root.abort();
            driver.run().expect("no deadlock");
        }
        Action::Cancel(x) => {
            driver.run_until(at(x)).expect("no deadlock");
            if !root.is_finished() {
                driver.cancel(&root).expect("the root is live");
            }
            driver.run().expect("no deadlock");
        }
        Action::Drop(x) => {
            driver.run_until(at(x)).expect("no deadlock");
        }
    }
    if !matches!(program.action, Action::Drop(_)) {
        left = driver.tasks().len();
    }
    drop(driver);
    let mut books = run.books.borrow_mut();
    let ends: BTreeMap<String, Us> = books
        .events
        .iter()
        .filter_map(|e| match e {
            Event::End(path, at) => Some((path.clone(), *at)),
            _ => None,
        })
        .collect();
    let end_of = |path: &str| {
        *ends
            .get(path)
            .unwrap_or_else(|| panic!("{path} never ended"))
    };
    let mut records = vec![Record::Task {
        path: "r".to_owned(),
        end: end_of("r"),
        outcome: outcome(root.try_join(), Result::is_err),
    }];
    for (path, handle) in &mut books.children {
        records.push(Record::Task {
            path: path.clone(),
            end: end_of(path),
            outcome: outcome(handle.try_join(), |_| false),
        });
    }
    for event in &books.events {
        if let Event::Block(path, at, result) = event {
            records.push(Record::Block {
                path: path.clone(),
                at: *at,
                result: result.clone(),
            });
        }
    }
    records.sort();
    Report {
        records,
        events: books.events.clone(),
        left,
    }
}
