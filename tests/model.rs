//! Model-based test of the core: random programs run on a real [`Stage`]
//! and on a reference model (plain data, no coroutines), compared after
//! every operation.
//!
//! # What a program is
//!
//! A [`Program`] is a list of main-stack operations ([`Op`]): spawn a
//! coroutine, resume or cancel any handle ever made (including handles of
//! finished coroutines, of slots that were reused since, and of stages that
//! were dropped), write the state, drop the stage or take its state with
//! `into_state` and start a new one (with a random budget and stack pool).
//! Each coroutine runs a [`Script`] chosen at spawn, interpreted by its
//! body: write the state, suspend (yielding a value, logging the input it
//! gets back), suspend but swallow an interrupt and carry on, spawn a child
//! with its own script, resume or cancel a child / any coroutine / itself /
//! its spawner (nested, payloads both ways, optionally inside
//! `catch_unwind`), panic, return. A second script, its cleanup, runs when
//! a pending `suspend` returns `Err(Interrupt)`; it may do all the same
//! (write, spawn, resume, cancel, panic, return a value to the canceller,
//! or suspend again and be unwound by force). Scripts nest two spawns deep.
//!
//! # What is compared
//!
//! After every operation, the real run and the model must agree on:
//!
//! * the operation's result: `Resumed::Yield`/`Return` values, the
//!   `ErrorKind` of a failed resume, cancel or spawn (`Finished`,
//!   `Cancelled`, `Panicked`, `Running`, `Stale`, `ForeignStage`,
//!   `Budget`) and the input given back, `cancel`'s `Some`/`None`, and the
//!   payload of a panic caught on the main stack (it names the coroutine
//!   that panicked);
//! * the shared state: an event log every coroutine and the main stack
//!   append to, which records everything that happened inside coroutines
//!   (inputs received, nested results, caught panics, interrupts);
//! * destructors: each coroutine holds a token that records its drop; the
//!   order of all drops, and the state's own drop (with its final log, so
//!   cleanup done while tearing down is checked too), must match;
//! * `stats().live`, `stats().slots`, and `stage.check(h)` for every handle.
//!
//! At the end the stage is dropped: every coroutine's token must have been
//! dropped exactly once, and every state once.
//!
//! The model predicts everything except which slot a new coroutine gets:
//! it reads the slot from the real handle and checks that the choice is
//! legal (a fresh slot, or an ended one with the next generation; never a
//! live or running coroutine's slot).
//!
//! # Running and reproducing failures
//!
//! * `cargo test --test model` runs [`CASES`] random programs (about 2 s
//!   in debug); `PROPTEST_CASES=N` runs `N` instead (20 000 take about a
//!   minute, worth doing after a change to `src/raw/`).
//! * A failure is shrunk to a small program, which the panic message shows
//!   ("minimal failing input: ..."), and its seed is appended as a
//!   `cc <hex>` line to `tests/model.proptest-regressions` (proptest prints
//!   the line too, so a CI log is enough to reproduce it). Every run
//!   replays the seeds in that file before the random cases: keep the file
//!   with the fix so the case stays a regression test.
//! * To rerun only the saved cases:
//!   `PROPTEST_CASES=0 cargo test --test model the_stage_behaves_like_the_model`.
//!   For a seed from a CI log, add its `cc` line to that file first.
//! * `PROPTEST_RNG_SEED=<u64>` makes the random cases of a run repeatable.
//! * Proptest shrinks by deleting operations and then simplifying the rest;
//!   a deletion that made the case pass is not retried later, so a shrunk
//!   program may keep a few operations that are no longer needed.
//!
//! `the_generated_programs_reach_every_behaviour` runs a fixed-seed batch
//! and checks that the generator reaches every behaviour listed in
//! [`Feature`], so the property cannot pass by testing too little. It
//! ignores `PROPTEST_CASES` and the regressions file.

mod auxiliary;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, panic_any};
use std::rc::Rc;
use std::sync::Once;

use auxiliary::panic_message;
use coshare::{
    Co, Eff, Error, ErrorKind, Handle, Interrupt, ResumeError, Resumed, Stage, StageBuilder, Yields,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestRng, TestRunner,
};

/// Random programs per run of the property, unless `PROPTEST_CASES` says.
const CASES: u32 = 512;

// ---------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------

/// A coroutine, by spawn order across the whole program (failed spawns
/// included).
type Uid = usize;

/// Which coroutine a step aims at.
#[derive(Clone, Debug)]
enum Target {
    /// One of the children this coroutine spawned (modulo their number).
    Child(usize),
    /// Any coroutine ever spawned by the program (modulo their number).
    Any(usize),
    /// One of the last few coroutines spawned: `Recent(0)` is the last.
    Recent(usize),
    /// Itself: always `Running`.
    Me,
    /// The coroutine that spawned it (none for the main stack's).
    Spawner,
}

#[derive(Clone, Debug)]
enum Step {
    /// Append `Write` to the state's log.
    Write(u8),
    /// `co.suspend(..)?`: an interrupt ends the steps and runs the cleanup.
    Suspend(u8),
    /// `co.suspend(..)`, but an interrupt is swallowed and the steps go on
    /// (the next suspend is then unwound by force).
    SuspendSwallow(u8),
    /// Spawn a child running this script.
    Spawn(Rc<Script>),
    /// Nested resume; `catch` wraps it in `catch_unwind`.
    Resume {
        target: Target,
        input: u8,
        catch: bool,
    },
    /// Nested cancel; `catch` wraps it in `catch_unwind`.
    Cancel { target: Target, catch: bool },
    /// `panic_any(Boom(uid))`.
    Panic,
    /// Return a value (from the cleanup: `cancel` returns it).
    Return(u8),
}

#[derive(Clone, Debug)]
struct Script {
    steps: Vec<Step>,
    /// Runs when a `Suspend` step gets `Err(Interrupt)`; at its end the
    /// interrupt is returned.
    cleanup: Vec<Step>,
}

