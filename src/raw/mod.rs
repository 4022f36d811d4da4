//! The trusted core: the only module of the crate with `unsafe` code.
//!
//! # What lives here
//!
//! * [`Core`]: the stage's shared state `S`, the coroutine table and the
//!   stack pool, in one heap allocation with a stable address.
//! * [`Owner`]: the stage's owning pointer to its core (inside
//!   [`Stage`](crate::Stage)).
//! * [`Link`]: a running coroutine's pointer to the core and to its
//!   corosensei `Yielder` (inside [`Co`](crate::Co)).
//! * The type-erased coroutine table, and `resume`, `cancel`, `spawn` and
//!   teardown on top of corosensei.
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
//! `Yielder` is never exposed. The stage is `!Send`; handles and `Co` are
//! `!Send` and `!Sync`. No method that takes `&self` switches stacks, so a
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
//! `Handle<I, Y, R>`. That the types agree follows from the handle check:
//! the stage id is unique in the process (so `S` matches, and the slot
//! address is this stage's), and the pair (slot, generation) names exactly
//! one spawn (so `I`, `Y`, `R` match). Generations never wrap: a slot whose
//! generation reaches `u32::MAX` is retired. The stage's teardown, which
//! has no handle, uses the `teardown` function pointer stored with the body
//! by the same spawn.

mod overflow;
mod stack;

use std::mem::{ManuallyDrop, MaybeUninit};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::co::Co;
use crate::effect::{Eff, Interrupt, Yields};
use crate::error::{CoroutineId, Detail, Error, ErrorKind, ResumeError, SpawnError};
use crate::handle::{Handle, StageId};
use crate::stage::{Resumed, StackUsage, Stats};

pub(crate) use stack::round_stack_size;
pub use stack::{DEFAULT_STACK_SIZE, MAX_STACK_SIZE};

/// What a coroutine receives when it is switched to.
pub(crate) enum Wake<I> {
    /// A normal resume with the next input.
    Resume(I),
    /// The coroutine is being cancelled at its yield point; also the
    /// canceller's answer to a yield point reached while the coroutine
    /// unwinds (see [`run_cancel`]).
    Cancel,
    /// The coroutine ignored its interrupt and suspended again: unwind its
    /// stack from this yield point (see [`run_cancel`]).
    Unwind,
}

/// The payload of the unwinding that [`Wake::Unwind`] starts. Private, so
/// only this module raises it; the root of a coroutine that received
/// `Wake::Cancel` recognizes it (see [`Outcome`]).
struct Unwinding;

/// The concrete corosensei coroutine behind a `Handle<I, Y, R>`.
type Inner<I, Y, R> = Coroutine<Wake<I>, Y, Outcome<R>, stack::StackRef>;

/// How a coroutine's body ended, as its corosensei coroutine returns it.
///
/// Every panic is caught at the coroutine's root and returned as a value,
/// so that a switch never unwinds out of corosensei: the hot path of
/// `resume` needs no drop guard, and nothing has to be kept in memory
/// across the switch for one. The resumer (or canceller) then continues the
/// unwind on its own side, with the original payload. The unwinding that a
/// canceller starts ([`Wake::Unwind`]) is not a panic: when it reaches the
/// root, the body ends as if it had returned its `Err(Interrupt)`.
pub(crate) enum Outcome<R> {
    /// The body returned.
    Done(Eff<Yields, R>),
    /// The body panicked with this payload.
    Panicked(Box<dyn std::any::Any + Send>),
}

/// Untyped space for an [`Inner`]. Every `Inner<I, Y, R>` has the same few
/// fields (corosensei keeps the closure on the coroutine's own stack);
/// `spawn` checks at compile time that it fits.
#[repr(C, align(16))]
struct Storage(MaybeUninit<[u8; 64]>);

/// A slot's status, packed with its generation into [`Slot::tag`] so that
/// the hot path checks a handle with one comparison.
mod status {
    /// Claimed by a spawn that has not finished filling it.
    pub(super) const VACANT: u8 = 0;
    /// The body holds the coroutine: suspended, not started, or running
    /// without a nested switch in progress.
    pub(super) const READY: u8 = 1;
    /// On the chain of resumes below the running stack: the coroutine is
    /// making a nested switch (see `Link::mark_running`). Must be
    /// `READY + 1`.
    pub(super) const RUNNING: u8 = 2;
    /// Ended by returning.
    pub(super) const RETURNED: u8 = 3;
    /// Ended by cancellation.
    pub(super) const CANCELLED: u8 = 4;
    /// Ended by a panic.
    pub(super) const PANICKED: u8 = 5;
}

#[inline(always)]
const fn tag(generation: u32, status: u8) -> u64 {
    ((generation as u64) << 8) | status as u64
}

#[inline(always)]
const fn tag_status(tag: u64) -> u8 {
    tag as u8
}

#[inline(always)]
const fn tag_generation(tag: u64) -> u32 {
    (tag >> 8) as u32
}

/// Erased teardown: cancels the coroutine in slot `index` of the core at
/// `core` (a `Core<S>` for the `S` it was instantiated with).
type TeardownFn = unsafe fn(core: NonNull<()>, index: u32);

/// One coroutine slot, in its own heap allocation: allocated by
/// `Table::claim`, never moved, freed only when the table is dropped. So a
/// [`SlotRef`] taken from a table stays valid while the table lives, a
/// running coroutine never moves even when the table grows under it, and a
/// handle can carry its slot's address (checked against the stage before
/// it is used; see the module docs).
///
/// Its three parts are reached separately, through raw pointers, and no
/// reference to a whole `Slot` is ever formed: `body` belongs to the slot's
/// `Running` guard while one exists (and to no one else), `tag`
/// is read and written by value, and `meta` is borrowed only by the table's
/// own code, between switches.
#[repr(C)]
struct Slot {
    /// Generation and status; see [`tag`].
    tag: u64,
    /// The core whose table owns the slot (a `Core<S>`, erased), and the
    /// slot's index there. Set when the slot is allocated, never changed,
    /// so that a `Running` guard needs nothing but the slot's address.
    core: NonNull<()>,
    index: u32,
    /// Holds the coroutine while the slot is `READY` or `RUNNING`.
    body: Storage,
    meta: SlotMeta,
}

