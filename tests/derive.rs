//! `#[derive(CoroutineShareable)]` and part access: from the stage and from
//! coroutines, by type and by name, one part or several distinct ones,
//! helpers shared by unrelated state structs, every struct shape the derive
//! accepts, and the hygiene of the expansion.
#![cfg(feature = "derive")]

use coshare::prelude::*;
use coshare::{
    Co, CoroutineShareable, Eff, HList, HasField, HasFields, HasPart, HasParts, Label, Stage,
    StateAccess, Yields, hlist_pat,
};

#[derive(Debug, Default, PartialEq)]
struct JobQueue(Vec<u32>);

#[derive(Debug, Default, PartialEq)]
struct Log(Vec<String>);

/// A game server: players and a job queue among other things.
#[derive(Default, CoroutineShareable)]
struct GameServer {
    players: Vec<String>,
    jobs: JobQueue,
    log: Log,
    tick: u64,
}

/// A job scheduler: unrelated to `GameServer`, but it has a `JobQueue` and a
/// `Log` too, in other positions.
#[derive(Default, CoroutineShareable)]
struct Scheduler {
    log: Log,
    workers: u32,
    jobs: JobQueue,
}

// Helpers written once, against any state with the parts they need.

fn enqueue<I>(access: &mut impl StateAccess<State: HasPart<JobQueue, I>>, job: u32) {
    access.part::<JobQueue>().0.push(job);
}

fn log<I>(
    access: &mut impl StateAccess<State: HasField<Label!(log), I, Value = Log>>,
    line: String,
) {
    access.field::<Label!(log)>().0.push(line);
}

/// Moves one job to the log; both parts are borrowed at once.
fn run_one<I>(access: &mut impl StateAccess<State: HasParts<HList![JobQueue, Log], I>>) -> bool {
    let hlist_pat![jobs, log] = access.parts::<HList![JobQueue, Log]>();
    match jobs.0.pop() {
        Some(job) => {
            log.0.push(format!("ran {job}"));
            true
        }
        None => false,
    }
}

/// A yielding helper: waits until the queue has a job.
fn next_job<S: HasPart<JobQueue, I>, I, In: 'static>(co: &mut Co<S, In>) -> Eff<Yields, u32> {
    loop {
        if let Some(job) = co.part::<JobQueue>().0.pop() {
            return Ok(job);
        }
        co.suspend(())?;
    }
}

#[test]
fn parts_by_type_from_the_stage_and_a_coroutine() {
    let mut stage = Stage::new(GameServer::default());
    let h = stage
        .spawn(|co: &mut Co<GameServer>, ()| -> Eff<Yields, u64> {
            co.part::<Vec<String>>().push("ann".into());
            *co.part::<u64>() += 1;
            co.suspend(())?;
            // The main stack had its turn; borrow again after the yield point.
            co.with_part(|players: &mut Vec<String>| players.push("bob".into()));
            Ok(*co.part::<u64>())
        })
        .unwrap();
    assert!(stage.resume(h, ()).unwrap().is_yield());
    *stage.part::<u64>() += 10;
    stage.with_part(|players: &mut Vec<String>| players.push("cid".into()));
    assert_eq!(stage.resume(h, ()).unwrap().returned(), Some(11));
    assert_eq!(stage.state().players, ["ann", "cid", "bob"]);
}

#[test]
fn parts_by_name_from_the_stage_and_a_coroutine() {
    let mut stage = Stage::new(GameServer::default());
    let h = stage
        .spawn(|co: &mut Co<GameServer>, ()| -> Eff<Yields, ()> {
            co.field::<Label!(players)>().push("ann".into());
            co.suspend(())?;
            let n = co.with_field::<Label!(players), _>(|p: &mut Vec<String>| p.len());
            *co.field::<Label!(tick)>() = n as u64;
            Ok(())
        })
        .unwrap();
    stage.resume(h, ()).unwrap();
    stage.field::<Label!(players)>().push("bob".into());
    stage.resume(h, ()).unwrap();
    assert_eq!(stage.state().tick, 2);
}