#[derive(Clone, Debug)]
struct StageConfig {
    max_coroutines: Option<usize>,
    pool_stacks: bool,
}

#[derive(Clone, Debug)]
enum Op {
    Spawn(Rc<Script>),
    /// Resume a coroutine (`target` is `Any` or `Recent`).
    Resume {
        target: Target,
        input: u8,
    },
    Cancel {
        target: Target,
    },
    Write(u8),
    /// Drop the stage, then build a new one.
    Restart(StageConfig),
    /// `into_state` the stage, then build a new one.
    IntoState(StageConfig),
}

#[derive(Clone, Debug)]
struct Program {
    first: StageConfig,
    ops: Vec<Op>,
}

// ---------------------------------------------------------------------------
// Observations: what both the real run and the model produce
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Yield,
    Return,
    /// Returned by a body that ran out of steps.
    End,
    /// Input of a nested resume.
    Input,
    MainInput,
}

/// Every payload: inputs, yields and returns. Says who made it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct V {
    tag: Tag,
    uid: Uid,
    v: u8,
}

impl V {
    fn new(tag: Tag, uid: Uid, v: u8) -> V {
        V { tag, uid, v }
    }
}

impl fmt::Debug for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}(#{},{})", self.tag, self.uid, self.v)
    }
}

/// A panic payload seen by a resumer.
#[derive(Clone, Debug, PartialEq)]
enum Panicked {
    /// From a `Panic` step of this coroutine.
    Boom(Uid),
    /// Anything else (never expected): its message.
    Other(String),
}

/// The payload of a `Panic` step.
struct Boom(Uid);

impl From<Box<dyn std::any::Any + Send>> for Panicked {
    fn from(payload: Box<dyn std::any::Any + Send>) -> Panicked {
        match payload.downcast_ref::<Boom>() {
            Some(Boom(uid)) => Panicked::Boom(*uid),
            None => Panicked::Other(panic_message(&*payload)),
        }
    }
}

/// What a resume produced.
#[derive(Clone, Debug, PartialEq)]
enum Out {
    Yield(V),
    Return(V),
    /// The error kind and the input given back.
    Err(ErrorKind, V),
    Panic(Panicked),
}

impl Out {
    fn from_resume(result: Result<Resumed<V, V>, ResumeError<V>>) -> Out {
        match result {
            Ok(Resumed::Yield(v)) => Out::Yield(v),
            Ok(Resumed::Return(v)) => Out::Return(v),
            Err(err) => Out::Err(err.kind(), err.into_input()),
        }
    }
}

/// What a cancel produced.
#[derive(Clone, Debug, PartialEq)]
enum CancelOut {
    Done(Option<V>),
    Err(ErrorKind),
    Panic(Panicked),
}

impl From<Result<Option<V>, Error>> for CancelOut {
    fn from(result: Result<Option<V>, Error>) -> CancelOut {
        match result {
            Ok(value) => CancelOut::Done(value),
            Err(err) => CancelOut::Err(err.kind()),
        }
    }
}

/// An entry of the state's log.
#[derive(Clone, Debug, PartialEq)]
enum Ev {
    Main(u8),
    Start {
        who: Uid,
        input: V,
    },
    Got {
        who: Uid,
        input: V,
    },
    Write {
        who: Uid,
        v: u8,
    },
    Swallowed {
        who: Uid,
    },
    Interrupted {
        who: Uid,
    },
    Spawned {
        who: Uid,
        child: Uid,
        ok: Result<(), ErrorKind>,
    },
    NoTarget {
        who: Uid,
    },
    Resumed {
        who: Uid,
        target: Uid,
        out: Out,
    },
    Cancelled {
        who: Uid,
        target: Uid,
        out: CancelOut,
    },
    /// Never expected: a suspend in cleanup code came back instead of
    /// being unwound by force.
    CleanupSuspendReturned {
        who: Uid,
        ok: bool,
    },
}

/// A destructor that ran.
#[derive(Clone, Debug, PartialEq)]
enum Dropped {
    /// A coroutine's token (held by its body, so by its frame once started).
    Token(Uid),
    /// The shared state of stage `stage`, with its final log.
    State { stage: usize, log: Vec<Ev> },
}

/// A main-stack operation's result.
#[derive(Clone, Debug, PartialEq)]
enum MainOut {
    Nothing,
    Spawned(Result<Uid, ErrorKind>),
    Resumed(Out),
    Cancelled(CancelOut),
    /// The stage was dropped; the panic it resumed, if any.
    Dropped(Option<Panicked>),
    /// `into_state`: the log it returned, or the panic it resumed.
    IntoState(Result<Vec<Ev>, Panicked>),
}

/// Resolves a target; shared by the real bodies and the model.
fn resolve(
    target: &Target,
    me: Option<Uid>,
    spawner: Option<Uid>,
    children: &[Uid],
    spawned: &[Uid],
) -> Option<Uid> {
    let pick = |list: &[Uid], i: usize| (!list.is_empty()).then(|| list[i % list.len()]);
    match *target {
        Target::Child(i) => pick(children, i),
        Target::Any(k) => pick(spawned, k),
        Target::Recent(i) => {
            let n = spawned.len();
            (i < n).then(|| spawned[n - 1 - i])
        }
        Target::Me => me,
        Target::Spawner => spawner,
    }
}

// ---------------------------------------------------------------------------
// The real run
// ---------------------------------------------------------------------------

type H = Handle<V, V, V>;
type C = Co<St, V, V>;

/// The shared state.
struct St {
    log: Vec<Ev>,
    stage: usize,
    dropped: Rc<RefCell<Vec<Dropped>>>,
}

