//! Resume and suspend: payloads, nesting, state access, handle checks.

mod auxiliary;

use coshare::{Co, Eff, ErrorKind, Handle, Resumed, SpawnOptions, Stage, Yields};

#[test]
fn payloads_flow_both_ways() {
    let mut stage = Stage::new(());
    let h = stage
        .spawn(
            |co: &mut Co<(), u32, String>, first: u32| -> Eff<Yields, Vec<u32>> {
                let mut seen = vec![first];
                for round in 0..3 {
                    let next = co.suspend(format!("round {round}"))?;
                    seen.push(next);
                }
                Ok(seen)
            },
        )
        .unwrap();
    assert_eq!(
        stage.resume(h, 10).unwrap(),
        Resumed::Yield("round 0".to_string())
    );
    assert_eq!(
        stage.resume(h, 11).unwrap(),
        Resumed::Yield("round 1".to_string())
    );
    assert_eq!(
        stage.resume(h, 12).unwrap(),
        Resumed::Yield("round 2".to_string())
    );
    assert_eq!(
        stage.resume(h, 13).unwrap(),
        Resumed::Return(vec![10, 11, 12, 13])
    );
}

#[test]
fn coroutines_of_one_stage_have_their_own_payload_types() {
    let mut stage = Stage::new(0u64);
    let numbers: Handle<u8, u16, u32> = stage
        .spawn(|co: &mut Co<u64, u8, u16>, x: u8| -> Eff<Yields, u32> {
            let y = co.suspend(u16::from(x) * 2)?;
            Ok(u32::from(y) * 3)
        })
        .unwrap();
    let words: Handle<&'static str, String, bool> = stage
        .spawn(
            |co: &mut Co<u64, &'static str, String>, w: &'static str| -> Eff<Yields, bool> {
                co.state().add_assign_len(w);
                let w2 = co.suspend(w.to_uppercase())?;
                Ok(w2.is_empty())
            },
        )
        .unwrap();
    assert_eq!(stage.resume(numbers, 5).unwrap(), Resumed::Yield(10));
    assert_eq!(
        stage.resume(words, "abc").unwrap(),
        Resumed::Yield("ABC".into())
    );
    assert_eq!(stage.resume(numbers, 7).unwrap(), Resumed::Return(21));
    assert_eq!(stage.resume(words, "").unwrap(), Resumed::Return(true));
    assert_eq!(*stage.state(), 3);
}

trait AddLen {
    fn add_assign_len(&mut self, s: &str);
}

impl AddLen for u64 {
    fn add_assign_len(&mut self, s: &str) {
        *self += s.len() as u64;
    }
}

#[test]
fn main_stack_and_coroutines_take_turns_on_the_state() {
    let mut stage = Stage::new(Vec::<String>::new());
    let h = stage
        .spawn(|co: &mut Co<Vec<String>>, ()| -> Eff<Yields, ()> {
            for i in 0..3 {
                // Several borrows within one stretch are fine.
                let log = co.state();
                log.push(format!("co {i}"));
                log.push(format!("co {i} again"));
                co.suspend(())?;
            }
            Ok(())
        })
        .unwrap();
    for i in 0..3 {
        stage.resume(h, ()).unwrap();
        stage.with_state(|log| log.push(format!("main {i}")));
    }
    assert!(stage.resume(h, ()).unwrap().is_return());
    assert_eq!(
        stage.state().join(","),
        "co 0,co 0 again,main 0,co 1,co 1 again,main 1,co 2,co 2 again,main 2"
    );
}