/// What the table keeps about a slot besides its coroutine and its tag.
struct SlotMeta {
    /// Written together with the body by `spawn`, for the same types.
    teardown: Option<TeardownFn>,
    /// The stack of the slot's coroutine while it is live. After it ended:
    /// either `None`, or an idle stack kept for the next coroutine spawned
    /// into this slot (counted in `Table::idle`).
    stack: Option<stack::Mapped>,
    name: Option<Box<str>>,
}

/// The address of a [`Slot`], as kept by the table and by handles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotRef(NonNull<Slot>);

// SAFETY: a `SlotRef` is only an address; by itself it grants no access.
// It is dereferenced only by this module, through the stage (or a
// coroutine of the stage) that owns the slot, after the stage check, and
// the stage is `!Send`, so that happens on the stage's thread. Handles,
// which carry a `SlotRef` outside the table, stay `!Send` and `!Sync`
// through their own marker (checked in `assertions.rs`); these impls only
// keep a raw pointer from being the reason named in that error.
unsafe impl Send for SlotRef {}
// SAFETY: as for `Send`: shared access to the address alone reads nothing.
unsafe impl Sync for SlotRef {}

impl SlotRef {
    /// The slot's tag.
    ///
    /// # Safety
    ///
    /// The table that owns the slot has not been dropped.
    #[inline(always)]
    unsafe fn tag(self) -> u64 {
        // SAFETY: the slot is allocated (caller); `tag` is read by value,
        // and no reference to it is ever held across other code.
        unsafe { ptr::addr_of!((*self.0.as_ptr()).tag).read() }
    }

    /// Sets the slot's tag.
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    unsafe fn set_tag(self, tag: u64) {
        // SAFETY: as in `tag`, for a write.
        unsafe { ptr::addr_of_mut!((*self.0.as_ptr()).tag).write(tag) }
    }

    /// The core that owns the slot, as the `Core<S>` the caller knows it
    /// is.
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    unsafe fn core<S>(self) -> NonNull<Core<S>> {
        // SAFETY: as in `tag`; the field is never written after `claim`.
        unsafe { ptr::addr_of!((*self.0.as_ptr()).core).read() }.cast()
    }

    /// The slot's index in its table.
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    unsafe fn index(self) -> u32 {
        // SAFETY: as in `core`.
        unsafe { ptr::addr_of!((*self.0.as_ptr()).index).read() }
    }

    /// The address of the slot's body, as the coroutine type the caller
    /// knows it holds. Plain address arithmetic: creates no reference and
    /// reads nothing.
    #[inline(always)]
    fn body<T>(self) -> *mut T {
        self.0
            .as_ptr()
            .wrapping_byte_add(std::mem::offset_of!(Slot, body))
            .cast::<T>()
    }

    /// The slot's metadata, for code that holds the table's unique borrow
    /// but already has the slot's address (no bounds check).
    ///
    /// # Safety
    ///
    /// The slot belongs to `table`, which the caller borrows mutably for as
    /// long as the returned reference is used.
    #[inline(always)]
    unsafe fn meta(self, table: &mut Table) -> &mut SlotMeta {
        let _ = table;
        // SAFETY: the slot is allocated while its table lives, and slot
        // metadata is reached only through a borrow of the table (here,
        // the caller's `&mut`), so this is the only reference to it.
        unsafe { &mut *ptr::addr_of_mut!((*self.0.as_ptr()).meta) }
    }
}

struct Table {
    /// Every slot ever claimed, by index. The vector may reallocate; the
    /// slots it points to do not move.
    slots: Vec<SlotRef>,
    /// Indices of ended slots, reused last-in first-out (the most recently
    /// used stack is the warmest).
    free: Vec<u32>,
    /// Coroutines that are `READY` or `RUNNING`.
    live: usize,
    /// Idle stacks kept in ended slots.
    idle: usize,
}

impl Drop for Table {
    fn drop(&mut self) {
        for slot in &self.slots {
            // SAFETY: every slot came from `Box::leak` in `Table::claim` and
            // is freed only here, once. No coroutine is live when the table
            // is dropped (the owner tears them down first), so no `Running`
            // guard or handle check can reach the slot again; `Storage` is
            // plain bytes, so dropping the box drops only the metadata.
            drop(unsafe { Box::from_raw(slot.0.as_ptr()) });
        }
    }
}

impl Table {
    /// The tag of the slot at `index`, if one was ever claimed there.
    #[inline]
    fn tag_at(&self, index: u32) -> Option<u64> {
        let slot = *self.slots.get(index as usize)?;
        // SAFETY: the slot came from `claim` and is freed only when the
        // table is dropped; `&self` keeps the table alive.
        Some(unsafe { slot.tag() })
    }

    /// Sets the tag of the slot at `index`.
    #[inline]
    fn set_tag_at(&mut self, index: u32, tag: u64) {
        // SAFETY: as in `tag_at`.
        unsafe { self.slots[index as usize].set_tag(tag) }
    }

    /// The metadata of the slot at `index`, if one was ever claimed there.
    #[inline]
    fn meta(&self, index: u32) -> Option<&SlotMeta> {
        let slot = *self.slots.get(index as usize)?;
        // SAFETY: the slot is allocated while the table lives (see
        // `tag_at`). Slot metadata is reached only through `meta` and
        // `meta_mut`, which borrow the table, so no `&mut` to it is alive.
        Some(unsafe { &*ptr::addr_of!((*slot.0.as_ptr()).meta) })
    }

    /// The metadata of the slot at `index`, which must exist.
    #[inline]
    fn meta_mut(&mut self, index: u32) -> &mut SlotMeta {
        let slot = self.slots[index as usize];
        // SAFETY: as in `meta`; `&mut self` makes this the only reference
        // to the slot's metadata.
        unsafe { &mut *ptr::addr_of_mut!((*slot.0.as_ptr()).meta) }
    }

    /// The name of the coroutine `id`, if it is the slot's occupant and has
    /// one.
    fn name(&self, id: CoroutineId) -> Option<&str> {
        if tag_generation(self.tag_at(id.index)?) != id.generation {
            return None;
        }
        self.meta(id.index)?.name.as_deref()
    }

    #[cold]
    #[inline(never)]
    fn error(&self, kind: ErrorKind, id: CoroutineId) -> Error {
        Error::new(kind, Some(id), Detail::None).with_name(self.name(id))
    }