impl Drop for St {
    fn drop(&mut self) {
        let log = std::mem::take(&mut self.log);
        self.dropped.borrow_mut().push(Dropped::State {
            stage: self.stage,
            log,
        });
    }
}

/// Records its coroutine's uid when dropped.
struct Token {
    uid: Uid,
    dropped: Rc<RefCell<Vec<Dropped>>>,
}

impl Drop for Token {
    fn drop(&mut self) {
        self.dropped.borrow_mut().push(Dropped::Token(self.uid));
    }
}

/// Shared by the main stack and every body of one program (outside the
/// state, so it outlives stages).
struct Harness {
    next_uid: Cell<Uid>,
    /// By uid; `None` for a failed spawn.
    handles: RefCell<Vec<Option<H>>>,
    /// Uids of successful spawns, in order: the targets of `Any` and of
    /// main-stack operations.
    spawned: RefCell<Vec<Uid>>,
    dropped: Rc<RefCell<Vec<Dropped>>>,
}

impl Harness {
    fn handle(&self, uid: Uid) -> H {
        self.handles.borrow()[uid].expect("only spawned coroutines are targets")
    }

    /// A main-stack operation's target.
    fn pick(&self, target: &Target) -> Option<Uid> {
        resolve(target, None, None, &[], &self.spawned.borrow())
    }

    fn spawned(&self, uid: Uid, handle: H) {
        self.handles.borrow_mut()[uid] = Some(handle);
        self.spawned.borrow_mut().push(uid);
    }

    /// A body running `script`. Its token is made here, so it is dropped
    /// exactly once whether the body runs, is cancelled before it ran, or
    /// is given back by a failed spawn.
    fn body(
        self: &Rc<Self>,
        script: &Rc<Script>,
        spawner: Option<Uid>,
    ) -> (Uid, impl FnOnce(&mut C, V) -> Eff<Yields, V> + 'static) {
        let uid = self.next_uid.get();
        self.next_uid.set(uid + 1);
        self.handles.borrow_mut().push(None);
        let token = Token {
            uid,
            dropped: Rc::clone(&self.dropped),
        };
        let hx = Rc::clone(self);
        let script = Rc::clone(script);
        let body = move |co: &mut C, input: V| -> Eff<Yields, V> {
            let _token = token;
            co.state().log.push(Ev::Start { who: uid, input });
            let mut cx = Cx {
                hx,
                uid,
                spawner,
                children: Vec::new(),
            };
            match run(co, &mut cx, &script.steps, None) {
                Ok(value) => Ok(value),
                Err(interrupt) => {
                    co.state().log.push(Ev::Interrupted { who: uid });
                    run(co, &mut cx, &script.cleanup, Some(interrupt))
                }
            }
        };
        (uid, body)
    }
}

/// A running body's own data.
struct Cx {
    hx: Rc<Harness>,
    uid: Uid,
    spawner: Option<Uid>,
    children: Vec<Uid>,
}

impl Cx {
    fn resolve(&self, target: &Target) -> Option<Uid> {
        resolve(
            target,
            Some(self.uid),
            self.spawner,
            &self.children,
            &self.hx.spawned.borrow(),
        )
    }
}

/// Interprets `steps`; `cleanup` holds the interrupt when they are the
/// cleanup, which returns it at the end.
fn run(
    co: &mut C,
    cx: &mut Cx,
    steps: &[Step],
    cleanup: Option<Interrupt<Yields>>,
) -> Eff<Yields, V> {
    let who = cx.uid;
    for step in steps {
        match step {
            Step::Write(v) => co.state().log.push(Ev::Write { who, v: *v }),
            Step::Suspend(v) | Step::SuspendSwallow(v) => {
                let value = V::new(Tag::Yield, who, *v);
                if cleanup.is_some() {
                    // Being cancelled: this is unwound by force and never returns.
                    let r = co.suspend(value);
                    let ok = r.is_ok();
                    co.state().log.push(Ev::CleanupSuspendReturned { who, ok });
                } else {
                    match co.suspend(value) {
                        Ok(input) => co.state().log.push(Ev::Got { who, input }),
                        Err(_) if matches!(step, Step::SuspendSwallow(_)) => {
                            co.state().log.push(Ev::Swallowed { who })
                        }
                        Err(interrupt) => return Err(interrupt),
                    }
                }
            }
            Step::Spawn(script) => {
                let (child, body) = cx.hx.body(script, Some(who));
                let ok = match co.spawn(body) {
                    Ok(handle) => {
                        cx.hx.spawned(child, handle);
                        cx.children.push(child);
                        Ok(())
                    }
                    Err(err) => {
                        let kind = err.kind();
                        drop(err.into_body());
                        Err(kind)
                    }
                };
                co.state().log.push(Ev::Spawned { who, child, ok });
            }
            Step::Resume {
                target,
                input,
                catch,
            } => {
                let Some(target) = cx.resolve(target) else {
                    co.state().log.push(Ev::NoTarget { who });
                    continue;
                };
                let handle = cx.hx.handle(target);
                let input = V::new(Tag::Input, who, *input);
                let out = if *catch {
                    match catch_unwind(AssertUnwindSafe(|| co.resume(handle, input))) {
                        Ok(result) => Out::from_resume(result?),
                        Err(payload) => Out::Panic(payload.into()),
                    }
                } else {
                    Out::from_resume(co.resume(handle, input)?)
                };
                co.state().log.push(Ev::Resumed { who, target, out });
            }
            Step::Cancel { target, catch } => {
                let Some(target) = cx.resolve(target) else {
                    co.state().log.push(Ev::NoTarget { who });
                    continue;
                };
                let handle = cx.hx.handle(target);
                let out = if *catch {
                    match catch_unwind(AssertUnwindSafe(|| co.cancel(handle))) {
                        Ok(result) => CancelOut::from(result?),
                        Err(payload) => CancelOut::Panic(payload.into()),
                    }
                } else {
                    CancelOut::from(co.cancel(handle)?)
                };
                co.state().log.push(Ev::Cancelled { who, target, out });
            }
            Step::Panic => panic_any(Boom(who)),
            Step::Return(v) => return Ok(V::new(Tag::Return, who, *v)),
        }
    }
    match cleanup {
        None => Ok(V::new(Tag::End, who, 0)),
        Some(interrupt) => Err(interrupt),
    }
}