/// A child yields back to whoever resumed it (here a coroutine), with
/// payloads both ways; the parent's state writes interleave correctly.
#[test]
fn nested_resume_is_tree_shaped() {
    let mut stage = Stage::new(Vec::<String>::new());
    let parent = stage
        .spawn(
            |co: &mut Co<Vec<String>, (), &'static str>, ()| -> Eff<Yields, u32> {
                let child = co
                    .spawn(
                        |co: &mut Co<Vec<String>, u32, u32>, x: u32| -> Eff<Yields, u32> {
                            co.state().push(format!("child got {x}"));
                            let y = co.suspend(x + 1)?;
                            co.state().push(format!("child got {y}"));
                            Ok(y * 100)
                        },
                    )
                    .unwrap();
                co.state().push("parent starts".into());
                let first = co.resume(child, 1)?.unwrap();
                assert_eq!(first, Resumed::Yield(2));
                // The parent itself yields to the main stack while the child is
                // suspended.
                co.suspend("parent paused")?;
                let second = co.resume(child, 5)?.unwrap();
                assert_eq!(second, Resumed::Return(500));
                co.state().push("parent ends".into());
                Ok(7)
            },
        )
        .unwrap();
    assert_eq!(
        stage.resume(parent, ()).unwrap(),
        Resumed::Yield("parent paused")
    );
    stage.state().push("main".into());
    assert_eq!(stage.resume(parent, ()).unwrap(), Resumed::Return(7));
    assert_eq!(
        stage.state().join(" | "),
        "parent starts | child got 1 | main | child got 5 | parent ends"
    );
}

/// Three levels deep: the grandchild's yield reaches the child, not the
/// parent or the main stack.
#[test]
fn deep_nesting() {
    let mut stage = Stage::new(0u32);
    let top = stage
        .spawn(|co: &mut Co<u32, (), u32>, ()| -> Eff<Yields, ()> {
            let mid = co
                .spawn(|co: &mut Co<u32, (), u32>, ()| -> Eff<Yields, ()> {
                    let leaf = co
                        .spawn(|co: &mut Co<u32, (), u32>, ()| -> Eff<Yields, ()> {
                            loop {
                                *co.state() += 1;
                                let n = *co.state();
                                co.suspend(n)?;
                            }
                        })
                        .unwrap();
                    loop {
                        let got = co.resume(leaf, ())?.unwrap().yielded().unwrap();
                        co.suspend(got * 10)?;
                    }
                })
                .unwrap();
            loop {
                let got = co.resume(mid, ())?.unwrap().yielded().unwrap();
                co.suspend(got + 1)?;
            }
        })
        .unwrap();
    assert_eq!(stage.resume(top, ()).unwrap(), Resumed::Yield(11));
    assert_eq!(stage.resume(top, ()).unwrap(), Resumed::Yield(21));
    assert_eq!(stage.stats().live, 3);
    drop(stage); // tears down all three
}

#[test]
fn resume_errors_give_the_input_back() {
    let mut stage = Stage::new(());
    let h = stage
        .spawn(|_: &mut Co<(), String>, _: String| -> Eff<Yields, ()> { Ok(()) })
        .unwrap();
    assert!(stage.resume(h, "first".to_string()).unwrap().is_return());
    let err = stage.resume(h, "second".to_string()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Finished);
    assert_eq!(err.into_input(), "second");
}

#[test]
fn stale_handle_after_slot_reuse_is_an_error_not_another_coroutine() {
    let mut stage = Stage::new(());
    let old = stage
        .spawn(|_: &mut Co<(), u8>, x: u8| -> Eff<Yields, u8> { Ok(x) })
        .unwrap();
    assert_eq!(stage.resume(old, 1).unwrap(), Resumed::Return(1));
    // Same payload types, so a mix-up would type-check: the generation
    // check must catch it.
    let new = stage
        .spawn(|co: &mut Co<(), u8>, x: u8| -> Eff<Yields, u8> {
            co.suspend(())?;
            Ok(x + 100)
        })
        .unwrap();
    assert_eq!(new.id().index(), old.id().index(), "the slot was reused");
    assert_ne!(new.id().generation(), old.id().generation());
    let err = stage.resume(old, 2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stale);
    assert_eq!(err.error().coroutine(), Some(old.id()));
    assert!(err.to_string().contains("stale"), "{err}");
    assert_eq!(err.into_input(), 2);
    // The new coroutine was not touched.
    assert!(stage.resume(new, 5).unwrap().is_yield());
    assert_eq!(stage.resume(new, 0).unwrap(), Resumed::Return(105));
    assert_eq!(stage.check(old).unwrap_err().kind(), ErrorKind::Stale);
}

