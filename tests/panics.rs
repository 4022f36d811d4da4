//! Panics: propagation to the resumer with the original payload, the
//! coroutine's end, bookkeeping through nested resumes, the state after a
//! panic in `with_state`, and panics during cancellation and teardown.

mod auxiliary;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use auxiliary::{DropCounter, Log, LogOnDrop, panic_message};
use coshare::{Co, Eff, ErrorKind, Resumed, Stage, Yields};

#[derive(Debug, PartialEq)]
struct Payload(u32);

#[test]
fn a_panic_reaches_the_resumer_with_its_original_payload() {
    let mut stage = Stage::new(());
    let h = stage
        .spawn(|co: &mut Co<()>, ()| -> Eff<Yields, ()> {
            co.suspend(())?;
            resume_unwind(Box::new(Payload(42)));
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| stage.resume(h, ()))).unwrap_err();
    assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(42)));
    // The coroutine is finished; the stage is usable.
    let err = stage.resume(h, ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panicked);
    assert!(err.to_string().contains("panicked"), "{err}");
    assert_eq!(stage.stats().live, 0);
    let h2 = stage
        .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, u8> { Ok(9) })
        .unwrap();
    assert_eq!(stage.resume(h2, ()).unwrap(), Resumed::Return(9));
}

#[test]
fn destructors_on_the_panicking_stack_run_once() {
    let drops = DropCounter::new();
    let token = drops.token();
    let mut stage = Stage::new(());
    let h = stage
        .spawn(move |co: &mut Co<()>, ()| -> Eff<Yields, ()> {
            let _token = token;
            co.suspend(())?;
            panic!("boom");
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| stage.resume(h, ()))).unwrap_err();
    assert_eq!(panic_message(&*payload), "boom");
    assert_eq!(drops.drops(), 1);
    drop(stage);
    assert_eq!(drops.drops(), 1);
}

/// Decision: no poisoning. A panic inside `with_state` leaves the state as
/// the closure left it (like `RefCell`, unlike `Mutex`); the panic goes to
/// the resumer, and the main stack can inspect and repair the state.
#[test]
fn a_panic_in_with_state_leaves_the_state_as_the_closure_left_it() {
    let mut stage = Stage::new(vec![1, 2, 3]);
    let h = stage
        .spawn(|co: &mut Co<Vec<i32>>, ()| -> Eff<Yields, ()> {
            co.with_state(|v| {
                v.push(4);
                v[0] = 100;
                if v.len() > 3 {
                    panic!("invariant broken halfway");
                }
                v.push(5);
            });
            Ok(())
        })
        .unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| stage.resume(h, ()))).unwrap_err();
    assert_eq!(panic_message(&*payload), "invariant broken halfway");
    assert_eq!(stage.state(), &[100, 2, 3, 4]);
    // Panics in the main stack's with_state behave the same.
    let r = catch_unwind(AssertUnwindSafe(|| {
        stage.with_state(|v| {
            v.clear();
            panic!("main");
        })
    }));
    assert!(r.is_err());
    assert!(stage.state().is_empty());
}

/// A panic unwinding through nested resumes keeps the books: every
/// coroutine on the chain ends as panicked, none stays "running".
#[test]
fn a_panic_through_nested_resumes_ends_every_coroutine_on_the_chain() {
    type H = coshare::Handle<(), (), ()>;
    let mut stage = Stage::new(Vec::<H>::new());
    let top = stage
        .spawn(|co: &mut Co<Vec<H>>, ()| -> Eff<Yields, ()> {
            let mid = co
                .spawn(|co: &mut Co<Vec<H>>, ()| -> Eff<Yields, ()> {
                    let leaf = co
                        .spawn(|_: &mut Co<Vec<H>>, ()| -> Eff<Yields, ()> {
                            resume_unwind(Box::new(Payload(7)));
                        })
                        .unwrap();
                    co.state().push(leaf);
                    co.resume(leaf, ())?.unwrap();
                    unreachable!()
                })
                .unwrap();
            co.state().push(mid);
            co.resume(mid, ())?.unwrap();
            unreachable!()
        })
        .unwrap();
    let bystander = stage
        .spawn(|co: &mut Co<Vec<H>>, ()| -> Eff<Yields, u8> {
            co.suspend(())?;
            Ok(5)
        })
        .unwrap();
    stage.resume(bystander, ()).unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| stage.resume(top, ()))).unwrap_err();
    assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(7)));
    let chain = stage.state().clone();
    for h in [top, chain[0], chain[1]] {
        assert_eq!(stage.check(h).unwrap_err().kind(), ErrorKind::Panicked);
    }
    assert_eq!(stage.stats().live, 1, "only the bystander is alive");
    assert_eq!(stage.resume(bystander, ()).unwrap(), Resumed::Return(5));
}