/// The main stack of the real run.
struct Real {
    hx: Rc<Harness>,
    stage: Option<Stage<St>>,
    stage_no: usize,
}

impl Real {
    fn new(config: &StageConfig) -> Real {
        let hx = Rc::new(Harness {
            next_uid: Cell::new(0),
            handles: RefCell::new(Vec::new()),
            spawned: RefCell::new(Vec::new()),
            dropped: Rc::new(RefCell::new(Vec::new())),
        });
        let mut real = Real {
            hx,
            stage: None,
            stage_no: 0,
        };
        real.new_stage(config);
        real
    }

    fn new_stage(&mut self, config: &StageConfig) {
        self.stage_no += 1;
        let mut builder = StageBuilder::new();
        if let Some(max) = config.max_coroutines {
            builder = builder.max_coroutines(max);
        }
        if !config.pool_stacks {
            builder = builder.max_pooled_stacks(0);
        }
        self.stage = Some(builder.build(St {
            log: Vec::new(),
            stage: self.stage_no,
            dropped: Rc::clone(&self.hx.dropped),
        }));
    }

    fn stage(&mut self) -> &mut Stage<St> {
        self.stage.as_mut().expect("a stage between operations")
    }

    fn drop_stage(&mut self) -> MainOut {
        let stage = self.stage.take().expect("a stage to drop");
        let result = catch_unwind(AssertUnwindSafe(|| drop(stage)));
        MainOut::Dropped(result.err().map(Panicked::from))
    }

