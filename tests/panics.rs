//! Panics: propagation to the resumer with the original payload, the
//! coroutine's end, bookkeeping through nested resumes, the state after a
//! panic in `with_state`, and panics during cancellation and teardown.

mod auxiliary;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;

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
    let stats = stage.stats();
    assert_eq!(
        (stats.live, stats.pooled_stacks),
        (0, 1),
        "its stack is kept"
    );
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

/// Suspends from its destructor and records what the yield point returned.
struct SuspendOnDrop<'a>(&'a mut Co<Vec<&'static str>>);

impl Drop for SuspendOnDrop<'_> {
    fn drop(&mut self) {
        let r = self.0.suspend(());
        self.0.state().push(if r.is_err() {
            "drop: interrupted"
        } else {
            "drop: resumed"
        });
    }
}

/// A coroutine unwinding from its own panic cannot suspend: a destructor
/// that tries gets `Err(Interrupt)` at once, the unwinding goes on, and the
/// resumer receives the panic, never a yield from the middle of an unwind
/// (in which it would see `thread::panicking()` and poison a `Mutex` it
/// never panicked with).
#[test]
fn a_coroutine_unwinding_from_its_own_panic_does_not_suspend() {
    let mut stage = Stage::new(Vec::new());
    let h = stage
        .spawn(|co: &mut Co<Vec<&'static str>>, ()| -> Eff<Yields, ()> {
            let _guard = SuspendOnDrop(co);
            panic!("boom");
        })
        .unwrap();
    let lock = Mutex::new(());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let resumed = stage.resume(h, ());
        // The resumer's own code, after the resume returned.
        let panicking = std::thread::panicking();
        drop(lock.lock().unwrap());
        (resumed.is_ok(), panicking)
    }));
    let payload = outcome.expect_err("the resumer receives the panic, not a yield");
    assert_eq!(panic_message(&*payload), "boom");
    assert!(!lock.is_poisoned());
    assert_eq!(stage.state(), &["drop: interrupted"]);
    assert_eq!(stage.check(h).unwrap_err().kind(), ErrorKind::Panicked);
    assert_eq!(stage.stats().live, 0);
}

/// The same for a child resumed by another coroutine: the parent receives
/// the panic.
#[test]
fn a_child_unwinding_from_its_own_panic_does_not_suspend_to_its_parent() {
    let mut stage = Stage::new(Vec::new());
    let parent = stage
        .spawn(|co: &mut Co<Vec<&'static str>>, ()| -> Eff<Yields, ()> {
            let child = co
                .spawn(|co: &mut Co<Vec<&'static str>>, ()| -> Eff<Yields, ()> {
                    let _guard = SuspendOnDrop(co);
                    panic!("child fails");
                })
                .unwrap();
            let caught = catch_unwind(AssertUnwindSafe(|| co.resume(child, ())));
            co.state().push(match caught {
                Err(_) => "parent: caught the panic",
                Ok(_) => "parent: got control back",
            });
            Ok(())
        })
        .unwrap();
    assert_eq!(stage.resume(parent, ()).unwrap(), Resumed::Return(()));
    assert_eq!(
        stage.state(),
        &["drop: interrupted", "parent: caught the panic"]
    );
}

/// A coroutine resumed by a destructor while the main stack unwinds is not
/// unwinding itself: it suspends normally, and its resumer gets the yield.
#[test]
fn a_coroutine_resumed_during_an_unwind_suspends_normally() {
    struct ResumeOnDrop<'a> {
        stage: &'a mut Stage<u32>,
        handle: coshare::Handle<(), u32, ()>,
        got: &'a mut Vec<Resumed<u32, ()>>,
    }
    impl Drop for ResumeOnDrop<'_> {
        fn drop(&mut self) {
            for _ in 0..2 {
                if let Ok(resumed) = self.stage.resume(self.handle, ()) {
                    self.got.push(resumed);
                }
            }
        }
    }
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(|co: &mut Co<u32, (), u32>, ()| -> Eff<Yields, ()> {
            loop {
                *co.state() += 1;
                let n = *co.state();
                co.suspend(n)?;
            }
        })
        .unwrap();
    let mut got = Vec::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _guard = ResumeOnDrop {
            stage: &mut stage,
            handle: h,
            got: &mut got,
        };
        panic!("main fails");
    }));
    assert!(outcome.is_err());
    assert_eq!(got, [Resumed::Yield(1), Resumed::Yield(2)]);
    assert_eq!(stage.resume(h, ()).unwrap(), Resumed::Yield(3));
}

/// A value handed back by a yield point during a cancellation, whose
/// destructor panics: the cancellation still unwinds the coroutine (its
/// destructors run and its stack is reused), then the panic reaches the
/// canceller.
#[test]
fn a_panicking_destructor_of_a_yielded_value_does_not_stop_the_cancellation() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("yielded value's drop panicked");
        }
    }
    let drops = DropCounter::new();
    let token = drops.token();
    let mut stage = Stage::new(());
    let h = stage
        .spawn(
            move |co: &mut Co<(), (), Option<PanicOnDrop>>, ()| -> Eff<Yields, ()> {
                let _token = token;
                let _ = co.suspend(None); // the interrupt, ignored
                let _ = co.suspend(Some(PanicOnDrop)); // dropped by the canceller
                let _ = co.suspend(None); // unwinds
                unreachable!("unwound by force");
            },
        )
        .unwrap();
    assert!(matches!(stage.resume(h, ()), Ok(Resumed::Yield(None))));
    let payload = catch_unwind(AssertUnwindSafe(|| stage.cancel(h))).unwrap_err();
    assert_eq!(panic_message(&*payload), "yielded value's drop panicked");
    assert_eq!(drops.drops(), 1, "the coroutine's frames were unwound");
    assert_eq!(stage.check(h).unwrap_err().kind(), ErrorKind::Panicked);
    let stats = stage.stats();
    assert_eq!(
        (stats.live, stats.pooled_stacks),
        (0, 1),
        "its stack is kept"
    );
}