    /// Why `id` cannot be resumed now.
    #[cold]
    #[inline(never)]
    fn lease_error(&self, id: CoroutineId) -> Error {
        let status = self
            .tag_at(id.index)
            .filter(|&tag| tag_generation(tag) == id.generation)
            .map(tag_status);
        let kind = match status {
            Some(status::RUNNING) => ErrorKind::Running,
            Some(status::RETURNED) => ErrorKind::Finished,
            Some(status::CANCELLED) => ErrorKind::Cancelled,
            Some(status::PANICKED) => ErrorKind::Panicked,
            _ => ErrorKind::Stale,
        };
        self.error(kind, id)
    }

    /// A slot for a new coroutine, with its generation already advanced and
    /// its status `VACANT`. An idle stack it holds stays in it. `core` is
    /// the core that owns this table, recorded in new slots.
    fn claim(&mut self, core: NonNull<()>) -> CoroutineId {
        while let Some(index) = self.free.pop() {
            let old = self.tag_at(index).expect("free slots exist");
            debug_assert!(tag_status(old) >= status::RETURNED);
            if let Some(next) = tag_generation(old).checked_add(1) {
                self.set_tag_at(index, tag(next, status::VACANT));
                return CoroutineId {
                    index,
                    generation: next,
                };
            }
            // Generation exhausted: retire the slot for good, so that no
            // handle can ever match a later occupant.
            if self.meta_mut(index).stack.take().is_some() {
                self.idle -= 1;
            }
        }
        let index = u32::try_from(self.slots.len()).expect("more than 2^32 coroutine slots");
        let slot = Box::new(Slot {
            tag: tag(0, status::VACANT),
            core,
            index,
            body: Storage(MaybeUninit::uninit()),
            meta: SlotMeta {
                teardown: None,
                stack: None,
                name: None,
            },
        });
        self.slots.push(SlotRef(NonNull::from(Box::leak(slot))));
        CoroutineId {
            index,
            generation: 0,
        }
    }

    /// Drops every idle stack kept in ended slots.
    #[cold]
    fn release_idle(&mut self) {
        for i in 0..self.free.len() {
            let index = self.free[i];
            self.meta_mut(index).stack = None;
        }
        self.idle = 0;
    }
}

/// A stage's core: the shared state, the coroutine table and the stack pool.
/// Boxed once by [`Owner::new`]; its address never changes.
pub(crate) struct Core<S> {
    /// Reached only through `Owner::state` and `Link::state`.
    state: ManuallyDrop<S>,
    table: Table,
    pool: stack::Pool,
    stage: StageId,
    max_coroutines: usize,
}

/// The table of the core at `core`.
///
/// # Safety
///
/// `core` points to a live `Core<S>`, and no other reference to its table
/// is alive while the returned one is used. Callers use it only between
/// stack switches.
#[inline(always)]
unsafe fn table<'a, S>(core: NonNull<Core<S>>) -> &'a mut Table {
    // SAFETY: the caller guarantees the core is live and the table is not
    // otherwise borrowed; projecting the field does not touch `state`.
    unsafe { &mut *ptr::addr_of_mut!((*core.as_ptr()).table) }
}

/// The table of the core at `core`, shared.
///
/// # Safety
///
/// `core` points to a live `Core<S>` and no `&mut` to its table is alive
/// while the returned reference is used.
#[inline(always)]
unsafe fn table_ref<'a, S>(core: NonNull<Core<S>>) -> &'a Table {
    // SAFETY: as in `table`, for a shared borrow.
    unsafe { &*ptr::addr_of!((*core.as_ptr()).table) }
}

/// The pool of the core at `core`.
///
/// # Safety
///
/// As for [`table`], for the pool.
#[inline(always)]
unsafe fn pool<'a, S>(core: NonNull<Core<S>>) -> &'a mut stack::Pool {
    // SAFETY: as in `table`.
    unsafe { &mut *ptr::addr_of_mut!((*core.as_ptr()).pool) }
}

/// A coroutine being resumed (or cancelled) from its slot. It stays in the
/// slot's body (which never moves) while it runs. `Running` has no drop
/// guard of its own: a plain resume cannot unwind (see [`Outcome`]), and a
/// cancellation wraps it in a [`Cancelling`] guard.
///
/// # Marking: lazily, only for nested switches
///
/// A slot is not marked while its coroutine merely runs: its tag stays
/// `READY`, so a round trip from the main stack writes nothing. What the
/// status must prevent is a switch to a coroutine that is on the chain of
/// resumes (parked in a nested `resume` or `cancel`, or running). Checks
/// happen only on the running stack, through `Running::start`:
///
/// * on the main stack, no coroutine runs or is parked in a switch (the
///   main stack is the root of the chain), so every live coroutine may be
///   switched to;
/// * on a coroutine `X`, only through `Link::resume`/`cancel`, which mark
///   `X` itself `RUNNING` first and `READY` again when the nested switch
///   is over (by a guard, also during a panic). Every other coroutine on
///   the chain is parked in such a nested switch, so it is marked too.
///
/// So `start` refuses exactly the coroutines on the chain, and no other
/// code looks at the status of a coroutine while it runs: the stage's own
/// methods take the stage, which the main stack holds borrowed for the
/// whole switch.
struct Running<S, I, Y, R> {
    /// The only field, so that little has to be kept across the switch:
    /// the core, the index and the generation are read from the slot.
    slot: SlotRef,
    marker: std::marker::PhantomData<*mut RunningTypes<S, I, Y, R>>,
}

/// What a [`Running`] guard stands for: the core's and the coroutine's
/// types.
type RunningTypes<S, I, Y, R> = (Core<S>, Inner<I, Y, R>);

impl<S, I, Y, R> Running<S, I, Y, R> {
    /// Checks `handle` against the stage and its slot: the slot must be
    /// `READY` for the handle's generation.
    ///
    /// # Safety
    ///
    /// `core` is live, `stage` is its id and its table is not borrowed. The
    /// caller got `handle` as a `Handle<I, Y, R>`, so if the check passes,
    /// the slot's body holds an `Inner<I, Y, R>` (see the module docs).
    #[inline(always)]
    unsafe fn start(
        core: NonNull<Core<S>>,
        stage: StageId,
        handle: &Handle<I, Y, R>,
    ) -> Result<Self, Error> {
        if handle.stage != stage {
            return Err(foreign_stage(handle.stage, stage, handle.id));
        }
        let slot = handle.slot;
        let ready = tag(handle.id.generation, status::READY);
        // SAFETY: the handle's stage is this live core's stage, and stage
        // ids are unique in the process, so the handle was made by this
        // core's `spawn` and `slot` is one of its table's slots, which live
        // as long as the core.
        if unsafe { slot.tag() } != ready {
            // SAFETY: the core is live and its table not borrowed (caller).
            return Err(unsafe { lease_error(core, handle.id) });
        }
        Ok(Running {
            slot,
            marker: std::marker::PhantomData,
        })
    }