    fn op(&mut self, op: &Op) -> MainOut {
        match op {
            Op::Spawn(script) => {
                let (uid, body) = self.hx.body(script, None);
                match self.stage().spawn(body) {
                    Ok(handle) => {
                        self.hx.spawned(uid, handle);
                        MainOut::Spawned(Ok(uid))
                    }
                    Err(err) => {
                        let kind = err.kind();
                        drop(err.into_body());
                        MainOut::Spawned(Err(kind))
                    }
                }
            }
            Op::Resume { target, input } => {
                let Some(target) = self.hx.pick(target) else {
                    return MainOut::Nothing;
                };
                let handle = self.hx.handle(target);
                let input = V::new(Tag::MainInput, 0, *input);
                let stage = self.stage();
                MainOut::Resumed(
                    match catch_unwind(AssertUnwindSafe(|| stage.resume(handle, input))) {
                        Ok(result) => Out::from_resume(result),
                        Err(payload) => Out::Panic(payload.into()),
                    },
                )
            }
            Op::Cancel { target } => {
                let Some(target) = self.hx.pick(target) else {
                    return MainOut::Nothing;
                };
                let handle = self.hx.handle(target);
                let stage = self.stage();
                MainOut::Cancelled(
                    match catch_unwind(AssertUnwindSafe(|| stage.cancel(handle))) {
                        Ok(result) => CancelOut::from(result),
                        Err(payload) => CancelOut::Panic(payload.into()),
                    },
                )
            }
            Op::Write(v) => {
                self.stage().state().log.push(Ev::Main(*v));
                MainOut::Nothing
            }
            Op::Restart(config) => {
                let out = self.drop_stage();
                self.new_stage(config);
                out
            }
            Op::IntoState(config) => {
                let stage = self.stage.take().expect("a stage");
                let out = match catch_unwind(AssertUnwindSafe(|| stage.into_state())) {
                    // `state` drops at the end of this arm, logging itself.
                    Ok(state) => Ok(state.log.clone()),
                    Err(payload) => Err(payload.into()),
                };
                self.new_stage(config);
                MainOut::IntoState(out)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Returned,
    Cancelled,
    Panicked,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum MState {
    NotStarted,
    /// Suspended at the (normal) step `pc`.
    Suspended(usize),
    /// Running or on the resume chain.
    Running,
    Ended(End),
}

struct MCo {
    stage: usize,
    index: u32,
    generation: u32,
    spawner: Option<Uid>,
    script: Rc<Script>,
    state: MState,
    /// Received the interrupt: any further suspend is unwound by force.
    cancelling: bool,
    children: Vec<Uid>,
}

struct MSlot {
    generation: u32,
    occupant: Uid,
}

/// How a stretch of a script ended.
#[derive(Debug)]
enum Exec {
    Yield(V),
    Return(V),
    /// The cleanup ran out of steps: the interrupt is returned.
    Interrupt,
    /// Suspended while cancelling: unwound by force.
    ForcedUnwind,
    Panic(Panicked),
}

/// Behaviours the generator must reach (see
/// `the_generated_programs_reach_every_behaviour`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Feature {
    MainYield,
    MainReturn,
    MainPanic,
    NestedYield,
    NestedReturn,
    NestedPanicCaught,
    PanicThroughChain,
    ErrFinished,
    ErrCancelled,
    ErrPanicked,
    ErrRunning,
    ErrStale,
    ErrForeignStage,
    Budget,
    SlotReused,
    CancelNotStarted,
    CancelPropagated,
    CancelReturnedValue,
    Swallowed,
    ForcedUnwind,
    CleanupPanic,
    CancelFromCoroutine,
    TeardownCancels,
    TeardownPanic,
    SpawnDuringTeardown,
    IntoState,
}

impl Feature {
    const ALL: [Feature; 26] = [
        Feature::MainYield,
        Feature::MainReturn,
        Feature::MainPanic,
        Feature::NestedYield,
        Feature::NestedReturn,
        Feature::NestedPanicCaught,
        Feature::PanicThroughChain,
        Feature::ErrFinished,
        Feature::ErrCancelled,
        Feature::ErrPanicked,
        Feature::ErrRunning,
        Feature::ErrStale,
        Feature::ErrForeignStage,
        Feature::Budget,
        Feature::SlotReused,
        Feature::CancelNotStarted,
        Feature::CancelPropagated,
        Feature::CancelReturnedValue,
        Feature::Swallowed,
        Feature::ForcedUnwind,
        Feature::CleanupPanic,
        Feature::CancelFromCoroutine,
        Feature::TeardownCancels,
        Feature::TeardownPanic,
        Feature::SpawnDuringTeardown,
        Feature::IntoState,
    ];
}

type ModelResult<T> = Result<T, String>;

/// The reference model: what the stage should do, as plain data.
struct Model {
    stage_no: usize,
    max_coroutines: usize,
    slots: Vec<MSlot>,
    /// By uid; `None` for a failed spawn.
    cos: Vec<Option<MCo>>,
    spawned: Vec<Uid>,
    log: Vec<Ev>,
    dropped: Vec<Dropped>,
    live: usize,
    tearing_down: bool,
    /// The real handles by uid, for the slots the stage chose.
    ids: Vec<Option<H>>,
    seen: BTreeMap<Feature, usize>,
}

impl Model {
    fn new(config: &StageConfig) -> Model {
        let mut model = Model {
            stage_no: 0,
            max_coroutines: 0,
            slots: Vec::new(),
            cos: Vec::new(),
            spawned: Vec::new(),
            log: Vec::new(),
            dropped: Vec::new(),
            live: 0,
            tearing_down: false,
            ids: Vec::new(),
            seen: BTreeMap::new(),
        };
        model.new_stage(config);
        model
    }

    fn new_stage(&mut self, config: &StageConfig) {
        self.stage_no += 1;
        self.max_coroutines = config.max_coroutines.unwrap_or(usize::MAX);
        self.slots.clear();
        self.log.clear();
        self.live = 0;
    }

    fn hit(&mut self, feature: Feature) {
        *self.seen.entry(feature).or_default() += 1;
    }

    fn hit_error(&mut self, kind: ErrorKind) {
        let feature = match kind {
            ErrorKind::Finished => Feature::ErrFinished,
            ErrorKind::Cancelled => Feature::ErrCancelled,
            ErrorKind::Panicked => Feature::ErrPanicked,
            ErrorKind::Running => Feature::ErrRunning,
            ErrorKind::Stale => Feature::ErrStale,
            ErrorKind::ForeignStage => Feature::ErrForeignStage,
            _ => return,
        };
        self.hit(feature);
    }

    fn co(&self, uid: Uid) -> &MCo {
        self.cos[uid].as_ref().expect("a spawned coroutine")
    }

    fn co_mut(&mut self, uid: Uid) -> &mut MCo {
        self.cos[uid].as_mut().expect("a spawned coroutine")
    }

    fn pick(&self, target: &Target) -> Option<Uid> {
        resolve(target, None, None, &[], &self.spawned)
    }

    /// What `stage.check` says, and what resume and cancel check first.
    fn check(&self, uid: Uid) -> Result<(), ErrorKind> {
        let co = self.co(uid);
        if co.stage != self.stage_no {
            return Err(ErrorKind::ForeignStage);
        }
        if self.slots[co.index as usize].generation != co.generation {
            return Err(ErrorKind::Stale);
        }
        match co.state {
            MState::NotStarted | MState::Suspended(_) => Ok(()),
            MState::Running => Err(ErrorKind::Running),
            MState::Ended(End::Returned) => Err(ErrorKind::Finished),
            MState::Ended(End::Cancelled) => Err(ErrorKind::Cancelled),
            MState::Ended(End::Panicked) => Err(ErrorKind::Panicked),
        }
    }

    fn end(&mut self, uid: Uid, end: End) {
        self.co_mut(uid).state = MState::Ended(end);
        self.live -= 1;
        self.dropped.push(Dropped::Token(uid));
    }

    fn spawn(
        &mut self,
        who: Option<Uid>,
        script: &Rc<Script>,
    ) -> ModelResult<Result<Uid, ErrorKind>> {
        let uid = self.cos.len();
        self.cos.push(None);
        if self.live >= self.max_coroutines {
            self.hit(Feature::Budget);
            // The body comes back with the error and is dropped unrun.
            self.dropped.push(Dropped::Token(uid));
            if let Some(who) = who {
                self.log.push(Ev::Spawned {
                    who,
                    child: uid,
                    ok: Err(ErrorKind::Budget),
                });
            }
            return Ok(Err(ErrorKind::Budget));
        }
        let id = self
            .ids
            .get(uid)
            .copied()
            .flatten()
            .ok_or_else(|| format!("the model expects the spawn of coroutine {uid} to succeed"))?
            .id();
        let (index, generation) = (id.index(), id.generation());
        if let Some(slot) = self.slots.get(index as usize) {
            let previous = slot.occupant;
            if !matches!(self.co(previous).state, MState::Ended(_)) {
                return Err(format!(
                    "coroutine {uid} got slot {index}, which still holds coroutine {previous} ({:?})",
                    self.co(previous).state
                ));
            }
            if generation != slot.generation + 1 {
                return Err(format!(
                    "coroutine {uid} got {id} but the slot's generation was {}",
                    slot.generation
                ));
            }
            self.slots[index as usize] = MSlot {
                generation,
                occupant: uid,
            };
            self.hit(Feature::SlotReused);
        } else if index as usize == self.slots.len() && generation == 0 {
            self.slots.push(MSlot {
                generation,
                occupant: uid,
            });
        } else {
            return Err(format!(
                "coroutine {uid} got {id}; expected an ended slot or #{}.0",
                self.slots.len()
            ));
        }
        if self.tearing_down {
            self.hit(Feature::SpawnDuringTeardown);
        }
        self.cos[uid] = Some(MCo {
            stage: self.stage_no,
            index,
            generation,
            spawner: who,
            script: Rc::clone(script),
            state: MState::NotStarted,
            cancelling: false,
            children: Vec::new(),
        });
        self.live += 1;
        self.spawned.push(uid);
        if let Some(who) = who {
            self.co_mut(who).children.push(uid);
            self.log.push(Ev::Spawned {
                who,
                child: uid,
                ok: Ok(()),
            });
        }
        Ok(Ok(uid))
    }

    fn resume(&mut self, uid: Uid, input: V) -> ModelResult<Out> {
        if let Err(kind) = self.check(uid) {
            self.hit_error(kind);
            return Ok(Out::Err(kind, input));
        }
        let pc = match self.co(uid).state {
            MState::NotStarted => {
                self.log.push(Ev::Start { who: uid, input });
                0
            }
            MState::Suspended(pc) => {
                self.log.push(Ev::Got { who: uid, input });
                pc + 1
            }
            state => return Err(format!("model: resuming coroutine {uid} in {state:?}")),
        };
        self.co_mut(uid).state = MState::Running;
        Ok(match self.exec(uid, false, pc)? {
            Exec::Yield(v) => Out::Yield(v),
            Exec::Return(v) => {
                self.end(uid, End::Returned);
                Out::Return(v)
            }
            Exec::Panic(payload) => {
                self.end(uid, End::Panicked);
                Out::Panic(payload)
            }
            other => return Err(format!("model: {other:?} from {uid}, not cancelled")),
        })
    }

    fn cancel(&mut self, uid: Uid) -> ModelResult<CancelOut> {
        if let Err(kind) = self.check(uid) {
            self.hit_error(kind);
            return Ok(CancelOut::Err(kind));
        }
        self.cancel_ready(uid)
    }

    /// Cancels a coroutine that is not started or suspended.
    fn cancel_ready(&mut self, uid: Uid) -> ModelResult<CancelOut> {
        let pc = match self.co(uid).state {
            MState::NotStarted => {
                self.hit(Feature::CancelNotStarted);
                self.co_mut(uid).state = MState::Running;
                self.end(uid, End::Cancelled);
                return Ok(CancelOut::Done(None));
            }
            MState::Suspended(pc) => pc,
            state => return Err(format!("model: cancelling coroutine {uid} in {state:?}")),
        };
        let co = self.co_mut(uid);
        co.state = MState::Running;
        co.cancelling = true;
        let script = Rc::clone(&co.script);
        let exec = if let Step::SuspendSwallow(_) = script.steps[pc] {
            self.hit(Feature::Swallowed);
            self.log.push(Ev::Swallowed { who: uid });
            self.exec(uid, false, pc + 1)?
        } else {
            self.log.push(Ev::Interrupted { who: uid });
            self.exec(uid, true, 0)?
        };
        let (feature, end, out) = match exec {
            Exec::Return(v) => (
                Feature::CancelReturnedValue,
                End::Cancelled,
                CancelOut::Done(Some(v)),
            ),
            Exec::Interrupt => (
                Feature::CancelPropagated,
                End::Cancelled,
                CancelOut::Done(None),
            ),
            Exec::ForcedUnwind => (Feature::ForcedUnwind, End::Cancelled, CancelOut::Done(None)),
            Exec::Panic(payload) => (
                Feature::CleanupPanic,
                End::Panicked,
                CancelOut::Panic(payload),
            ),
            Exec::Yield(v) => {
                return Err(format!("model: cancelled coroutine {uid} yielded {v:?}"));
            }
        };
        self.hit(feature);
        self.end(uid, end);
        Ok(out)
    }

    /// Runs coroutine `uid`'s steps (or its cleanup) from `pc`.
    fn exec(&mut self, uid: Uid, cleanup: bool, mut pc: usize) -> ModelResult<Exec> {
        let script = Rc::clone(&self.co(uid).script);
        let steps = if cleanup {
            &script.cleanup
        } else {
            &script.steps
        };
        while let Some(step) = steps.get(pc) {
            match step {
                Step::Write(v) => self.log.push(Ev::Write { who: uid, v: *v }),
                Step::Suspend(v) | Step::SuspendSwallow(v) => {
                    if self.co(uid).cancelling {
                        return Ok(Exec::ForcedUnwind);
                    }
                    self.co_mut(uid).state = MState::Suspended(pc);
                    return Ok(Exec::Yield(V::new(Tag::Yield, uid, *v)));
                }
                Step::Spawn(child) => {
                    // A failed spawn is logged; the steps go on.
                    let _ = self.spawn(Some(uid), child)?;
                }
                Step::Resume {
                    target,
                    input,
                    catch,
                } => {
                    let Some(target) = self.resolve(uid, target) else {
                        self.log.push(Ev::NoTarget { who: uid });
                        pc += 1;
                        continue;
                    };
                    let out = self.resume(target, V::new(Tag::Input, uid, *input))?;
                    match &out {
                        Out::Yield(_) => self.hit(Feature::NestedYield),
                        Out::Return(_) => self.hit(Feature::NestedReturn),
                        Out::Panic(_) if *catch => self.hit(Feature::NestedPanicCaught),
                        Out::Panic(payload) => {
                            self.hit(Feature::PanicThroughChain);
                            return Ok(Exec::Panic(payload.clone()));
                        }
                        Out::Err(..) => {}
                    }
                    self.log.push(Ev::Resumed {
                        who: uid,
                        target,
                        out,
                    });
                }
                Step::Cancel { target, catch } => {
                    let Some(target) = self.resolve(uid, target) else {
                        self.log.push(Ev::NoTarget { who: uid });
                        pc += 1;
                        continue;
                    };
                    self.hit(Feature::CancelFromCoroutine);
                    let out = self.cancel(target)?;
                    if let CancelOut::Panic(payload) = &out {
                        if !*catch {
                            return Ok(Exec::Panic(payload.clone()));
                        }
                    }
                    self.log.push(Ev::Cancelled {
                        who: uid,
                        target,
                        out,
                    });
                }
                Step::Panic => return Ok(Exec::Panic(Panicked::Boom(uid))),
                Step::Return(v) => return Ok(Exec::Return(V::new(Tag::Return, uid, *v))),
            }
            pc += 1;
        }
        Ok(if cleanup {
            Exec::Interrupt
        } else {
            Exec::Return(V::new(Tag::End, uid, 0))
        })
    }

    fn resolve(&self, uid: Uid, target: &Target) -> Option<Uid> {
        let co = self.co(uid);
        resolve(target, Some(uid), co.spawner, &co.children, &self.spawned)
    }

    /// Cancels every live coroutine in slot order, pass after pass until a
    /// pass finds none (cleanup code may spawn); returns the first panic.
    fn teardown(&mut self) -> ModelResult<Option<Panicked>> {
        self.tearing_down = true;
        let mut first_panic = None;
        loop {
            let mut cancelled_any = false;
            let mut index = 0;
            while let Some(at) = (index..self.slots.len()).find(|&at| {
                matches!(
                    self.co(self.slots[at].occupant).state,
                    MState::NotStarted | MState::Suspended(_)
                )
            }) {
                index = at + 1;
                cancelled_any = true;
                self.hit(Feature::TeardownCancels);
                if let CancelOut::Panic(payload) = self.cancel_ready(self.slots[at].occupant)? {
                    first_panic.get_or_insert(payload);
                }
            }
            if !cancelled_any {
                break;
            }
        }
        self.tearing_down = false;
        if first_panic.is_some() {
            self.hit(Feature::TeardownPanic);
        }
        Ok(first_panic)
    }

    fn drop_state(&mut self) {
        let log = std::mem::take(&mut self.log);
        self.dropped.push(Dropped::State {
            stage: self.stage_no,
            log,
        });
    }

    fn drop_stage(&mut self) -> ModelResult<MainOut> {
        let panic = self.teardown()?;
        self.drop_state();
        Ok(MainOut::Dropped(panic))
    }

    fn op(&mut self, op: &Op) -> ModelResult<MainOut> {
        Ok(match op {
            Op::Spawn(script) => MainOut::Spawned(self.spawn(None, script)?),
            Op::Resume { target, input } => {
                let Some(target) = self.pick(target) else {
                    return Ok(MainOut::Nothing);
                };
                let out = self.resume(target, V::new(Tag::MainInput, 0, *input))?;
                match out {
                    Out::Yield(_) => self.hit(Feature::MainYield),
                    Out::Return(_) => self.hit(Feature::MainReturn),
                    Out::Panic(_) => self.hit(Feature::MainPanic),
                    Out::Err(..) => {}
                }
                MainOut::Resumed(out)
            }
            Op::Cancel { target } => {
                let Some(target) = self.pick(target) else {
                    return Ok(MainOut::Nothing);
                };
                MainOut::Cancelled(self.cancel(target)?)
            }
            Op::Write(v) => {
                self.log.push(Ev::Main(*v));
                MainOut::Nothing
            }
            Op::Restart(config) => {
                let out = self.drop_stage()?;
                self.new_stage(config);
                out
            }
            Op::IntoState(config) => {
                self.hit(Feature::IntoState);
                let out = match self.teardown()? {
                    Some(payload) => Err(payload),
                    None => Ok(self.log.clone()),
                };
                self.drop_state();
                self.new_stage(config);
                MainOut::IntoState(out)
            }
        })
    }
}

// ---------------------------------------------------------------------------
// Running a program on both
// ---------------------------------------------------------------------------

/// Silences the panic message of `Panic` steps (thousands per run); other
/// panics still print.
fn quiet_boom_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Boom>().is_none() {
                default(info);
            }
        }));
    });
}

