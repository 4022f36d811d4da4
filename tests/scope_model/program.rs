//! The programs of the scope model, how they are generated, and what both
//! the real run and the model report about them.

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

/// Virtual time, in microseconds.
pub type Us = u64;

/// One step of a task's script.
#[derive(Clone, Debug)]
pub enum Step {
    /// `t.sleep(d)?`.
    Sleep(Us),
    /// Return `Ok(Err(Fail))` from the task (a child: fail its scope).
    Fail,
    /// `panic_any(Boom)`.
    Panic,
    /// `t.timeout(d, |t| steps)?`; a failure inside is passed on.
    Timeout(Us, Vec<Step>),
    /// `t.shield(..)` or `t.shield_for(d, ..)`.
    Shield(Option<Us>, Vec<Step>),
    /// `t.scope(|s| { spawn every child; body })?`; the scope's result is
    /// recorded and the task goes on.
    Scope(Vec<Child>, Vec<Step>),
}

/// A task: its steps, and a cleanup that runs when its cancellation
/// reaches its top (a shielded sleep), before it returns the interrupt.
#[derive(Clone, Debug)]
pub struct Child {
    pub steps: Vec<Step>,
    pub cleanup: Option<Us>,
}

/// What the main stack does to the root task at a time.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    Nothing,
    /// `JoinHandle::abort`.
    Abort(Us),
    /// `Driver::cancel`: through the core.
    Cancel(Us),
    /// Drop the driver.
    Drop(Us),
}

#[derive(Clone, Debug)]
pub struct Program {
    pub root: Child,
    pub action: Action,
}

/// How a task ended, as its join handle tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Returned,
    Failed,
    Cancelled,
    Panicked,
}

/// What a run reports; compared as a sorted list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Record {
    /// A task (the root `r`, or a child `<scope>.c<k>`) ended at `end`.
    Task {
        path: String,
        end: Us,
        outcome: Outcome,
    },
    /// A timeout, shield or scope returned (without passing an interrupt
    /// on) at `at`: `ok`, `elapsed`, or `error first=<path> n=<count>`.
    Block {
        path: String,
        at: Us,
        result: String,
    },
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Task { path, end, outcome } => write!(f, "{path} ended {outcome:?} at {end}"),
            Record::Block { path, at, result } => write!(f, "{path} -> {result} at {at}"),
        }
    }
}

/// The paths of the blocks of a script: `<prefix>.t<i>` for a timeout at
/// step `i`, `.h<i>` a shield, `.s<i>` a scope, whose body is `.s<i>.b`
/// and whose children are `.s<i>.c<k>`.
pub fn block_path(prefix: &str, kind: char, i: usize) -> String {
    format!("{prefix}.{kind}{i}")
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// A duration placeholder: a rank, replaced by [`assign_durations`].
fn rank() -> impl Strategy<Value = Us> {
    0..64u64
}

fn steps(depth: u32, first_sleeps: bool) -> BoxedStrategy<Vec<Step>> {
    let step = step(depth);
    let body = vec(step, 0..5);
    if first_sleeps {
        // A child starts with a sleep, so that nothing it does happens at
        // the instant it was spawned (see the module docs).
        (rank(), body)
            .prop_map(|(d, mut rest)| {
                rest.insert(0, Step::Sleep(d));
                rest
            })
            .boxed()
    } else {
        body.boxed()
    }
}

fn step(depth: u32) -> BoxedStrategy<Step> {
    let mut choices: Vec<(u32, BoxedStrategy<Step>)> = vec![
        (8, rank().prop_map(Step::Sleep).boxed()),
        (2, Just(Step::Fail).boxed()),
        (1, Just(Step::Panic).boxed()),
    ];
    if depth > 0 {
        let inner = || steps(depth - 1, false);
        choices.push((
            3,
            (rank(), inner())
                .prop_map(|(d, s)| Step::Timeout(d, s))
                .boxed(),
        ));
        choices.push((
            2,
            (prop::option::of(rank()), inner())
                .prop_map(|(d, s)| Step::Shield(d, s))
                .boxed(),
        ));
        choices.push((
            3,
            (vec(child(depth - 1), 0..4), inner())
                .prop_map(|(c, b)| Step::Scope(c, b))
                .boxed(),
        ));
    }
    Union::new_weighted(choices).boxed()
}

fn child(depth: u32) -> BoxedStrategy<Child> {
    (steps(depth, true), prop::option::of(rank()))
        .prop_map(|(steps, cleanup)| Child { steps, cleanup })
        .boxed()
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => Just(Action::Nothing),
        2 => rank().prop_map(Action::Abort),
        2 => rank().prop_map(Action::Cancel),
        1 => rank().prop_map(Action::Drop),
    ]
}

/// At most this many durations: they become distinct powers of two of
/// microseconds, and the largest sum must fit driver time.
const MAX_DURATIONS: usize = 48;

pub fn program() -> impl Strategy<Value = Program> {
    (steps(3, false), prop::option::of(rank()), action())
        .prop_map(|(steps, cleanup, action)| {
            let mut program = Program {
                root: Child { steps, cleanup },
                action,
            };
            assign_durations(&mut program);
            program
        })
        .prop_filter("too many durations", |p| {
            count_durations(p) <= MAX_DURATIONS
        })
}

/// Every duration of the program, in a fixed order.
fn durations_mut(program: &mut Program) -> Vec<&mut Us> {
    fn in_steps<'a>(steps: &'a mut [Step], out: &mut Vec<&'a mut Us>) {
        for step in steps {
            match step {
                Step::Sleep(d) => out.push(d),
                Step::Fail | Step::Panic => {}
                Step::Timeout(d, inner) => {
                    out.push(d);
                    in_steps(inner, out);
                }
                Step::Shield(d, inner) => {
                    if let Some(d) = d {
                        out.push(d);
                    }
                    in_steps(inner, out);
                }
                Step::Scope(children, body) => {
                    for child in children {
                        in_child(child, out);
                    }
                    in_steps(body, out);
                }
            }
        }
    }
    fn in_child<'a>(child: &'a mut Child, out: &mut Vec<&'a mut Us>) {
        in_steps(&mut child.steps, out);
        if let Some(c) = &mut child.cleanup {
            out.push(c);
        }
    }
    let mut out = Vec::new();
    let Program { root, action } = program;
    in_child(root, &mut out);
    match action {
        Action::Nothing => {}
        Action::Abort(x) | Action::Cancel(x) | Action::Drop(x) => out.push(x),
    }
    out
}

fn count_durations(program: &Program) -> usize {
    durations_mut(&mut program.clone()).len()
}

/// Replaces the rank placeholders by distinct powers of two (of
/// microseconds), smaller ranks getting smaller powers. Every moment of a
/// run is then a sum of distinct durations along one chain of causes, so
/// two events happen at the same instant only if one causes the other:
/// the model need not know how the driver orders the tasks of one instant.
pub fn assign_durations(program: &mut Program) {
    let mut all = durations_mut(program);
    let mut order: Vec<usize> = (0..all.len()).collect();
    order.sort_by_key(|&i| (*all[i], i));
    for (power, i) in order.into_iter().enumerate() {
        *all[i] = 1 << power.min(MAX_DURATIONS);
    }
}