    /// The coroutine.
    #[inline(always)]
    fn co(&mut self) -> &mut Inner<I, Y, R> {
        // SAFETY: `start` found the slot `READY` for this handle, so its
        // body holds an initialized `Inner<I, Y, R>`. No one else touches
        // it while this guard exists: `start` refuses every coroutine on
        // the chain of resumes (see above), nested code reaches other
        // slots' bodies only, never forms a reference to a whole slot, and
        // the slot never moves.
        unsafe { &mut *self.slot.body::<Inner<I, Y, R>>() }
    }

    /// The coroutine suspended again. Its slot is still `READY`: nothing
    /// to write.
    #[inline(always)]
    fn suspended(self) {}

    /// The coroutine is done: drop it, then end the slot, keeping its stack
    /// for reuse.
    #[inline(always)]
    fn finish(mut self, end: u8) {
        debug_assert!(self.co().done());
        // SAFETY: the coroutine has completed, so dropping it runs no user
        // code; it is dropped once, and the slot ends below, so nothing
        // reads the body as a coroutine again.
        unsafe { ptr::drop_in_place(self.slot.body::<Inner<I, Y, R>>()) };
        // SAFETY: the coroutine that ran on the stack is gone, so the stack
        // may be reused (stack module invariant).
        unsafe { end_slot::<S>(self.slot, end, true) };
    }
}

/// A [`Running`] coroutine being cancelled, whose cancellation may unwind:
/// a panic in its cleanup code is passed on to the canceller (see
/// [`Outcome`]), and one may be raised on this side of the switch (dropping
/// a yielded value, or a never-started body). Dropping the guard during
/// such a panic ends the slot as `PANICKED`.
struct Cancelling<S, I, Y, R>(ManuallyDrop<Running<S, I, Y, R>>);

impl<S, I, Y, R> Cancelling<S, I, Y, R> {
    /// The cancellation is over: end the slot as `CANCELLED`.
    fn finish(self) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: taken once; `this` is never dropped, so neither is the
        // `Running` a second time.
        let running = unsafe { ManuallyDrop::take(&mut this.0) };
        running.finish(status::CANCELLED);
    }
}

impl<S, I, Y, R> Drop for Cancelling<S, I, Y, R> {
    /// Reached only when a panic unwinds out of a cancellation.
    #[cold]
    fn drop(&mut self) {
        let slot = self.0.slot;
        let recycle = if self.0.co().done() {
            // The panic came out of the coroutine, which is therefore
            // complete (it returned `Outcome::Panicked`).
            // SAFETY: dropped exactly once, here; the slot ends below.
            unsafe { ptr::drop_in_place(slot.body::<Inner<I, Y, R>>()) };
            true
        } else {
            // The panic came from our side of the switch (a destructor of a
            // yielded value, or a panicking drop of a never-started body).
            // The coroutine's state is unknown: leak it and its stack rather
            // than unwind or reuse them. The body's bytes are overwritten by
            // the slot's next coroutine without being dropped.
            false
        };
        // SAFETY: the slot is held by this guard's `Running`; `recycle` is
        // true only if the coroutine was dropped above.
        unsafe { end_slot::<S>(slot, status::PANICKED, recycle) };
    }
}

/// Why the coroutine `id` of the core at `core` cannot be resumed now.
///
/// # Safety
///
/// `core` is live and its table not borrowed.
#[cold]
#[inline(never)]
unsafe fn lease_error<S>(core: NonNull<Core<S>>, id: CoroutineId) -> Error {
    // SAFETY: guaranteed by the caller.
    unsafe { table_ref(core) }.lease_error(id)
}

/// A running coroutine's mark on its own slot during a nested switch; see
/// `Link::mark_running`.
struct RunningMark {
    slot: SlotRef,
    ready: u64,
}

impl Drop for RunningMark {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the slot is live (see `Link::mark_running`); the nested
        // switch is over and its coroutine runs again, so it is `READY`.
        unsafe { self.slot.set_tag(self.ready) };
    }
}

#[cold]
#[inline(never)]
fn foreign_stage(handle: StageId, this: StageId, id: CoroutineId) -> Error {
    Error::new(
        ErrorKind::ForeignStage,
        Some(id),
        Detail::Stage {
            handle: handle.0.get(),
            this: this.0.get(),
        },
    )
}

/// Ends `slot`: marks it, keeps, releases or leaks its stack, and puts it
/// on the free list. The slot's `teardown` is left as it is: it is read
/// only while the slot is `READY`, and the next spawn into the slot
/// overwrites it.
///
/// # Safety
///
/// `slot` is held by a `Running` guard (so its core, a `Core<S>`, is live
/// and holds a coroutine in it), the core's table is not borrowed, and if
/// `recycle` is true the coroutine that ran on the slot's stack has been
/// dropped.
#[inline(always)]
unsafe fn end_slot<S>(slot: SlotRef, end: u8, recycle: bool) {
    // SAFETY: the slot and its core are live (caller).
    let (core, index, ready) = unsafe { (slot.core::<S>(), slot.index(), slot.tag()) };
    debug_assert_eq!(tag_status(ready), status::READY);
    // SAFETY: the table is not borrowed (caller); the pool is a separate
    // field.
    let (table, pool) = unsafe { (table(core), pool(core)) };
    // SAFETY: the slot belongs to this live table.
    unsafe { slot.set_tag(tag(tag_generation(ready), end)) };
    table.free.push(index);
    table.live -= 1;
    let keep = recycle && table.idle + pool.pooled() < pool.max_pooled();
    if keep {
        // Kept in the slot for the next coroutine spawned into it.
        table.idle += 1;
        return;
    }
    // SAFETY: the slot belongs to `table`, borrowed mutably here.
    let meta = unsafe { slot.meta(table) };
    if !recycle {
        // A stack whose coroutine may still have frames on it is never
        // unmapped or reused.
        std::mem::forget(meta.stack.take());
    } else {
        drop_stack(meta);
    }
}