/// Compares everything observable after operation `at` (`op`).
fn compare(
    real: &mut Real,
    model: &Model,
    at: usize,
    op: &dyn fmt::Debug,
    got: MainOut,
    want: MainOut,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(got, want, "result of op #{} {:?}", at, op);
    let dropped = real.hx.dropped.borrow().clone();
    prop_assert_eq!(
        dropped,
        &model.dropped[..],
        "destructors after op #{} {:?}",
        at,
        op
    );
    let handles = real.hx.handles.borrow().clone();
    if let Some(stage) = real.stage.as_mut() {
        prop_assert_eq!(
            &stage.state().log,
            &model.log,
            "state after op #{} {:?}",
            at,
            op
        );
        let stats = stage.stats();
        prop_assert_eq!(stats.live, model.live, "stats().live after op #{}", at);
        prop_assert_eq!(
            stats.slots,
            model.slots.len(),
            "stats().slots after op #{}",
            at
        );
        for &uid in &model.spawned {
            let handle = handles[uid].expect("spawned");
            prop_assert_eq!(
                stage.check(handle).map_err(|e| e.kind()),
                model.check(uid),
                "check of coroutine {} after op #{}",
                uid,
                at
            );
        }
    }
    Ok(())
}

/// Runs `program` on a real stage and on the model; returns the behaviours
/// it reached.
fn check_program(program: &Program) -> Result<BTreeMap<Feature, usize>, TestCaseError> {
    quiet_boom_panics();
    let mut real = Real::new(&program.first);
    let mut model = Model::new(&program.first);
    let model_error = |at: usize, op: &dyn fmt::Debug, error: String| {
        TestCaseError::fail(format!("op #{at} {op:?}: {error}"))
    };
    for (at, op) in program.ops.iter().enumerate() {
        let got = real.op(op);
        model.ids = real.hx.handles.borrow().clone();
        let want = model.op(op).map_err(|e| model_error(at, op, e))?;
        compare(&mut real, &model, at, op, got, want)?;
    }
    // Drop the last stage: every live coroutine is torn down, then the state.
    let at = program.ops.len();
    let got = real.drop_stage();
    model.ids = real.hx.handles.borrow().clone();
    let want = model
        .drop_stage()
        .map_err(|e| model_error(at, &"final drop", e))?;
    compare(&mut real, &model, at, &"final drop", got, want)?;

    // Every token dropped exactly once, every state once.
    let dropped = real.hx.dropped.borrow();
    let spawns = real.hx.next_uid.get();
    let mut times = vec![0; spawns];
    for entry in dropped.iter() {
        if let Dropped::Token(uid) = entry {
            times[*uid] += 1;
        }
    }
    prop_assert!(
        times.iter().all(|&n| n == 1),
        "token drops per coroutine: {:?}",
        times
    );
    let states = dropped
        .iter()
        .filter(|d| matches!(d, Dropped::State { .. }))
        .count();
    prop_assert_eq!(states, real.stage_no, "states dropped");
    Ok(model.seen)
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        4 => (0..4usize).prop_map(Target::Child),
        1 => (0..64usize).prop_map(Target::Any),
        2 => (0..4usize).prop_map(Target::Recent),
        1 => Just(Target::Me),
        1 => Just(Target::Spawner),
    ]
}