#[test]
fn distinct_parts_are_borrowed_at_once() {
    let mut stage = Stage::new(GameServer::default());
    let h = stage
        .spawn(|co: &mut Co<GameServer>, ()| -> Eff<Yields, ()> {
            loop {
                let hlist_pat![jobs, log, tick] = co.parts::<HList![JobQueue, Log, u64]>();
                *tick += 1;
                for job in jobs.0.drain(..) {
                    log.0.push(format!("tick {tick}: job {job}"));
                }
                co.suspend(())?;
            }
        })
        .unwrap();
    stage.part::<JobQueue>().0.extend([1, 2]);
    stage.resume(h, ()).unwrap();
    stage.with_parts::<HList![Log, JobQueue], _>(|hlist_pat![log, jobs]| {
        log.0.push("main".into());
        jobs.0.push(3);
    });
    stage.resume(h, ()).unwrap();
    let hlist_pat![log, players] = stage.fields::<HList![Label!(log), Label!(players)]>();
    players.push(log.0.len().to_string());
    assert_eq!(
        stage.state().log.0,
        ["tick 1: job 1", "tick 1: job 2", "main", "tick 2: job 3"]
    );
    assert_eq!(stage.state().players, ["4"]);
    let total =
        stage.with_fields::<HList![Label!(tick), Label!(jobs)], _>(|hlist_pat![tick, jobs]| {
            *tick + jobs.0.len() as u64
        });
    assert_eq!(total, 2);
}

#[test]
fn one_helper_serves_two_state_structs() {
    let mut game = Stage::new(GameServer::default());
    let mut sched = Stage::new(Scheduler::default());

    // From the main stack.
    enqueue(&mut game, 1);
    enqueue(&mut sched, 2);
    log(&mut game, "game up".into());
    log(&mut sched, "scheduler up".into());

    // From coroutines, with the same helpers.
    let g = game
        .spawn(|co: &mut Co<GameServer>, ()| -> Eff<Yields, u32> {
            let job = next_job(co)?;
            log(co, format!("game took {job}"));
            enqueue(co, job + 100);
            Ok(job)
        })
        .unwrap();
    let s = sched
        .spawn(|co: &mut Co<Scheduler, ()>, ()| -> Eff<Yields, u32> {
            let first = next_job(co)?;
            let second = next_job(co)?; // suspends: the queue is empty now
            log(co, format!("scheduler took {first} and {second}"));
            Ok(first + second)
        })
        .unwrap();
    assert_eq!(game.resume(g, ()).unwrap().returned(), Some(1));
    assert!(sched.resume(s, ()).unwrap().is_yield());
    enqueue(&mut sched, 3);
    assert_eq!(sched.resume(s, ()).unwrap().returned(), Some(5));

    assert!(run_one(&mut game));
    assert!(!run_one(&mut sched));
    assert_eq!(game.state().log.0, ["game up", "game took 1", "ran 101"]);
    assert_eq!(
        sched.state().log.0,
        ["scheduler up", "scheduler took 2 and 3"]
    );
}

#[test]
fn a_part_is_the_field_itself() {
    // Zero cost, observed from the outside: the part is the field, not a
    // copy or a wrapper (the same address), and taking it is plain borrowing.
    let mut stage = Stage::new(GameServer::default());
    let by_type: *const JobQueue = stage.part::<JobQueue>();
    let by_name: *const JobQueue = stage.field::<Label!(jobs)>();
    let hlist_pat![in_list] = stage.parts::<HList![JobQueue]>();
    let in_list: *const JobQueue = in_list;
    let field: *const JobQueue = &stage.state().jobs;
    assert_eq!(by_type, field);
    assert_eq!(by_name, field);
    assert_eq!(in_list, field);
    // The list of borrows is nothing but the four field pointers.
    assert_eq!(
        size_of::<<GameServer as CoroutineShareable>::PartsMut<'static>>(),
        4 * size_of::<&mut u8>()
    );
}