#[cold]
#[inline(never)]
fn drop_stack(meta: &mut SlotMeta) {
    meta.stack = None;
}

/// Resumes the coroutine of `handle` with `input`.
///
/// # Safety
///
/// `core` is live, and the caller holds the unique access path of the
/// current stack (`&mut` on the `Stage` or on the running `Co`), so no
/// reference into the core is alive.
#[inline(always)]
unsafe fn resume<S, I, Y, R>(
    core: NonNull<Core<S>>,
    stage: StageId,
    handle: Handle<I, Y, R>,
    input: I,
) -> Result<Resumed<Y, R>, ResumeError<I>> {
    // SAFETY: the handle's types are the slot's types (module docs).
    let mut running = match unsafe { Running::start(core, stage, &handle) } {
        Ok(running) => running,
        Err(error) => return Err(ResumeError::new(error, input)),
    };
    // The switch. It does not unwind: a panic inside the coroutine comes
    // back as `Outcome::Panicked` (see `Outcome`).
    match running.co().resume(Wake::Resume(input)) {
        CoroutineResult::Yield(value) => {
            running.suspended();
            Ok(Resumed::Yield(value))
        }
        CoroutineResult::Return(Outcome::Done(Ok(value))) => {
            running.finish(status::RETURNED);
            Ok(Resumed::Return(value))
        }
        CoroutineResult::Return(Outcome::Done(Err(_))) => {
            let id = handle.id;
            running.finish(status::PANICKED);
            smuggled_interrupt(id)
        }
        CoroutineResult::Return(Outcome::Panicked(payload)) => {
            running.finish(status::PANICKED);
            panic::resume_unwind(payload)
        }
    }
}

#[cold]
#[inline(never)]
fn smuggled_interrupt(id: CoroutineId) -> ! {
    panic!(
        "coroutine {id} returned `Err(Interrupt)` although it was not cancelled: \
         an interrupt was carried out of the coroutine that received it. \
         Return an interrupt only from the coroutine whose yield point produced it"
    )
}

/// Cancels a coroutine that is not running, on the current stack.
///
/// Returns the body's value if it handled the interrupt and returned.
///
/// The coroutine first receives `Wake::Cancel`, which its yield point
/// returns as `Err(Interrupt)`. Every later yield point it reaches comes
/// back here, and is answered:
///
/// * while the thread unwinds (a destructor suspends during a panic or
///   during the unwinding below) with `Wake::Cancel` again, so the yield
///   point returns `Err(Interrupt)` and the destructor goes on: starting
///   another unwind inside a destructor would abort the process;
/// * otherwise (the body ignored its interrupt) with `Wake::Unwind`, so the
///   yield point unwinds the stack, running every destructor, down to the
///   root, which ends as if the body had returned `Err(Interrupt)`.
///
/// Deciding this here, and not in `Link::suspend`, keeps the yield point's
/// hot path free of any test. `thread::panicking` answers for the
/// coroutine too: the panic count is per thread, and the coroutine is
/// parked in the yield point being answered.
fn run_cancel<I, Y, R>(co: &mut Inner<I, Y, R>) -> Option<R> {
    if !co.started() {
        // Never ran: drop the body (and what it captured) without running it.
        co.force_unwind();
        return None;
    }
    let mut wake = Wake::Cancel;
    loop {
        match co.resume(wake) {
            CoroutineResult::Return(Outcome::Done(Ok(value))) => return Some(value),
            CoroutineResult::Return(Outcome::Done(Err(_))) => return None,
            // The canceller's drop guard ends the slot as it unwinds.
            CoroutineResult::Return(Outcome::Panicked(payload)) => panic::resume_unwind(payload),
            CoroutineResult::Yield(value) => {
                drop(value);
                wake = if std::thread::panicking() {
                    Wake::Cancel
                } else {
                    Wake::Unwind
                };
            }
        }
    }
}

/// Cancels the coroutine of `handle`.
///
/// # Safety
///
/// As for [`resume`].
unsafe fn cancel<S, I, Y, R>(
    core: NonNull<Core<S>>,
    stage: StageId,
    handle: Handle<I, Y, R>,
) -> Result<Option<R>, Error> {
    // SAFETY: the handle's types are the slot's types (module docs).
    let running = unsafe { Running::start(core, stage, &handle) }?;
    let mut guard = Cancelling(ManuallyDrop::new(running));
    let value = run_cancel(guard.0.co());
    guard.finish();
    Ok(value)
}

/// The teardown stored in each slot: cancels the coroutine at `index`.
///
/// # Safety
///
/// `core` points to a live `Core<S>` whose table is not borrowed; the slot
/// at `index` is `READY` and was filled by `spawn::<S, I, Y, R, _>`.
unsafe fn teardown<S, I, Y, R>(core: NonNull<()>, index: u32) {
    let core = core.cast::<Core<S>>();
    // SAFETY: the core is live and its table not borrowed (caller).
    let (stage, table) = unsafe { ((*core.as_ptr()).stage, table_ref(core)) };
    let tag = table.tag_at(index).expect("the slot exists");
    let id = CoroutineId {
        index,
        generation: tag_generation(tag),
    };
    let handle = Handle::<I, Y, R>::new(stage, id, table.slots[index as usize]);
    // SAFETY: the slot is `READY` and holds an `Inner<I, Y, R>` (caller),
    // which is what `handle` claims.
    let running =
        unsafe { Running::start(core, stage, &handle) }.expect("a ready slot can be started");
    let mut guard = Cancelling(ManuallyDrop::new(running));
    drop(run_cancel(guard.0.co()));
    guard.finish();
}

/// Bodies larger than this are boxed before being placed on the coroutine
/// stack (corosensei accepts at most 1 KiB there).
const INLINE_BODY_MAX: usize = 512;

/// Spawns a coroutine that will run `body` on its own stack.
///
/// # Safety
///
/// `core` is live and no reference into it is alive (the caller holds the
/// unique access path of the current stack).
#[inline]
unsafe fn spawn<S, I, Y, R, F>(
    core: NonNull<Core<S>>,
    options: &crate::stage::SpawnOptions,
    body: F,
) -> Result<Handle<I, Y, R>, SpawnError<F>>
where
    S: 'static,
    I: 'static,
    Y: 'static,
    R: 'static,
    F: FnOnce(&mut Co<S, I, Y>, I) -> Eff<Yields, R> + 'static,
{
    if size_of::<F>() <= INLINE_BODY_MAX {
        // SAFETY: forwarded from our caller.
        unsafe { spawn_body(core, options, body) }
            .map_err(|(error, body)| SpawnError::new(error, body))
    } else {
        // SAFETY: forwarded from our caller.
        unsafe { spawn_body(core, options, Box::new(body)) }
            .map_err(|(error, body)| SpawnError::new(error, *body))
    }
}

