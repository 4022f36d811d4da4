//! Cancellation and teardown: interrupts, forced unwinding, destructors,
//! cleanup code that uses the state, and dropping the stage.

mod auxiliary;

use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;

use auxiliary::{DropCounter, Log, LogOnDrop, panic_message};
use coshare::{Co, Eff, ErrorKind, Handle, Resumed, Stage, Yields};

#[test]
fn cancelling_a_coroutine_that_never_ran_drops_its_body_unrun() {
    let drops = DropCounter::new();
    let token = drops.token();
    let log = Log::new();
    let inner = log.clone();
    let mut stage = Stage::new(());
    let h = stage
        .spawn(move |_: &mut Co<()>, ()| -> Eff<Yields, ()> {
            let _keep = &token;
            inner.push("ran");
            Ok(())
        })
        .unwrap();
    assert_eq!(stage.cancel(h).unwrap(), None);
    assert_eq!(drops.drops(), 1, "captures dropped exactly once");
    assert!(log.take().is_empty(), "the body must not run");
    assert_eq!(
        stage.resume(h, ()).unwrap_err().kind(),
        ErrorKind::Cancelled
    );
    assert_eq!(stage.stats().live, 0);
}

#[test]
fn the_pending_yield_point_returns_an_interrupt_and_question_mark_unwinds() {
    let log = Log::new();
    let inner = log.clone();
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(move |co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            let _guard = LogOnDrop(inner.clone(), "frame dropped");
            loop {
                *co.state() += 1;
                if let Err(interrupt) = co.suspend(()) {
                    inner.push("interrupted");
                    return Err(interrupt);
                }
            }
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.cancel(h).unwrap(), None);
    assert_eq!(log.take(), ["interrupted", "frame dropped"]);
    assert_eq!(*stage.state(), 2);
    let err = stage.resume(h, ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(err.to_string().contains("was cancelled"), "{err}");
}

#[test]
fn a_body_that_handles_the_interrupt_returns_its_value_to_the_canceller() {
    let mut stage = Stage::new(Vec::<u32>::new());
    let h = stage
        .spawn(|co: &mut Co<Vec<u32>>, ()| -> Eff<Yields, usize> {
            loop {
                co.state().push(1);
                if co.suspend(()).is_err() {
                    // Graceful shutdown: report how much was done.
                    return Ok(co.state().len());
                }
            }
        })
        .unwrap();
    for _ in 0..3 {
        stage.resume(h, ()).unwrap();
    }
    assert_eq!(stage.cancel(h).unwrap(), Some(3));
    assert_eq!(stage.check(h).unwrap_err().kind(), ErrorKind::Cancelled);
}

#[test]
fn a_body_that_ignores_the_interrupt_is_unwound_by_force() {
    let log = Log::new();
    let inner = log.clone();
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(move |co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            let _guard = LogOnDrop(inner.clone(), "destructor ran");
            loop {
                // Ignores every interrupt.
                let _ = co.suspend(());
                *co.state() += 1;
            }
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.cancel(h).unwrap(), None);
    assert_eq!(log.take(), ["destructor ran"]);
    // The body ran once more after the interrupt (the increment), then was
    // unwound at its next suspend.
    assert_eq!(*stage.state(), 1);
    assert_eq!(stage.stats().live, 0);
    // The stage is fine afterwards.
    let h2 = stage
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, u32> { Ok(*co.state()) })
        .unwrap();
    assert_eq!(stage.resume(h2, ()).unwrap(), Resumed::Return(1));
}

/// Cleanup code holding `co` (here: a guard that owns the borrow) may use
/// the state, spawn, resume and cancel while its coroutine is cancelled.
struct Cleanup<'a> {
    co: &'a mut Co<World>,
}

#[derive(Default)]
struct World {
    log: Vec<String>,
    victim: Option<Handle<(), (), ()>>,
    helper: Option<Handle<(), (), ()>>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let co = &mut *self.co;
        let cancelling = co.is_cancelling();
        co.state()
            .log
            .push(format!("cleanup, cancelling={cancelling}"));
        // Spawn and run a coroutine during teardown.
        let h = co
            .spawn(|co: &mut Co<World>, ()| -> Eff<Yields, ()> {
                co.state().log.push("spawned in cleanup".into());
                co.suspend(())?;
                co.state().log.push("spawned one resumed".into());
                Ok(())
            })
            .unwrap();
        co.resume(h, ()).unwrap().unwrap();
        co.state().helper = Some(h);
        // Cancel another suspended coroutine during teardown.
        if let Some(victim) = co.state().victim.take() {
            let cancelled = co.cancel(victim).unwrap();
            assert!(cancelled.is_ok(), "{cancelled:?}");
        }
        co.state().log.push("cleanup done".into());
    }
}