/// `catch_unwind` around a yield point inside a coroutine: the parent
/// catches its child's panic and carries on.
#[test]
fn a_coroutine_can_catch_a_childs_panic_around_a_yield_point() {
    let mut stage = Stage::new(0u32);
    let parent = stage
        .spawn(|co: &mut Co<u32, (), u32>, ()| -> Eff<Yields, String> {
            let child = co
                .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
                    *co.state() += 1;
                    panic!("child failed");
                })
                .unwrap();
            let caught = catch_unwind(AssertUnwindSafe(|| co.resume(child, ()))).unwrap_err();
            // Still a working coroutine: it can suspend and resume.
            let n = *co.state();
            co.suspend(n)?;
            Ok(panic_message(&*caught))
        })
        .unwrap();
    assert_eq!(stage.resume(parent, ()).unwrap(), Resumed::Yield(1));
    assert_eq!(
        stage.resume(parent, ()).unwrap(),
        Resumed::Return("child failed".into())
    );
}

#[test]
fn a_panic_while_being_cancelled_reaches_the_canceller() {
    let log = Log::new();
    let inner = log.clone();
    let mut stage = Stage::new(());
    let h = stage
        .spawn(move |co: &mut Co<()>, ()| -> Eff<Yields, ()> {
            let _guard = LogOnDrop(inner.clone(), "frame dropped");
            if co.suspend(()).is_err() {
                panic!("cleanup failed");
            }
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| stage.cancel(h))).unwrap_err();
    assert_eq!(panic_message(&*payload), "cleanup failed");
    assert_eq!(log.take(), ["frame dropped"]);
    assert_eq!(stage.check(h).unwrap_err().kind(), ErrorKind::Panicked);
    assert_eq!(stage.stats().live, 0);
}

#[test]
fn a_panic_in_teardown_does_not_stop_the_teardown() {
    struct State(Log);
    impl Drop for State {
        fn drop(&mut self) {
            self.0.push("state dropped");
        }
    }
    let log = Log::new();
    let drops = DropCounter::new();
    let mut stage = Stage::new(State(log.clone()));
    for i in 0..3 {
        let token = drops.token();
        let h = stage
            .spawn(move |co: &mut Co<State>, ()| -> Eff<Yields, ()> {
                let _token = token;
                let r = co.suspend(());
                co.state().0.push(format!("cleanup {i}"));
                if i == 1 {
                    panic!("cleanup {i} panicked");
                }
                r
            })
            .unwrap();
        stage.resume(h, ()).unwrap();
    }
    let payload = catch_unwind(AssertUnwindSafe(|| drop(stage))).unwrap_err();
    assert_eq!(panic_message(&*payload), "cleanup 1 panicked");
    assert_eq!(
        log.take(),
        ["cleanup 0", "cleanup 1", "cleanup 2", "state dropped"]
    );
    assert_eq!(drops.drops(), 3);
}

#[test]
fn a_panic_in_a_destructor_of_a_never_started_body_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("capture drop panicked");
        }
    }
    let mut stage = Stage::new(());
    let bomb = PanicOnDrop;
    let h = stage
        .spawn(move |_: &mut Co<()>, ()| -> Eff<Yields, ()> {
            let _bomb = &bomb;
            Ok(())
        })
        .unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| stage.cancel(h))).unwrap_err();
    assert_eq!(panic_message(&*payload), "capture drop panicked");
    assert_eq!(stage.check(h).unwrap_err().kind(), ErrorKind::Panicked);
    assert_eq!(stage.stats().live, 0);
    // Still usable.
    let h2 = stage
        .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, u8> { Ok(1) })
        .unwrap();
    assert_eq!(stage.resume(h2, ()).unwrap(), Resumed::Return(1));
}

#[test]
fn an_interrupt_smuggled_out_of_a_cancelled_coroutine_is_a_documented_panic() {
    let mut stage = Stage::new(None::<coshare::Interrupt<Yields>>);
    let victim = stage
        .spawn(
            |co: &mut Co<Option<coshare::Interrupt<Yields>>>, ()| -> Eff<Yields, ()> {
                if let Err(interrupt) = co.suspend(()) {
                    co.state().replace(interrupt);
                }
                Ok(())
            },
        )
        .unwrap();
    stage.resume(victim, ()).unwrap();
    assert_eq!(stage.cancel(victim).unwrap(), Some(()));
    let thief = stage
        .spawn(
            |co: &mut Co<Option<coshare::Interrupt<Yields>>>, ()| -> Eff<Yields, ()> {
                Err(co.state().take().unwrap())
            },
        )
        .unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| stage.resume(thief, ()))).unwrap_err();
    assert!(panic_message(&*payload).contains("although it was not cancelled"));
    assert_eq!(stage.check(thief).unwrap_err().kind(), ErrorKind::Panicked);
    assert_eq!(stage.stats().live, 0);
}