/// Claims a slot for a new coroutine whose stack has `size` usable bytes,
/// and leaves that stack in the slot.
///
/// The fast path reuses the most recently ended slot together with the
/// idle stack it kept, in place: no stack moves, nothing is mapped. The slow
/// path (no such slot, another size, or a retired generation) takes a stack
/// from the pool or maps one, then claims any slot.
#[inline(always)]
fn claim_with_stack(
    core: NonNull<()>,
    table: &mut Table,
    pool: &mut stack::Pool,
    size: usize,
) -> Result<(CoroutineId, SlotRef), Error> {
    if let Some(&index) = table.free.last() {
        let slot = table.slots[index as usize];
        // SAFETY: `slot` is one of `table`'s slots, and `table` is borrowed
        // mutably here.
        let (generation, meta) = unsafe { (tag_generation(slot.tag()), slot.meta(table)) };
        if generation != u32::MAX && meta.stack.as_ref().is_some_and(|s| s.size() == size) {
            table.free.pop();
            table.idle -= 1;
            // The tag keeps the old occupant's ended status until the
            // caller, with no code of the user's in between, writes the new
            // generation as `READY`.
            let id = CoroutineId {
                index,
                generation: generation + 1,
            };
            return Ok((id, slot));
        }
    }
    claim_with_stack_slow(core, table, pool, size)
}

#[cold]
#[inline(never)]
fn claim_with_stack_slow(
    core: NonNull<()>,
    table: &mut Table,
    pool: &mut stack::Pool,
    size: usize,
) -> Result<(CoroutineId, SlotRef), Error> {
    let stack = match pool.take(size) {
        Err(error) if error.kind() == ErrorKind::StackLimit && table.idle > 0 => {
            // Our own idle stacks hold maps: give them back, try again.
            table.release_idle();
            pool.take(size)?
        }
        other => other?,
    };
    let id = table.claim(core);
    if let Some(idle) = table.meta_mut(id.index).stack.replace(stack) {
        // The slot kept an idle stack of another size: move it to the pool.
        table.idle -= 1;
        pool.give(idle);
    }
    Ok((id, table.slots[id.index as usize]))
}

/// # Safety
///
/// As for [`spawn`].
#[inline]
unsafe fn spawn_body<S, I, Y, R, F>(
    core: NonNull<Core<S>>,
    options: &crate::stage::SpawnOptions,
    body: F,
) -> Result<Handle<I, Y, R>, (Error, F)>
where
    S: 'static,
    I: 'static,
    Y: 'static,
    R: 'static,
    F: FnOnce(&mut Co<S, I, Y>, I) -> Eff<Yields, R> + 'static,
{
    const {
        assert!(size_of::<Inner<I, Y, R>>() <= size_of::<Storage>());
        assert!(align_of::<Inner<I, Y, R>>() <= align_of::<Storage>());
    }
    let c = core.as_ptr();
    // SAFETY: `core` is live (caller); these are plain reads of fields that
    // no one else borrows.
    let (stage, max) = unsafe { ((*c).stage, (*c).max_coroutines) };
    // SAFETY: nothing else borrows the table or pool now (caller).
    let (table, pool) = unsafe { (table(core), pool(core)) };
    if table.live >= max {
        return Err((budget_error(max), body));
    }
    let size = match options.stack_size {
        None => pool.default_size(),
        Some(requested) => match round_stack_size(requested) {
            Ok(size) => size,
            Err(error) => return Err((error, body)),
        },
    };
    let (id, slot) = match claim_with_stack(core.cast(), table, pool, size) {
        Ok(claimed) => claimed,
        Err(error) => return Err((error, body)),
    };
    // SAFETY: `slot` is one of `table`'s slots, borrowed mutably here.
    let meta = unsafe { slot.meta(table) };
    let stack = meta.stack.as_ref().expect("claimed with a stack");
    stack.set_occupant(id, options.name.as_deref());
    let wrapper = move |yielder: &Yielder<Wake<I>, Y>, first: Wake<I>| -> Outcome<R> {
        let input = match first {
            Wake::Resume(input) => input,
            // Not reached: a coroutine that never ran is cancelled by
            // dropping its body. Answer correctly anyway.
            Wake::Cancel | Wake::Unwind => return Outcome::Done(Err(Interrupt::cancelled())),
        };
        let mut co = Co::from_link(Link {
            core,
            stage,
            slot,
            yielder: NonNull::from(yielder),
            cancelled: false,
            id,
            marker: std::marker::PhantomData,
        });
        match panic::catch_unwind(AssertUnwindSafe(|| body(&mut co, input))) {
            Ok(done) => Outcome::Done(done),
            // The unwinding this coroutine's canceller asked for. (Only a
            // cancelled coroutine raises `Unwinding` by itself; one that
            // carries the payload elsewhere raises an ordinary panic there.)
            Err(payload) if co.is_cancelling() && payload.is::<Unwinding>() => {
                Outcome::Done(Err(Interrupt::cancelled()))
            }
            Err(payload) => Outcome::Panicked(payload),
        }
    };
    let co: Inner<I, Y, R> = Coroutine::with_stack(stack.stack_ref(), wrapper);
    // SAFETY: `Storage` fits an `Inner<I, Y, R>` (checked above); the slot
    // is `VACANT` (fresh from `claim`), so its body holds no coroutine, and
    // no reference to the body exists.
    unsafe { ptr::write(slot.body::<Inner<I, Y, R>>(), co) };
    meta.teardown = Some(teardown::<S, I, Y, R>);
    if meta.name.is_some() || options.name.is_some() {
        meta.name = options.name.clone();
    }
    // SAFETY: `slot` is one of `table`'s slots.
    unsafe { slot.set_tag(tag(id.generation, status::READY)) };
    table.live += 1;
    Ok(Handle::new(stage, id, slot))
}

#[cold]
#[inline(never)]
fn budget_error(limit: usize) -> Error {
    Error::new(ErrorKind::Budget, None, Detail::Budget { limit })
}