#[test]
fn teardown_runs_user_code_that_uses_co() {
    let mut stage = Stage::new(World::default());
    let victim = stage
        .spawn(|co: &mut Co<World>, ()| -> Eff<Yields, ()> {
            let r = co.suspend(());
            co.state().log.push("victim interrupted".into());
            r
        })
        .unwrap();
    stage.resume(victim, ()).unwrap();
    stage.state().victim = Some(victim);
    let h = stage
        .spawn(|co: &mut Co<World>, ()| -> Eff<Yields, ()> {
            let guard = Cleanup { co };
            guard.co.state().log.push("working".into());
            guard.co.suspend(())?;
            unreachable!("cancelled before the second resume");
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.cancel(h).unwrap(), None);
    let helper = stage.state().helper.unwrap();
    assert_eq!(
        stage.state().log,
        [
            "working",
            "cleanup, cancelling=true",
            "spawned in cleanup",
            "victim interrupted",
            "cleanup done"
        ]
    );
    // What cleanup spawned is an ordinary coroutine of the stage.
    assert!(stage.resume(helper, ()).unwrap().is_return());
    assert_eq!(stage.state().log.last().unwrap(), "spawned one resumed");
    assert_eq!(
        stage.resume(victim, ()).unwrap_err().kind(),
        ErrorKind::Cancelled
    );
}

/// A destructor that suspends while its coroutine is being unwound by force
/// cannot be suspended (it is unwinding): its yield point returns `Err` at
/// once, and the unwinding finishes.
#[test]
fn suspending_during_forced_unwind_returns_an_interrupt() {
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
    let mut stage = Stage::new(Vec::new());
    let h = stage
        .spawn(|co: &mut Co<Vec<&'static str>>, ()| -> Eff<Yields, ()> {
            let guard = SuspendOnDrop(co);
            loop {
                let _ = guard.0.suspend(()); // ignores interrupts
            }
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.cancel(h).unwrap(), None);
    assert_eq!(stage.state(), &["drop: interrupted"]);
    assert_eq!(stage.stats().live, 0);
}

/// A destructor that suspends during an ordinary return after the
/// interrupt: the suspend reaches the canceller, which then unwinds the
/// coroutine by force. Every destructor still runs once.
#[test]
fn suspending_in_cleanup_after_the_interrupt_is_unwound_by_force() {
    let drops = DropCounter::new();
    struct SuspendOnDrop<'a>(&'a mut Co<u32>, #[allow(dead_code)] auxiliary::Token);
    impl Drop for SuspendOnDrop<'_> {
        fn drop(&mut self) {
            *self.0.state() += 1;
            let _ = self.0.suspend(());
            *self.0.state() += 100; // not reached: unwound by force
        }
    }
    let token = drops.token();
    let mut stage = Stage::new(0u32);
    let h = stage
        .spawn(move |co: &mut Co<u32>, ()| -> Eff<Yields, ()> {
            let guard = SuspendOnDrop(co, token);
            guard.0.suspend(())?;
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.cancel(h).unwrap(), None);
    assert_eq!(*stage.state(), 1);
    assert_eq!(drops.drops(), 1);
}

#[test]
fn dropping_the_stage_tears_down_every_coroutine_before_the_state() {
    struct State(Log);
    impl Drop for State {
        fn drop(&mut self) {
            self.0.push("state dropped");
        }
    }
    let log = Log::new();
    let mut stage = Stage::new(State(log.clone()));
    for name in ["a", "b", "c"] {
        let h = stage
            .spawn(move |co: &mut Co<State>, ()| -> Eff<Yields, ()> {
                let r = co.suspend(());
                // Cleanup can still use the state.
                co.state().0.push(format!("{name} cleaned up"));
                r
            })
            .unwrap();
        stage.resume(h, ()).unwrap();
    }
    // One that never started: dropped without running.
    let l2 = log.clone();
    stage
        .spawn(move |_: &mut Co<State>, ()| -> Eff<Yields, ()> {
            l2.push("never");
            Ok(())
        })
        .unwrap();
    drop(stage);
    assert_eq!(
        log.take(),
        [
            "a cleaned up",
            "b cleaned up",
            "c cleaned up",
            "state dropped"
        ]
    );
}

#[test]
fn coroutines_spawned_during_teardown_are_torn_down_too() {
    let log = Log::new();
    let mut stage = Stage::new(log.clone());
    let h = stage
        .spawn(|co: &mut Co<Log>, ()| -> Eff<Yields, ()> {
            let r = co.suspend(());
            // Spawn during teardown, and start it so it is suspended.
            let late = co
                .spawn(|co: &mut Co<Log>, ()| -> Eff<Yields, ()> {
                    let r = co.suspend(());
                    co.state().push("late one cleaned up");
                    r
                })
                .unwrap();
            co.resume(late, ())?.unwrap();
            co.state().push("first cleaned up");
            r
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    drop(stage);
    assert_eq!(log.take(), ["first cleaned up", "late one cleaned up"]);
}

#[test]
fn dropping_a_stage_with_thousands_of_suspended_coroutines_drops_each_once() {
    let drops = DropCounter::new();
    let mut stage = coshare::StageBuilder::new()
        .stack_size(16 * 1024)
        .unwrap()
        .build(0usize);
    const N: usize = 3000;
    for i in 0..N {
        let token = drops.token();
        let h = stage
            .spawn(move |co: &mut Co<usize>, ()| -> Eff<Yields, ()> {
                let _token = token;
                loop {
                    *co.state() += 1;
                    co.suspend(())?;
                }
            })
            .unwrap();
        // Leave a third never started.
        if i % 3 != 0 {
            stage.resume(h, ()).unwrap();
        }
    }
    assert_eq!(stage.stats().live, N);
    assert_eq!(drops.drops(), 0);
    drop(stage);
    assert_eq!(drops.drops(), N);
}

#[test]
fn cancel_errors_are_typed() {
    let mut stage = Stage::new(());
    let h = stage
        .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, u8> { Ok(1) })
        .unwrap();
    stage.resume(h, ()).unwrap();
    let err = stage.cancel(h).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Finished);
    assert!(err.to_string().contains("already returned"), "{err}");
    let c = stage
        .spawn(|co: &mut Co<()>, ()| -> Eff<Yields, u8> {
            co.suspend(())?;
            Ok(2)
        })
        .unwrap();
    stage.cancel(c).unwrap();
    assert_eq!(stage.cancel(c).unwrap_err().kind(), ErrorKind::Cancelled);
}

/// A body that catches the unwinding of its cancellation and suspends
/// again is unwound again: the canceller keeps it until it ends, and every
/// destructor runs once.
#[test]
fn a_body_that_catches_its_forced_unwind_is_unwound_again() {
    let drops = DropCounter::new();
    let token = drops.token();
    let mut stage = Stage::new(Vec::<&'static str>::new());
    let h = stage
        .spawn(
            move |co: &mut Co<Vec<&'static str>>, ()| -> Eff<Yields, ()> {
                let _token = token;
                let _ = co.suspend(()); // the interrupt, ignored
                let caught = catch_unwind(AssertUnwindSafe(|| {
                    let _ = co.suspend(()); // unwinds
                }));
                co.state().push(if caught.is_err() {
                    "caught the unwind"
                } else {
                    "resumed"
                });
                loop {
                    let _ = co.suspend(()); // unwinds again, uncaught
                    co.state().push("resumed after the second unwind");
                }
            },
        )
        .unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.cancel(h).unwrap(), None);
    assert_eq!(stage.state(), &["caught the unwind"]);
    assert_eq!(drops.drops(), 1);
    assert_eq!(stage.check(h).unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(stage.stats().live, 0);
}

/// A stage dropped while the main stack unwinds tears its coroutines down
/// all the same. A cleanup that suspends once more gets `Err` at once (the
/// thread is unwinding, so nothing may be unwound by force), and the
/// cleanup finishes.
#[test]
fn teardown_during_a_panic_lets_cleanup_that_suspends_finish() {
    let log = Log::new();
    let inner = log.clone();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut stage = Stage::new(());
        let h = stage
            .spawn(move |co: &mut Co<()>, ()| -> Eff<Yields, ()> {
                if co.suspend(()).is_err() {
                    let again = co.suspend(());
                    inner.push(format!("cleanup suspend: err = {}", again.is_err()));
                    inner.push("cleanup done");
                }
                Ok(())
            })
            .unwrap();
        stage.resume(h, ()).unwrap();
        panic!("main fails with the stage alive");
    }));
    assert!(outcome.is_err());
    assert_eq!(log.take(), ["cleanup suspend: err = true", "cleanup done"]);
}