/// A step of a script that may spawn `depth` more levels of children; a
/// `cleanup` step is drawn with other weights (mostly writes).
fn step(depth: u32, cleanup: bool) -> BoxedStrategy<Step> {
    let value = || 0..4u8;
    let catch = || prop::bool::weighted(0.5);
    let w = |normal: u32, in_cleanup: u32| if cleanup { in_cleanup } else { normal };
    let mut choices: Vec<(u32, BoxedStrategy<Step>)> = vec![
        (w(2, 4), value().prop_map(Step::Write).boxed()),
        (w(5, 1), value().prop_map(Step::Suspend).boxed()),
        (w(2, 0), value().prop_map(Step::SuspendSwallow).boxed()),
        (
            w(6, 1),
            (target(), value(), catch())
                .prop_map(|(target, input, catch)| Step::Resume {
                    target,
                    input,
                    catch,
                })
                .boxed(),
        ),
        (
            w(2, 1),
            (target(), catch())
                .prop_map(|(target, catch)| Step::Cancel { target, catch })
                .boxed(),
        ),
        (w(2, 1), Just(Step::Panic).boxed()),
        (w(1, 2), value().prop_map(Step::Return).boxed()),
    ];
    if depth > 0 {
        choices.push((
            w(3, 1),
            script(depth - 1)
                .prop_map(|s| Step::Spawn(Rc::new(s)))
                .boxed(),
        ));
    }
    choices.retain(|(weight, _)| *weight > 0);
    Union::new_weighted(choices).boxed()
}