/// The stage's owning pointer to its core.
///
/// Invariant: `core` came from `Box::leak` and is freed only by `drop`
/// or `into_state`, after every coroutine has ended.
pub(crate) struct Owner<S: 'static> {
    core: NonNull<Core<S>>,
    /// The core's stage id, kept here too so that checking a handle reads
    /// no memory behind `core`.
    stage: StageId,
    /// `*mut S`: invariant in `S`, `!Send`, `!Sync`.
    marker: std::marker::PhantomData<*mut S>,
}

/// Settings for a new core.
pub(crate) struct CoreConfig {
    pub(crate) stack_size: usize,
    pub(crate) max_pooled_stacks: usize,
    pub(crate) max_coroutines: usize,
}

impl<S: 'static> Owner<S> {
    pub(crate) fn new(state: S, config: CoreConfig) -> Owner<S> {
        overflow::ensure_alt_stack();
        let stage = StageId::fresh();
        let core = Box::new(Core {
            state: ManuallyDrop::new(state),
            table: Table {
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
                idle: 0,
            },
            pool: stack::Pool::new(config.stack_size, config.max_pooled_stacks),
            stage,
            max_coroutines: config.max_coroutines,
        });
        Owner {
            core: NonNull::from(Box::leak(core)),
            stage,
            marker: std::marker::PhantomData,
        }
    }

    #[inline]
    pub(crate) fn state(&mut self) -> &mut S {
        // SAFETY: the core is live (Owner invariant). `&mut self` is the main
        // stack's access path: no coroutine runs while it is borrowed (part 2
        // of the module docs), so this is the only reference into `state`.
        unsafe { &mut *ptr::addr_of_mut!((*self.core.as_ptr()).state).cast::<S>() }
    }

    #[inline]
    pub(crate) fn resume<I, Y, R>(
        &mut self,
        handle: Handle<I, Y, R>,
        input: I,
    ) -> Result<Resumed<Y, R>, ResumeError<I>> {
        // SAFETY: the core is live, `self.stage` is its id, and `&mut self`
        // is the main stack's access path, borrowed for the whole switch.
        unsafe { resume(self.core, self.stage, handle, input) }
    }

    pub(crate) fn cancel<I, Y, R>(&mut self, handle: Handle<I, Y, R>) -> Result<Option<R>, Error> {
        // SAFETY: as in `resume`.
        unsafe { cancel(self.core, self.stage, handle) }
    }

    pub(crate) fn spawn<I, Y, R, F>(
        &mut self,
        options: &crate::stage::SpawnOptions,
        body: F,
    ) -> Result<Handle<I, Y, R>, SpawnError<F>>
    where
        I: 'static,
        Y: 'static,
        R: 'static,
        F: FnOnce(&mut Co<S, I, Y>, I) -> Eff<Yields, R> + 'static,
    {
        // SAFETY: the core is live and `&mut self` excludes other access.
        unsafe { spawn(self.core, options, body) }
    }

    pub(crate) fn stats(&self) -> Stats {
        // SAFETY: the core is live. `&self` on the owner means no coroutine
        // runs (they run only inside `&mut self` methods) and no library
        // code holds a `&mut` into the core.
        let (table, pooled) =
            unsafe { (table_ref(self.core), (*self.core.as_ptr()).pool.pooled()) };
        let pooled = pooled + table.idle;
        let (mapped, limit) = stack::mapped_stacks();
        Stats {
            live: table.live,
            slots: table.slots.len(),
            pooled_stacks: pooled,
            process_mapped_stacks: mapped,
            process_stack_limit: limit,
        }
    }

    /// The status of a coroutine, without resuming it.
    pub(crate) fn check(&self, stage: StageId, id: CoroutineId) -> Result<(), Error> {
        if stage != self.stage {
            return Err(foreign_stage(stage, self.stage, id));
        }
        // SAFETY: the core is live; see `stats` for `&self`.
        let table = unsafe { table_ref(self.core) };
        match table.tag_at(id.index) {
            Some(found) if found == tag(id.generation, status::READY) => Ok(()),
            _ => Err(table.lease_error(id)),
        }
    }

    /// Stack size and high-water mark of a coroutine that is not running.
    pub(crate) fn stack_usage(&self, stage: StageId, id: CoroutineId) -> Result<StackUsage, Error> {
        self.check(stage, id)?;
        // SAFETY: the core is live; see `stats` for `&self`.
        let table = unsafe { table_ref(self.core) };
        let stack = table
            .meta(id.index)
            .and_then(|meta| meta.stack.as_ref())
            .expect("a ready slot has a stack");
        let (size, used) = stack.usage();
        Ok(StackUsage {
            size,
            high_water: used.unwrap_or(size),
        })
    }

    pub(crate) fn name(&self, stage: StageId, id: CoroutineId) -> Option<&str> {
        if stage != self.stage {
            return None;
        }
        // SAFETY: the core is live; see `stats` for `&self`.
        unsafe { table_ref(self.core) }.name(id)
    }

    /// Cancels every live coroutine, in slot order, including those spawned
    /// while tearing down. Returns the first panic, after finishing.
    fn teardown_all(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        let mut first_panic = None;
        loop {
            let mut cancelled_any = false;
            let mut index = 0usize;
            loop {
                // SAFETY: the core is live and `&mut self` excludes other
                // access; the table borrow ends before the teardown call.
                let next = unsafe {
                    let table = table_ref(self.core);
                    (index..table.slots.len())
                        .find(|&at| table.tag_at(at as u32).map(tag_status) == Some(status::READY))
                        .map(|at| (at, table.meta(at as u32).and_then(|meta| meta.teardown)))
                };
                let Some((at, teardown_fn)) = next else { break };
                index = at + 1;
                let teardown_fn = teardown_fn.expect("a ready slot has a teardown");
                let core = self.core.cast::<()>();
                // SAFETY: the slot is `Ready` and its teardown was stored by
                // the spawn that filled it; the table is not borrowed.
                let result = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
                    teardown_fn(core, at as u32)
                }));
                cancelled_any = true;
                if let Err(payload) = result {
                    first_panic.get_or_insert(payload);
                }
            }
            if !cancelled_any {
                return first_panic;
            }
        }
    }

    /// Tears down every coroutine and returns the state.
    pub(crate) fn into_state(self) -> S {
        let mut this = ManuallyDrop::new(self);
        let panic = this.teardown_all();
        // SAFETY: every coroutine has ended, so no `Link` points to the core
        // any more; the core came from `Box::leak` (Owner invariant) and
        // `this` is never dropped, so it is freed exactly once. The state is
        // moved out of its `ManuallyDrop` exactly once, just before.
        let state = unsafe {
            let mut core = Box::from_raw(this.core.as_ptr());
            ManuallyDrop::take(&mut core.state)
        };
        if let Some(payload) = panic {
            panic::resume_unwind(payload);
        }
        state
    }
}