/// The payload of a forced unwind, caught in a cancelled coroutine and
/// raised again in another one, is an ordinary panic there: the resumer
/// receives it, the coroutine ends as panicked, and the stage keeps working.
#[test]
fn an_unwind_payload_raised_elsewhere_is_an_ordinary_panic() {
    type Payload = Option<Box<dyn Any + Send>>;
    let mut stage = Stage::new(Payload::None);
    let keeper = stage
        .spawn(|co: &mut Co<Payload>, ()| -> Eff<Yields, ()> {
            let _ = co.suspend(()); // the interrupt, ignored
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| {
                let _ = co.suspend(());
            })) {
                *co.state() = Some(payload);
            }
            co.suspend(())?; // unwinds again
            Ok(())
        })
        .unwrap();
    stage.resume(keeper, ()).unwrap();
    assert_eq!(stage.cancel(keeper).unwrap(), None);
    assert!(stage.state().is_some(), "the body kept the payload");

    let thrower = stage
        .spawn(|co: &mut Co<Payload>, ()| -> Eff<Yields, ()> {
            let payload = co.state().take().expect("kept");
            resume_unwind(payload)
        })
        .unwrap();
    let raised = catch_unwind(AssertUnwindSafe(|| stage.resume(thrower, ())));
    assert!(
        raised.is_err(),
        "the payload reaches the resumer as a panic"
    );
    assert_eq!(
        stage.check(thrower).unwrap_err().kind(),
        ErrorKind::Panicked
    );
    let next = stage
        .spawn(|_: &mut Co<Payload>, ()| -> Eff<Yields, u8> { Ok(7) })
        .unwrap();
    assert_eq!(stage.resume(next, ()).unwrap(), Resumed::Return(7));
    assert_eq!(stage.stats().live, 0);
}