fn script(depth: u32) -> BoxedStrategy<Script> {
    (vec(step(depth, false), 0..8), vec(step(depth, true), 0..3))
        .prop_map(|(steps, cleanup)| Script { steps, cleanup })
        .boxed()
}

fn stage_config() -> impl Strategy<Value = StageConfig> {
    (
        prop_oneof![3 => Just(None), 1 => (1..8usize).prop_map(Some)],
        prop::bool::weighted(0.8),
    )
        .prop_map(|(max_coroutines, pool_stacks)| StageConfig {
            max_coroutines,
            pool_stacks,
        })
}

fn main_target() -> impl Strategy<Value = Target> {
    prop_oneof![
        1 => (0..64usize).prop_map(Target::Any),
        2 => (0..4usize).prop_map(Target::Recent),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => script(2).prop_map(|s| Op::Spawn(Rc::new(s))),
        16 => (main_target(), 0..4u8).prop_map(|(target, input)| Op::Resume { target, input }),
        3 => main_target().prop_map(|target| Op::Cancel { target }),
        2 => (0..4u8).prop_map(Op::Write),
        1 => prop_oneof![
            stage_config().prop_map(Op::Restart),
            stage_config().prop_map(Op::IntoState),
        ],
    ]
}

fn program() -> impl Strategy<Value = Program> {
    (stage_config(), vec(op(), 1..48)).prop_map(|(first, ops)| Program { first, ops })
}

/// `CASES`, or `PROPTEST_CASES`; failures persisted next to this file.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn the_stage_behaves_like_the_model() {
    let mut runner = TestRunner::new(config());
    if let Err(error) = runner.run(&program(), |program| check_program(&program).map(drop)) {
        panic!(
            "{error}\n\nThe seed of this case was saved in tests/model.proptest-regressions \
             (see the `cc` line above); rerun it alone with \
             `PROPTEST_CASES=0 cargo test --test model the_stage_behaves_like_the_model`."
        );
    }
}

/// The property is only as good as the programs it sees: a fixed-seed batch
/// must reach every behaviour in [`Feature`].
#[test]
fn the_generated_programs_reach_every_behaviour() {
    let config = Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let seen = RefCell::new(BTreeMap::<Feature, usize>::new());
    runner
        .run(&program(), |program| {
            for (feature, n) in check_program(&program)? {
                *seen.borrow_mut().entry(feature).or_default() += n;
            }
            Ok(())
        })
        .unwrap();
    let seen = seen.into_inner();
    let missing: Vec<Feature> = Feature::ALL
        .into_iter()
        .filter(|f| !seen.contains_key(f))
        .collect();
    assert!(
        missing.is_empty(),
        "never reached: {missing:?}\nreached: {seen:?}"
    );
    eprintln!(
        "behaviours reached by {} programs: {seen:?}",
        runner.config().cases
    );
}