impl<S: 'static> Drop for Owner<S> {
    fn drop(&mut self) {
        let panic = self.teardown_all();
        // SAFETY: every coroutine has ended, so no `Link` points to the core
        // any more; the core came from `Box::leak` and is freed once.
        // The state is dropped before the pooled stacks and the table.
        unsafe {
            let mut core = Box::from_raw(self.core.as_ptr());
            ManuallyDrop::drop(&mut core.state);
        }
        if let Some(payload) = panic {
            if !std::thread::panicking() {
                panic::resume_unwind(payload);
            }
        }
    }
}

/// A running coroutine's access to its stage: the core, its own corosensei
/// `Yielder` and its id. Lives on the coroutine's own stack, inside the
/// `Co` its body borrows.
pub(crate) struct Link<S, I, Y> {
    core: NonNull<Core<S>>,
    /// The core's stage id (see `Owner::stage`).
    stage: StageId,
    /// This coroutine's own slot, marked `RUNNING` during nested switches.
    slot: SlotRef,
    /// Valid while the coroutine runs: it lives in the coroutine's initial
    /// frame, below this `Link`.
    yielder: NonNull<Yielder<Wake<I>, Y>>,
    /// Set once this coroutine received `Wake::Cancel`. Written only on the
    /// cancellation path; `suspend` does not read it (see [`run_cancel`]).
    cancelled: bool,
    id: CoroutineId,
    /// `*mut (S, I, Y)`: invariant in all three, `!Send`, `!Sync`.
    marker: std::marker::PhantomData<*mut (S, I, Y)>,
}

impl<S: 'static, I: 'static, Y: 'static> Link<S, I, Y> {
    pub(crate) fn id(&self) -> CoroutineId {
        self.id
    }

    pub(crate) fn is_cancelling(&self) -> bool {
        self.cancelled
    }

    #[inline]
    pub(crate) fn state(&mut self) -> &mut S {
        // SAFETY: the core is live while this coroutine exists (module docs,
        // part 4). `&mut self` is this coroutine's access path; this
        // coroutine is the running stack, and every other stack is parked in
        // a switch that borrows its own access path (part 2), so this is the
        // only reference into `state`.
        unsafe { &mut *ptr::addr_of_mut!((*self.core.as_ptr()).state).cast::<S>() }
    }

    /// Suspends with `value` until resumed.
    ///
    /// No test precedes the switch: whatever is special about this yield
    /// point (the coroutine is being cancelled, or unwinds) is answered by
    /// the canceller, through the `Wake` it resumes with (see
    /// [`run_cancel`]).
    #[inline]
    pub(crate) fn suspend(&mut self, value: Y) -> Eff<Yields, I> {
        // SAFETY: the yielder lives in this coroutine's initial frame, which
        // outlives the body and therefore this `Link`; this coroutine is
        // the running one, so suspending through it is what corosensei
        // expects.
        match unsafe { self.yielder.as_ref() }.suspend(value) {
            Wake::Resume(input) => Ok(input),
            Wake::Cancel => self.cancel_delivered(),
            Wake::Unwind => self.unwind(),
        }
    }

    /// The cancellation arrived at a yield point (or the canceller answers
    /// a yield point reached while the stack unwinds): remember it.
    #[cold]
    #[inline(never)]
    fn cancel_delivered(&mut self) -> Eff<Yields, I> {
        self.cancelled = true;
        Err(Interrupt::cancelled())
    }

    /// The canceller asks this yield point to unwind the stack.
    #[cold]
    #[inline(never)]
    fn unwind(&mut self) -> ! {
        debug_assert!(self.cancelled, "`Wake::Unwind` follows `Wake::Cancel`");
        // `resume_unwind` runs no panic hook: nothing is reported, as for
        // any cancellation.
        panic::resume_unwind(Box::new(Unwinding))
    }

    #[inline]
    pub(crate) fn resume<I2, Y2, R2>(
        &mut self,
        handle: Handle<I2, Y2, R2>,
        input: I2,
    ) -> Result<Resumed<Y2, R2>, ResumeError<I2>> {
        let _mark = self.mark_running();
        // SAFETY: the core is live, `self.stage` is its id, and `&mut self`
        // is the running coroutine's access path, borrowed for the whole
        // nested switch; this coroutine is marked `RUNNING` for its length.
        unsafe { resume(self.core, self.stage, handle, input) }
    }

    pub(crate) fn cancel<I2, Y2, R2>(
        &mut self,
        handle: Handle<I2, Y2, R2>,
    ) -> Result<Option<R2>, Error> {
        let _mark = self.mark_running();
        // SAFETY: as in `resume`.
        unsafe { cancel(self.core, self.stage, handle) }
    }

    /// Marks this coroutine's slot `RUNNING` until the returned guard is
    /// dropped (also by a panic), so that the nested switch it is about to
    /// make cannot reach it.
    #[inline]
    fn mark_running(&self) -> RunningMark {
        let ready = tag(self.id.generation, status::READY);
        // SAFETY: the core, and so this coroutine's slot, is live while the
        // coroutine exists (module docs, part 4). The coroutine runs, so
        // its slot is `READY` (see `Running`).
        unsafe {
            debug_assert_eq!(self.slot.tag(), ready);
            self.slot.set_tag(ready + 1);
        }
        RunningMark {
            slot: self.slot,
            ready,
        }
    }

    pub(crate) fn spawn<I2, Y2, R2, F>(
        &mut self,
        options: &crate::stage::SpawnOptions,
        body: F,
    ) -> Result<Handle<I2, Y2, R2>, SpawnError<F>>
    where
        I2: 'static,
        Y2: 'static,
        R2: 'static,
        F: FnOnce(&mut Co<S, I2, Y2>, I2) -> Eff<Yields, R2> + 'static,
    {
        // SAFETY: the core is live; `&mut self` is the running coroutine's
        // access path, so no reference into the core is alive.
        unsafe { spawn(self.core, options, body) }
    }
}