#[test]
fn handles_belong_to_their_stage() {
    let mut a = Stage::new(());
    let mut b = Stage::new(());
    let ha = a
        .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, &'static str> { Ok("a") })
        .unwrap();
    let hb = b
        .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, &'static str> { Ok("b") })
        .unwrap();
    // Both stages start at slot 0.
    assert_eq!(ha.id(), hb.id());
    let err = b.resume(ha, ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ForeignStage);
    assert!(
        err.to_string()
            .contains("only works on the stage that spawned"),
        "{err}"
    );
    assert_eq!(b.cancel(ha).unwrap_err().kind(), ErrorKind::ForeignStage);
    assert_eq!(b.resume(hb, ()).unwrap(), Resumed::Return("b"));
    assert_eq!(a.resume(ha, ()).unwrap(), Resumed::Return("a"));
}

#[test]
fn a_handle_of_a_dropped_stage_does_not_reach_a_new_one() {
    let stale = {
        let mut old = Stage::new(());
        old.spawn(|_: &mut Co<()>, ()| -> Eff<Yields, ()> { Ok(()) })
            .unwrap()
    };
    let mut fresh = Stage::new(());
    let h = fresh
        .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, ()> { Ok(()) })
        .unwrap();
    assert_eq!(h.id(), stale.id());
    assert_eq!(
        fresh.resume(stale, ()).unwrap_err().kind(),
        ErrorKind::ForeignStage
    );
    assert!(fresh.resume(h, ()).is_ok());
}

#[derive(Default)]
struct Handles {
    me: Option<Handle<(), (), ()>>,
    parent: Option<Handle<(), (), ()>>,
    errors: Vec<ErrorKind>,
}

#[test]
fn resuming_self_or_an_ancestor_is_a_running_error() {
    let mut stage = Stage::new(Handles::default());
    let parent = stage
        .spawn(|co: &mut Co<Handles>, ()| -> Eff<Yields, ()> {
            // Resume myself: I am running.
            let me = co.state().me.unwrap();
            let err = co.resume(me, ())?.unwrap_err();
            co.state().errors.push(err.kind());
            // Cancel myself: same.
            let err = co.cancel(me)?.unwrap_err();
            co.state().errors.push(err.kind());
            let child = co
                .spawn(|co: &mut Co<Handles>, ()| -> Eff<Yields, ()> {
                    // My resumer is running too.
                    let parent = co.state().parent.unwrap();
                    let err = co.resume(parent, ())?.unwrap_err();
                    co.state().errors.push(err.kind());
                    let err = co.cancel(parent)?.unwrap_err();
                    co.state().errors.push(err.kind());
                    Ok(())
                })
                .unwrap();
            co.resume(child, ())?.unwrap();
            Ok(())
        })
        .unwrap();
    stage.state().me = Some(parent);
    stage.state().parent = Some(parent);
    assert_eq!(stage.resume(parent, ()).unwrap(), Resumed::Return(()));
    assert_eq!(stage.state().errors, vec![ErrorKind::Running; 4]);
}

#[test]
fn running_error_message_explains_the_chain() {
    type Me = Option<Handle<(), (), String>>;
    let mut stage = Stage::new(None::<Handle<(), (), String>>);
    let h = stage
        .spawn_with(
            &SpawnOptions::new().name("selfish"),
            |co: &mut Co<Me>, ()| -> Eff<Yields, String> {
                let me = co.state().unwrap();
                Ok(co.resume(me, ())?.unwrap_err().to_string())
            },
        )
        .unwrap();
    *stage.state() = Some(h);
    let message = stage.resume(h, ()).unwrap().returned().unwrap();
    assert!(message.contains("coroutine `selfish`"), "{message}");
    assert!(message.contains("is running"), "{message}");
    assert!(message.contains("resume chain"), "{message}");
}

