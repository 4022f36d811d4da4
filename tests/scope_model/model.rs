//! The reference model: what a program must do, computed from the rules of
//! the driver's docs, with no driver, no coroutines and no scheduler.
//!
//! A task is a timeline. Its waits are sleeps; a sleep from `t` for `d` is
//! interrupted at the earliest interrupt visible from the task's innermost
//! level (a cancel scope's deadline, a task scope's failure, the task's
//! requested cancellation, hidden below a shield; or a cancellation
//! through the core, which nothing hides), at once if that has already
//! passed. A level owns an interrupt that reaches its end if it is the
//! outermost interrupted visible level. A task scope's children do not
//! inherit their parent's levels: they run on their own until the scope
//! *closes* (the first failure, the body's failure or interrupt, an
//! interrupt of the wait for the children), when they are cancelled by
//! request; a body that panics or a parent cancelled through the core
//! cancels them through the core. So a scope is computed in two passes:
//! each child alone, which gives the first failure; then the body, which
//! gives the close; then each child again, cancelled at the close.

use std::cell::Cell;

use super::program::{Action, Child, Outcome, Program, Record, Step, Us, block_path};

const NEVER: Us = Us::MAX;

thread_local! {
    /// Children cancelled before they started, in the last [`run`] (for the
    /// coverage check).
    static NEVER_RAN: Cell<usize> = const { Cell::new(0) };
}

/// How many children of the last [`run`] were cancelled before they
/// started.
pub fn never_ran() -> usize {
    NEVER_RAN.with(Cell::get)
}

#[derive(Clone, Copy)]
struct Level {
    deadline: Us,
    /// When a task scope's first failure sets its flag.
    flag: Us,
    shield: bool,
}

impl Level {
    fn hit(&self, now: Us) -> bool {
        self.deadline <= now || self.flag <= now
    }
}

/// One task's interrupt state.
struct Ctx {
    levels: Vec<Level>,
    /// When its cancellation is requested.
    abort: Us,
    /// When it is cancelled through the core.
    hard: Us,
    hard_delivered: bool,
    /// How many times it has parked (let the other tasks run), to tell
    /// whether children spawned at an instant have started by the time
    /// their scope closes at that same instant.
    parks: u64,
}

impl Ctx {
    /// The earliest interrupt visible from the innermost level, but a
    /// cancellation through the core.
    fn visible_soft(&self) -> Us {
        let mut earliest = NEVER;
        for level in self.levels.iter().rev() {
            earliest = earliest.min(level.deadline).min(level.flag);
            if level.shield {
                return earliest;
            }
        }
        earliest.min(self.abort)
    }

    /// Whether the level at `depth` owns an interrupt at `now`.
    fn owns(&self, depth: usize, now: Us) -> bool {
        let level = self.levels[depth];
        if self.hard_delivered || !level.hit(now) {
            return false;
        }
        if level.shield {
            return true;
        }
        for below in self.levels[..depth].iter().rev() {
            if below.hit(now) {
                return false;
            }
            if below.shield {
                return true;
            }
        }
        self.abort > now
    }

    /// A sleep of `d` from `*t`.
    fn wait(&mut self, t: &mut Us, d: Us) -> Result<(), Flow> {
        if self.hard_delivered {
            // A wait after the core's interrupt: unwound by force.
            return Err(Flow::Unwound);
        }
        if self.hard <= *t {
            self.hard_delivered = true;
            return Err(Flow::Interrupted);
        }
        let soft = self.visible_soft();
        if soft <= *t {
            return Err(Flow::Interrupted);
        }
        let first = soft.min(self.hard);
        self.parks += 1;
        if first < *t + d {
            *t = first;
            self.hard_delivered = first == self.hard;
            return Err(Flow::Interrupted);
        }
        *t += d;
        Ok(())
    }
}

/// How a block ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Next,
    Fail,
    Panicked,
    Interrupted,
    /// Unwound by force (a wait after the core's interrupt).
    Unwound,
}

/// Runs the whole program.
pub fn run(program: &Program) -> Vec<Record> {
    let (abort, hard) = match program.action {
        Action::Nothing => (NEVER, NEVER),
        Action::Abort(x) => (x, NEVER),
        Action::Cancel(x) | Action::Drop(x) => (NEVER, x),
    };
    NEVER_RAN.with(|n| n.set(0));
    let mut out = Vec::new();
    task(&program.root, "r", 0, abort, hard, true, &mut out);
    out.sort();
    out
}