#[test]
fn fields_with_equal_types_are_told_apart_by_name() {
    #[derive(Default, CoroutineShareable)]
    struct Link {
        sent: u32,
        received: u32,
        errors: u32,
    }

    fn count<I>(
        access: &mut impl StateAccess<
            State: HasFields<HList![Label!(sent), Label!(errors)], I, Values = HList![u32, u32]>,
        >,
    ) {
        let hlist_pat![sent, errors] = access.fields::<HList![Label!(sent), Label!(errors)]>();
        *sent += 1;
        *errors += 2;
    }

    let mut stage = Stage::new(Link::default());
    count(&mut stage);
    *stage.field::<Label!(received)>() += 3;
    let link = stage.state();
    assert_eq!((link.sent, link.received, link.errors), (1, 3, 2));
}

#[test]
fn tuple_unit_and_empty_structs() {
    #[derive(CoroutineShareable)]
    struct Pair(JobQueue, Log);

    #[derive(CoroutineShareable)]
    struct Unit;

    #[derive(CoroutineShareable)]
    struct Empty {}

    let mut stage = Stage::new(Pair(JobQueue::default(), Log::default()));
    enqueue(&mut stage, 4);
    stage.field::<Label!(_1)>().0.push("by index".into());
    assert!(run_one(&mut stage));
    assert_eq!(stage.state().1.0, ["by index", "ran 4"]);

    let mut unit = Stage::new(Unit);
    let coshare::HNil = unit.state().parts_mut();
    let mut empty = Stage::new(Empty {});
    let coshare::HNil = empty.state().parts_mut();
}

#[test]
fn generic_structs() {
    #[derive(CoroutineShareable)]
    struct Ring<T, const N: usize>
    where
        T: Copy,
    {
        slots: [Option<T>; N],
        next: usize,
        jobs: JobQueue,
    }

    fn push<T: Copy + 'static, const N: usize>(co: &mut Co<Ring<T, N>>, value: T) {
        let hlist_pat![slots, next] = co.parts::<HList![[Option<T>; N], usize]>();
        slots[*next % N] = Some(value);
        *next += 1;
    }

    let mut stage = Stage::new(Ring::<char, 2> {
        slots: [None; 2],
        next: 0,
        jobs: JobQueue::default(),
    });
    let h = stage
        .spawn(|co: &mut Co<Ring<char, 2>>, ()| -> Eff<Yields, ()> {
            for c in ['a', 'b', 'c'] {
                push(co, c);
                enqueue(co, u32::from(c));
                co.suspend(())?;
            }
            Ok(())
        })
        .unwrap();
    while stage.resume(h, ()).unwrap().is_yield() {}
    assert_eq!(stage.state().slots, [Some('c'), Some('b')]);
    assert_eq!(stage.part::<JobQueue>().0, [97, 98, 99]);
}