/// Spawning from inside a running coroutine grows the table and reuses
/// ended slots, but never the running coroutine's own slot.
#[test]
fn the_running_slot_is_reserved() {
    let mut stage = Stage::new(Vec::<Handle<(), (), u32>>::new());
    // Some ended slots for the free list.
    for i in 0..4 {
        let h = stage
            .spawn(move |_: &mut Co<Vec<Handle<(), (), u32>>>, ()| -> Eff<Yields, u32> { Ok(i) })
            .unwrap();
        stage.resume(h, ()).unwrap();
    }
    let runner = stage
        .spawn(
            |co: &mut Co<Vec<Handle<(), (), u32>>>, ()| -> Eff<Yields, u32> {
                let me = co.id();
                for i in 0..200u32 {
                    let h = co
                        .spawn(
                            move |co: &mut Co<Vec<Handle<(), (), u32>>>, ()| -> Eff<Yields, u32> {
                                co.suspend(())?;
                                Ok(i)
                            },
                        )
                        .unwrap();
                    assert_ne!(h.id().index(), me.index(), "spawn reused the running slot");
                    co.state().push(h);
                    // Run some of them to completion from here, so slots end
                    // and get reused while we are running.
                    if i % 3 == 0 {
                        co.resume(h, ())?.unwrap();
                        assert_eq!(co.resume(h, ())?.unwrap(), Resumed::Return(i));
                    }
                }
                co.suspend(())?;
                Ok(me.index())
            },
        )
        .unwrap();
    assert!(stage.resume(runner, ()).unwrap().is_yield());
    let handles = std::mem::take(stage.state());
    let mut sum = 0;
    for (i, h) in handles.iter().enumerate() {
        if i % 3 == 0 {
            assert!(stage.check(*h).is_err());
            continue;
        }
        stage.resume(*h, ()).unwrap();
        sum += stage.resume(*h, ()).unwrap().returned().unwrap();
    }
    assert_eq!(sum, (0..200).filter(|i| i % 3 != 0).sum::<u32>());
    assert_eq!(
        stage.resume(runner, ()).unwrap(),
        Resumed::Return(runner.id().index())
    );
}

#[test]
fn bodies_capturing_large_values_spawn() {
    let mut stage = Stage::new(0usize);
    let big = [7u8; 4096];
    let h = stage
        .spawn(move |co: &mut Co<usize>, ()| -> Eff<Yields, usize> {
            *co.state() = big.iter().map(|&b| b as usize).sum();
            co.suspend(())?;
            Ok(big.len())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(*stage.state(), 7 * 4096);
    assert_eq!(stage.resume(h, ()).unwrap(), Resumed::Return(4096));
}

#[test]
fn stage_into_state_returns_the_state_after_teardown() {
    let mut stage = Stage::new(vec![1]);
    let h = stage
        .spawn(|co: &mut Co<Vec<i32>>, ()| -> Eff<Yields, ()> {
            co.state().push(2);
            let r = co.suspend(());
            co.state().push(3); // cleanup after the interrupt
            r?;
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.into_state(), vec![1, 2, 3]);
}

#[test]
fn stats_count_live_coroutines() {
    let mut stage = Stage::new(());
    assert_eq!(stage.stats().live, 0);
    let a = stage
        .spawn(|co: &mut Co<()>, ()| -> Eff<Yields, ()> { co.suspend(()) })
        .unwrap();
    let b = stage
        .spawn(|_: &mut Co<()>, ()| -> Eff<Yields, ()> { Ok(()) })
        .unwrap();
    assert_eq!(stage.stats().live, 2);
    stage.resume(b, ()).unwrap();
    assert_eq!(stage.stats().live, 1);
    stage.resume(a, ()).unwrap();
    stage.cancel(a).unwrap();
    assert_eq!(stage.stats().live, 0);
    assert_eq!(stage.stats().slots, 2);
}

#[test]
fn names_are_kept_and_reported() {
    let mut stage = Stage::new(());
    let h = stage
        .spawn_with(
            &SpawnOptions::new().name("reader"),
            |_: &mut Co<()>, ()| -> Eff<Yields, ()> { Ok(()) },
        )
        .unwrap();
    assert_eq!(stage.name(h), Some("reader"));
    stage.resume(h, ()).unwrap();
    let err = stage.resume(h, ()).unwrap_err();
    assert_eq!(err.error().coroutine_name(), Some("reader"));
    assert!(err.to_string().contains("coroutine `reader`"), "{err}");
}