/// Runs a task from `start`; records it (and everything under it) in
/// `out`; returns its end and outcome. `started`: whether it has run its
/// first step before a cancellation at `start` (its parent parked at that
/// instant after spawning it); if not, such a cancellation means it never
/// runs.
fn task(
    child: &Child,
    path: &str,
    start: Us,
    abort: Us,
    hard: Us,
    started: bool,
    out: &mut Vec<Record>,
) -> (Us, Outcome) {
    let ended = |end: Us, outcome: Outcome, out: &mut Vec<Record>| {
        out.push(Record::Task {
            path: path.to_owned(),
            end,
            outcome,
        });
        (end, outcome)
    };
    if !started && (abort <= start || hard <= start) {
        // Cancelled before it started: it never runs.
        NEVER_RAN.with(|n| n.set(n.get() + 1));
        return ended(start, Outcome::Cancelled, out);
    }
    let mut ctx = Ctx {
        levels: Vec::new(),
        abort,
        hard,
        hard_delivered: false,
        parks: 0,
    };
    let mut t = start;
    let outcome = match steps(&child.steps, path, &mut ctx, &mut t, out) {
        Flow::Next => Outcome::Returned,
        Flow::Fail => Outcome::Failed,
        Flow::Panicked => Outcome::Panicked,
        Flow::Unwound => Outcome::Cancelled,
        Flow::Interrupted => {
            assert!(
                ctx.hard_delivered || ctx.abort <= t,
                "model: an interrupt reached the top of {path} at {t} without a cancellation"
            );
            if let Some(c) = child.cleanup {
                ctx.levels.push(Level {
                    deadline: NEVER,
                    flag: NEVER,
                    shield: true,
                });
                let _ = ctx.wait(&mut t, c);
                ctx.levels.pop();
            }
            Outcome::Cancelled
        }
    };
    ended(t, outcome, out)
}

fn steps(list: &[Step], prefix: &str, ctx: &mut Ctx, t: &mut Us, out: &mut Vec<Record>) -> Flow {
    for (i, step) in list.iter().enumerate() {
        let flow = match step {
            Step::Sleep(d) => match ctx.wait(t, *d) {
                Ok(()) => Flow::Next,
                Err(flow) => flow,
            },
            Step::Fail => Flow::Fail,
            Step::Panic => Flow::Panicked,
            Step::Timeout(d, inner) => {
                let deadline = *t + d;
                level(
                    inner,
                    &block_path(prefix, 't', i),
                    deadline,
                    false,
                    ctx,
                    t,
                    out,
                )
            }
            Step::Shield(d, inner) => {
                let deadline = d.map_or(NEVER, |d| *t + d);
                level(
                    inner,
                    &block_path(prefix, 'h', i),
                    deadline,
                    true,
                    ctx,
                    t,
                    out,
                )
            }
            Step::Scope(children, body) => {
                scope(children, body, &block_path(prefix, 's', i), ctx, t, out)
            }
        };
        if flow != Flow::Next {
            return flow;
        }
    }
    Flow::Next
}

/// A timeout or a shield.
#[allow(clippy::too_many_arguments)]
fn level(
    inner: &[Step],
    path: &str,
    deadline: Us,
    shield: bool,
    ctx: &mut Ctx,
    t: &mut Us,
    out: &mut Vec<Record>,
) -> Flow {
    let depth = ctx.levels.len();
    ctx.levels.push(Level {
        deadline,
        flag: NEVER,
        shield,
    });
    let flow = steps(inner, path, ctx, t, out);
    let result = match flow {
        Flow::Next => Some("ok"),
        Flow::Interrupted if ctx.owns(depth, *t) => Some("elapsed"),
        _ => None,
    };
    ctx.levels.pop();
    match result {
        Some(result) => {
            out.push(Record::Block {
                path: path.to_owned(),
                at: *t,
                result: result.to_owned(),
            });
            Flow::Next
        }
        None => flow,
    }
}

fn is_failure(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Failed | Outcome::Panicked)
}