#[test]
fn attributes_and_cfg_on_fields() {
    /// Documented, with attributes the derive must keep out of its way.
    #[derive(Debug, Default, CoroutineShareable)]
    #[repr(C, align(8))]
    #[allow(dead_code)]
    struct Tagged {
        /// A documented field.
        #[allow(unused)]
        a: u8,
        #[cfg(any())]
        gone: String,
        r#type: u16,
    }

    let mut stage = Stage::new(Tagged::default());
    *stage.field::<Label!(r#type)>() = 7;
    *stage.part::<u8>() = 1;
    let hlist_pat![a, ty] = stage.state().parts_mut();
    assert_eq!((*a, *ty), (1, 7));
}

/// Local items named like what the expansion uses must not change it.
mod hygiene {
    #![allow(dead_code, non_camel_case_types, clippy::upper_case_acronyms)]

    use coshare::prelude::*;
    use coshare::{CoroutineShareable, Label, Stage};

    type Result = ();
    type Option = ();
    struct HCons;
    struct HNil;
    struct Field;
    struct j;
    struct o;
    mod core {}
    mod std {}
    mod frunk {}
    mod __private {
        pub trait CoroutineShareable {}
    }
    mod coshare_shadow {}

    #[derive(CoroutineShareable)]
    struct Jobs {
        jobs: Vec<u32>,
        result: Result,
    }

    #[test]
    fn expansion_ignores_local_items() {
        let mut stage = Stage::new(Jobs {
            jobs: Vec::new(),
            result: (),
        });
        stage.field::<Label!(jobs)>().push(1);
        assert_eq!(stage.state().jobs, [1]);
    }
}

/// A local module named `coshare` does not capture the expansion either.
mod shadowed_crate_name {
    #![allow(dead_code)]

    use ::coshare::prelude::*;

    mod coshare {
        pub mod __private {}
    }

    #[derive(::coshare::CoroutineShareable)]
    struct Jobs {
        jobs: Vec<u32>,
    }

    #[test]
    fn expansion_ignores_a_local_coshare_module() {
        let mut stage = ::coshare::Stage::new(Jobs { jobs: Vec::new() });
        stage.part::<Vec<u32>>().push(1);
        assert_eq!(stage.state().jobs, [1]);
    }
}

/// The facade reached through a path instead of as `coshare`.
mod renamed {
    mod reexport {
        pub use coshare as inner;
    }

    use crate::renamed::reexport::inner;
    use inner::prelude::*;

    #[derive(inner::CoroutineShareable)]
    #[coshare(crate = "crate::renamed::reexport::inner")]
    struct Counter {
        hits: u64,
    }

    #[test]
    fn crate_path_option() {
        let mut stage = inner::Stage::new(Counter { hits: 0 });
        *stage.field::<inner::Label!(hits)>() += 1;
        *stage.part::<u64>() += 1;
        assert_eq!(stage.state().hits, 2);
    }
}

/// The expansion has no `unsafe`, so it compiles where `unsafe` is forbidden.
#[forbid(unsafe_code)]
mod no_unsafe {
    use coshare::prelude::*;
    use coshare::{CoroutineShareable, Stage};

    #[derive(CoroutineShareable)]
    struct Safe {
        value: i32,
    }

    #[test]
    fn derive_under_forbid_unsafe_code() {
        let mut stage = Stage::new(Safe { value: 1 });
        *stage.part::<i32>() += 1;
        assert_eq!(stage.state().value, 2);
    }
}

/// The expansion is warning-free under strict lints, including clippy's
/// pedantic and nursery groups (checked by `cargo clippy --all-targets`).
#[deny(
    warnings,
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    single_use_lifetimes,
    trivial_casts,
    unreachable_pub,
    unused_qualifications,
    unused_results,
    clippy::all,
    clippy::pedantic,
    clippy::nursery
)]
pub mod strict {
    use coshare::CoroutineShareable;

    /// A public state with public and private fields, generic.
    #[derive(Debug, CoroutineShareable)]
    pub struct Strict<T: Clone> {
        /// A public part.
        pub name: String,
        items: Vec<T>,
    }

    /// Bounds in a where clause, a const parameter, a tuple struct.
    #[derive(Debug, CoroutineShareable)]
    pub struct Wrapped<T, const N: usize>(pub [T; N], u8)
    where
        T: Copy;

    impl<T: Clone> Strict<T> {
        /// Builds one.
        #[must_use]
        pub const fn new(name: String) -> Self {
            Self {
                name,
                items: Vec::new(),
            }
        }

        /// The items.
        #[must_use]
        pub fn items(&self) -> &[T] {
            &self.items
        }
    }
}

#[test]
fn strict_module_works() {
    let mut stage = Stage::new(strict::Strict::<u8>::new("s".into()));
    stage.part::<Vec<u8>>().push(1);
    assert_eq!(stage.state().items(), [1]);
}