/// A body that catches its forced unwind and then returns a value ends the
/// cancellation with that value, as if it had handled the interrupt.
#[test]
fn a_body_that_catches_its_forced_unwind_and_returns_gives_its_value() {
    let mut stage = Stage::new(());
    let h = stage
        .spawn(|co: &mut Co<()>, ()| -> Eff<Yields, &'static str> {
            let _ = co.suspend(()); // the interrupt, ignored
            let caught = catch_unwind(AssertUnwindSafe(|| {
                let _ = co.suspend(()); // unwinds
            }));
            Ok(if caught.is_err() { "caught" } else { "resumed" })
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.cancel(h).unwrap(), Some("caught"));
    assert_eq!(stage.stats().live, 0);
}

/// What the body below does after its interrupt: counts its trips round the
/// loop, and gives up by itself only if nothing ends it (before teardown
/// was bounded, a teardown during a panic answered it for ever).
fn ignoring_body<S: 'static>(
    trips: Rc<Cell<u32>>,
    token: auxiliary::Token,
) -> impl FnOnce(&mut Co<S>, ()) -> Eff<Yields, ()> {
    move |co, ()| {
        let _token = token;
        loop {
            let _ = co.suspend(()); // ignores every interrupt
            trips.set(trips.get() + 1);
            if trips.get() > 1_000_000 {
                return Ok(());
            }
        }
    }
}

/// Trips the body makes when it is cancelled while the thread panics: one
/// after its interrupt, then one for each of the 16 further answers, then
/// the forced unwind.
const TRIPS_WHILE_PANICKING: u32 = 17;

/// A stage dropped while the main stack unwinds, with a body that ignores
/// its interrupt and suspends again: the teardown ends, the body is
/// unwound by force after a bounded number of answered yield points, and
/// its destructors run.
#[test]
fn dropping_the_stage_during_a_panic_ends_a_body_that_ignores_its_interrupt() {
    let drops = DropCounter::new();
    let trips = Rc::new(Cell::new(0));
    let body = ignoring_body(trips.clone(), drops.token());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut stage = Stage::new(());
        let h = stage.spawn(body).unwrap();
        stage.resume(h, ()).unwrap();
        panic!("main fails with the stage alive");
    }));
    assert_eq!(
        panic_message(&*outcome.unwrap_err()),
        "main fails with the stage alive"
    );
    assert_eq!(trips.get(), TRIPS_WHILE_PANICKING);
    assert_eq!(drops.drops(), 1, "the body's frames were unwound");
}