/// A task scope: its children, spawned at entry, then its body.
fn scope(
    children: &[Child],
    body: &[Step],
    path: &str,
    ctx: &mut Ctx,
    t: &mut Us,
    out: &mut Vec<Record>,
) -> Flow {
    let start = *t;
    let child_path = |k: usize| format!("{path}.c{k}");
    // Each child alone: the first failure sets the scope's flag.
    let natural: Vec<(Us, Outcome)> = children
        .iter()
        .enumerate()
        .map(|(k, c)| {
            task(
                c,
                &child_path(k),
                start,
                NEVER,
                NEVER,
                true,
                &mut Vec::new(),
            )
        })
        .collect();
    let first_failure = natural
        .iter()
        .copied()
        .filter(|&(_, outcome)| is_failure(outcome))
        .map(|(end, _)| end)
        .min()
        .unwrap_or(NEVER);
    // The body, under the scope's level.
    let parks_at_spawn = ctx.parks;
    let depth = ctx.levels.len();
    ctx.levels.push(Level {
        deadline: NEVER,
        flag: first_failure,
        shield: false,
    });
    let flow = steps(body, &format!("{path}.b"), ctx, t, out);
    let body_end = *t;
    let owned = flow == Flow::Interrupted && ctx.owns(depth, body_end);
    ctx.levels.pop();
    // Children spawned at `start` have run their first step if the body
    // parked since.
    let started = ctx.parks > parks_at_spawn;
    let through_core = matches!(flow, Flow::Panicked | Flow::Unwound)
        || (flow == Flow::Interrupted && ctx.hard_delivered);
    let mut close = first_failure;
    let mut passing = false;
    if !through_core {
        match flow {
            Flow::Fail => close = close.min(body_end),
            Flow::Interrupted if !owned => {
                close = close.min(body_end);
                passing = true;
            }
            _ => {}
        }
    }
    let children_hard = if through_core { body_end } else { ctx.hard };
    let run_children = |close: Us, hard: Us| -> Vec<(Us, Outcome, Vec<Record>)> {
        children
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let mut records = Vec::new();
                // A child that ends by itself when the scope closes (its
                // failure closes it) is not cancelled by that close.
                let abort = if natural[k].0 <= close { NEVER } else { close };
                let (end, outcome) =
                    task(c, &child_path(k), start, abort, hard, started, &mut records);
                (end, outcome, records)
            })
            .collect()
    };
    let last = |runs: &[(Us, Outcome, Vec<Record>)]| {
        runs.iter()
            .map(|r| r.0)
            .max()
            .unwrap_or(start)
            .max(body_end)
    };
    let mut joined_through_core = false;
    let end = if through_core {
        body_end
    } else {
        if !passing {
            // The wait for the children sees what is visible once the
            // scope's level is gone.
            let visible = ctx.visible_soft();
            let last_soft = last(&run_children(close, NEVER));
            let join_close = if visible <= body_end {
                Some(body_end)
            } else if visible < last_soft {
                Some(visible)
            } else {
                None
            };
            if let Some(at) = join_close {
                passing = true;
                close = close.min(at);
            }
        }
        // A cancellation through the core while the scope waits for its
        // children: they are cancelled through the core too, at once.
        let last_soft = last(&run_children(close, NEVER));
        if ctx.hard >= body_end && ctx.hard < last_soft {
            joined_through_core = true;
            ctx.hard_delivered = true;
            ctx.hard
        } else {
            last_soft
        }
    };
    let runs = run_children(close, children_hard);
    // The wait for the children parks if one has not ended when the body
    // is over: it ends later, or is cancelled by this scope's close.
    let waits = !through_core
        && runs
            .iter()
            .enumerate()
            .any(|(k, r)| r.0 > body_end || (r.0 == body_end && natural[k].0 > close));
    if waits {
        ctx.parks += 1;
    }
    *t = end;
    let mut failures: Vec<(Us, String)> = Vec::new();
    if flow == Flow::Fail {
        failures.push((body_end, "body".to_owned()));
    }
    for (k, (child_end, outcome, records)) in runs.into_iter().enumerate() {
        out.extend(records);
        if is_failure(outcome) {
            failures.push((child_end, child_path(k)));
        }
    }
    if through_core {
        return flow;
    }
    if joined_through_core {
        return Flow::Interrupted;
    }
    failures.sort();
    let result = if let Some((_, first)) = failures.first() {
        format!("error first={first} n={}", failures.len())
    } else if passing {
        return Flow::Interrupted;
    } else {
        "ok".to_owned()
    };
    out.push(Record::Block {
        path: path.to_owned(),
        at: end,
        result,
    });
    Flow::Next
}
