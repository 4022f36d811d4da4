//! The trusted core: the only module of the crate with `unsafe` code.
//!
//! # What lives here
//!
//! * `stage_core.rs`: [`Core`], the stage's shared state `S`, the
//!   coroutine table and the stack pool, in one heap allocation with a
//!   stable address.
//! * `owner.rs`: [`Owner`], the stage's owning pointer to its core (inside
//!   [`Stage`](crate::Stage)).
//! * `link.rs`: [`Link`], a running coroutine's pointer to the core and to
//!   its corosensei `Yielder` (inside [`Co`](crate::Co)).
//! * `slot.rs`: the type-erased coroutine table.
//! * `switch.rs`: `resume`, `cancel` and teardown on top of corosensei.
//! * `spawn.rs`: `spawn`, and the [`Body`] a spawn runs.
//! * `handle.rs`: [`RawHandle`], the typed, stage-checked token that a
//!   spawn returns and a resume requires, and [`StageId`].
//! * `stack.rs` and `overflow.rs`: guarded stacks, the pool, and the
//!   stack-overflow report.
//!
//! # Layering
//!
//! This module imports nothing from the crate's public layer: only the
//! vocabulary below it (`error`, `effect`, `resumed`, `options`, `stats`).
//! The public types wrap what it returns: [`Handle`](crate::Handle) wraps a
//! [`RawHandle`], and [`Co`](crate::Co) wraps the [`Link`] that a [`Body`]
//! receives.
//!
//! The public types that wrap [`Owner`], [`Link`] and [`RawHandle`] (the
//! stage, `co`, handles) also hold the crate's `ThreadBound` marker, which
//! makes them `!Send` and `!Sync`. These three are `Send` and `Sync`
//! themselves (by `unsafe impl` for the first two), only so that a compile
//! error about sending a stage names the stage and the marker, not a
//! pointer of this module; none of them is ever used outside the public
//! type that wraps it.
//!
//! # Why this is sound
//!
//! The crate's promise is that safe code can never hold two live `&mut S`
//! and that no reference into `S` is alive while another stack runs. The
//! argument has four parts.
//!
//! **1. One access path per stack, borrowed across every switch.** The
//! state is reached only through `Owner::state` (`&mut self` on the stage)
//! or `Link::state` (`&mut self` on the coroutine's `Co`). Every operation
//! that switches stacks also takes `&mut self` on the same object:
//! `Stage::resume`/`cancel` on the main stack, `Co::suspend`/`resume`/
//! `cancel` in a coroutine. So by the ordinary borrow rules, no `&mut S`
//! obtained through that object is alive when the switch happens.
//!
//! **2. At any instant exactly one stack runs.** Control is tree-shaped: a
//! coroutine runs only inside some `resume` call of its resumer, which in
//! turn holds `&mut` on its own access path for the whole switch (part 1).
//! The main stack, and every coroutine on the chain of resumes below the
//! running one, are parked inside such a call. The running coroutine is the
//! only stack whose access path is not borrowed by a pending switch.
//!
//! **3. The capability cannot escape.** A body receives `&mut Co` under a
//! higher-ranked lifetime and must be `'static`; `Co` is neither `Clone`
//! nor `Copy` nor constructible outside this crate, and the corosensei
//! `Yielder` is never exposed. The stage, handles and `Co` are `!Send` and
//! `!Sync` (through their `ThreadBound` marker; see Layering). No method that takes `&self` switches stacks, so a
//! closure given to `with_state` (which holds `&mut` on the access path)
//! cannot switch either: it is pure.
//!
//! **4. The raw pointers stay valid.** [`Core`] is boxed once and never
//! moves. It is freed only in `Owner::drop`, after every coroutine has been
//! cancelled or completed, so no `Link` outlives it (a coroutine's `Link`
//! lives on the coroutine's stack). If the stage is leaked with
//! `mem::forget`, the core and every suspended stack are leaked with it:
//! nothing is freed while something may still point to it, and since
//! everything reachable from a stack is `'static`, nothing borrowed from a
//! caller's frame can be reached after that frame is gone.
//!
//! Inside the core, library code never forms a `&mut Core<S>`: it projects
//! raw pointers to the `state`, `table` and `pool` fields separately, and
//! holds a `&mut Table` only between switches, never across one. Each slot
//! is its own heap allocation that never moves, and no reference to a whole
//! slot is ever formed: a running coroutine stays in its slot's *body*,
//! which nothing but its own `Running` guard touches while it runs; the
//! slot's tag is read and written by value; its metadata is
//! borrowed only through the table. So the table may grow, and other slots
//! may be searched and borrowed, during a nested `spawn` or `resume`
//! without aliasing the running coroutine.
//!
//! # The coroutine table
//!
//! ```text
//!   Table.slots:  [ SlotRef 0 | SlotRef 1 | ... ]          (may reallocate)
//!                      |
//!                      v  own allocation, never moves, freed with the table
//!   Slot { tag: generation << 8 | status,
//!          body: [ corosensei Coroutine ],
//!          meta: { teardown, stack: Option<Mapped>, name } }
//!
//!   status:  VACANT --spawn--> READY --return/panic/cancel--> RETURNED |
//!                               |   ^                           CANCELLED |
//!          its coroutine starts |   | the nested switch         PANICKED
//!        a nested resume/cancel v   | is over
//!                              RUNNING
//!   ended --spawn (generation + 1)--> READY
//! ```
//!
//! A coroutine that runs keeps the status `READY`; it is marked `RUNNING`
//! only while it is parked in a nested `resume` or `cancel` of its own
//! (see `Running` for why that is enough), so a round trip from the main
//! stack writes no status at all.
//!
//! A handle carries its stage id, its slot's index and generation, and its
//! slot's address. The hot path checks it with two comparisons and no
//! lookup: the stage id must be this stage's, and then (only then) the
//! slot at that address, which the stage check proves is one of this
//! stage's live slots, must have the tag `generation << 8 | READY`. An
//! ended slot keeps its (idle) stack, so the next spawn into it, which the
//! LIFO free list makes the common case, reuses stack and slot in place.
//!
//! `body` holds the corosensei coroutine, type-erased: it is written as a
//! `Coroutine<Wake<I>, Y, Eff<Yields, R>, StackRef>` by `spawn::<S, I, Y,
//! R, _>` and read back as the same type by `resume`/`cancel` through a
//! `RawHandle<I, Y, R>`, which only that spawn can have made. That the types agree follows from the handle check:
//! the stage id is unique in the process (so `S` matches, and the slot
//! address is this stage's), and the pair (slot, generation) names exactly
//! one spawn (so `I`, `Y`, `R` match). Generations never wrap: a slot whose
//! generation reaches `u32::MAX` is retired. The stage's teardown, which
//! has no handle, uses the `teardown` function pointer stored with the body
//! by the same spawn.

mod handle;
mod invariant;
mod link;
mod overflow;
mod owner;
mod slot;
mod spawn;
mod stack;
mod stage_core;
mod switch;

pub(crate) use handle::RawHandle;
pub(crate) use link::Link;
pub(crate) use owner::{CoreConfig, Owner};
pub(crate) use spawn::Body;
pub(crate) use stack::round_stack_size;

#[cfg(doc)]
use self::{handle::StageId, stage_core::Core};