/// The same through `Stage::cancel`, called by a destructor while the main
/// stack unwinds.
#[test]
fn cancelling_during_a_panic_ends_a_body_that_ignores_its_interrupt() {
    struct CancelOnDrop<'a> {
        stage: &'a mut Stage<()>,
        handle: Handle<(), (), ()>,
        result: &'a Cell<Option<Option<()>>>,
    }
    impl Drop for CancelOnDrop<'_> {
        fn drop(&mut self) {
            self.result
                .set(Some(self.stage.cancel(self.handle).unwrap()));
        }
    }
    let drops = DropCounter::new();
    let trips = Rc::new(Cell::new(0));
    let result = Cell::new(None);
    let mut stage = Stage::new(());
    let h = stage
        .spawn(ignoring_body(trips.clone(), drops.token()))
        .unwrap();
    stage.resume(h, ()).unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let _guard = CancelOnDrop {
            stage: &mut stage,
            handle: h,
            result: &result,
        };
        panic!("main fails while the guard is alive");
    }));
    assert!(outcome.is_err());
    assert_eq!(result.get(), Some(None));
    assert_eq!(trips.get(), TRIPS_WHILE_PANICKING);
    assert_eq!(drops.drops(), 1);
    assert_eq!(stage.check(h).unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(stage.stats().live, 0);
}

/// The same through `Co::cancel`, called by a destructor of a coroutine
/// that unwinds from its own panic.
#[test]
fn a_coroutine_cancelling_another_while_it_unwinds_ends_a_body_that_ignores_its_interrupt() {
    type Victim = Option<Handle<(), (), ()>>;
    struct CancelOnDrop<'a>(&'a mut Co<Victim>, Rc<Cell<Option<Option<()>>>>);
    impl Drop for CancelOnDrop<'_> {
        fn drop(&mut self) {
            let victim = self.0.state().take().expect("a victim");
            if let Ok(Ok(value)) = self.0.cancel(victim) {
                self.1.set(Some(value));
            }
        }
    }
    let drops = DropCounter::new();
    let trips = Rc::new(Cell::new(0));
    let result = Rc::new(Cell::new(None));
    let mut stage = Stage::new(None);
    let victim = stage
        .spawn(ignoring_body(trips.clone(), drops.token()))
        .unwrap();
    stage.resume(victim, ()).unwrap();
    *stage.state() = Some(victim);
    let seen = result.clone();
    let canceller = stage
        .spawn(move |co: &mut Co<Victim>, ()| -> Eff<Yields, ()> {
            let _guard = CancelOnDrop(co, seen);
            panic!("the canceller fails");
        })
        .unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| stage.resume(canceller, ()))).unwrap_err();
    assert_eq!(panic_message(&*payload), "the canceller fails");
    assert_eq!(result.get(), Some(None));
    assert_eq!(trips.get(), TRIPS_WHILE_PANICKING);
    assert_eq!(drops.drops(), 1);
    assert_eq!(
        stage.check(victim).unwrap_err().kind(),
        ErrorKind::Cancelled
    );
    assert_eq!(stage.stats().live, 0);
}

/// A teardown during a panic, where the coroutine's cleanup panics too and
/// a destructor then suspends (twice) while that second panic unwinds the
/// coroutine: each yield point gets `Err(Interrupt)`, the destructor
/// finishes, and the process does not abort.
#[test]
fn teardown_during_a_panic_with_cleanup_that_panics_and_suspends_ends() {
    struct SuspendTwiceOnDrop<'a>(&'a mut Co<()>, Log);
    impl Drop for SuspendTwiceOnDrop<'_> {
        fn drop(&mut self) {
            for _ in 0..2 {
                let r = self.0.suspend(());
                self.1
                    .push(format!("destructor suspend: err = {}", r.is_err()));
            }
            self.1.push("destructor done");
        }
    }
    let log = Log::new();
    let inner = log.clone();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut stage = Stage::new(());
        let h = stage
            .spawn(move |co: &mut Co<()>, ()| -> Eff<Yields, ()> {
                if co.suspend(()).is_err() {
                    let _guard = SuspendTwiceOnDrop(co, inner);
                    panic!("cleanup fails");
                }
                Ok(())
            })
            .unwrap();
        stage.resume(h, ()).unwrap();
        panic!("main fails with the stage alive");
    }));
    assert_eq!(
        panic_message(&*outcome.unwrap_err()),
        "main fails with the stage alive"
    );
    assert_eq!(
        log.take(),
        [
            "destructor suspend: err = true",
            "destructor suspend: err = true",
            "destructor done"
        ]
    );
}
