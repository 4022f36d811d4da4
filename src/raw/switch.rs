//! Switching to a coroutine: `resume`, `cancel`, and the stage's teardown,
//! on top of corosensei.

use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use corosensei::{Coroutine, CoroutineResult};

use super::handle::{RawHandle, StageId, foreign_stage};
use super::slot::{SlotMeta, SlotRef, status, tag, tag_generation, tag_status};
use super::stack;
use super::stage_core::{Core, pool, table, table_ref};
use crate::effect::{Eff, Yields};
use crate::error::{CoroutineId, Error, ResumeError};
use crate::resumed::Resumed;

/// What a coroutine receives when it is switched to.
pub(super) enum Wake<I> {
    /// A normal resume with the next input.
    Resume(I),
    /// The coroutine is being cancelled at its yield point; also the
    /// canceller's answer to a yield point reached after that, while the
    /// thread was already panicking when the cancellation began (see
    /// [`run_cancel`]).
    Cancel,
    /// The coroutine ignored its interrupt and suspended again: unwind its
    /// stack from this yield point (see [`run_cancel`]).
    Unwind,
}

/// The payload of the unwinding that [`Wake::Unwind`] starts. Private, so
/// only this module raises it; the root of a coroutine that received
/// `Wake::Cancel` recognizes it (see [`Exit`]).
pub(super) struct Unwinding;

/// The concrete corosensei coroutine behind a `RawHandle<I, Y, R>`.
pub(super) type Inner<I, Y, R> = Coroutine<Wake<I>, Y, Exit<R>, stack::StackRef>;

/// How a coroutine's body ended, as its corosensei coroutine returns it.
///
/// Every panic is caught at the coroutine's root and returned as a value,
/// so that a switch never unwinds out of corosensei: the hot path of
/// `resume` needs no drop guard, and nothing has to be kept in memory
/// across the switch for one. The resumer (or canceller) then continues the
/// unwind on its own side, with the original payload. The unwinding that a
/// canceller starts ([`Wake::Unwind`]) is not a panic: when it reaches the
/// root, the body ends as if it had returned its `Err(Interrupt)`.
pub(super) enum Exit<R> {
    /// The body returned.
    Done(Eff<Yields, R>),
    /// The body panicked with this payload.
    Panicked(Box<dyn std::any::Any + Send>),
}

/// A coroutine being resumed (or cancelled) from its slot. It stays in the
/// slot's body (which never moves) while it runs. `Running` has no drop
/// guard of its own: a plain resume cannot unwind (see [`Exit`]), and a
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
    /// caller got `handle` as a `RawHandle<I, Y, R>`, so if the check passes,
    /// the slot's body holds an `Inner<I, Y, R>` (see the module docs).
    #[inline(always)]
    unsafe fn start(
        core: NonNull<Core<S>>,
        stage: StageId,
        handle: &RawHandle<I, Y, R>,
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

    /// The resumer is panicking: tell the coroutine, whose yield points
    /// cannot then tell their own unwinding from the resumer's (see
    /// `Link::suspend`).
    #[cold]
    #[inline(never)]
    fn resumed_while_panicking(&self) {
        // SAFETY: `start` checked the slot against this live stage.
        unsafe { self.slot.set_resumed_panicking(true) };
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
/// [`Exit`]), and one may be raised on this side of the switch (dropping
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
            // The coroutine is complete: it panicked (`Exit::Panicked`), or
            // it ended and `run_cancel` passes on a panic raised on this
            // side of the switch (see there).
            // SAFETY: dropped exactly once, here; the slot ends below.
            unsafe { ptr::drop_in_place(slot.body::<Inner<I, Y, R>>()) };
            true
        } else {
            // Not reached: `run_cancel` catches every panic raised on this
            // side of the switch and passes it on only once the coroutine
            // is complete. Should one escape all the same, the coroutine's
            // state is unknown: leak it and its stack rather than unwind or
            // reuse them. The body's bytes are overwritten by the slot's
            // next coroutine without being dropped.
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
    let (core, index, ready) = unsafe { (slot.core().cast::<Core<S>>(), slot.index(), slot.tag()) };
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
pub(super) unsafe fn resume<S, I, Y, R>(
    core: NonNull<Core<S>>,
    stage: StageId,
    handle: RawHandle<I, Y, R>,
    input: I,
) -> Result<Resumed<Y, R>, ResumeError<I>> {
    // SAFETY: the handle's types are the slot's types (module docs).
    let mut running = match unsafe { Running::start(core, stage, &handle) } {
        Ok(running) => running,
        Err(error) => return Err(ResumeError::new(error, input)),
    };
    if std::thread::panicking() {
        running.resumed_while_panicking();
    }
    // The switch. It does not unwind: a panic inside the coroutine comes
    // back as `Exit::Panicked` (see `Exit`).
    match running.co().resume(Wake::Resume(input)) {
        CoroutineResult::Yield(value) => {
            running.suspended();
            Ok(Resumed::Yield(value))
        }
        CoroutineResult::Return(Exit::Done(Ok(value))) => {
            running.finish(status::RETURNED);
            Ok(Resumed::Return(value))
        }
        CoroutineResult::Return(Exit::Done(Err(_))) => {
            let id = handle.id;
            running.finish(status::PANICKED);
            smuggled_interrupt(id)
        }
        CoroutineResult::Return(Exit::Panicked(payload)) => {
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
         an interrupt was carried out of the coroutine that received it, or kept \
         from a yield point reached while the coroutine unwound from a panic. \
         Return an interrupt only from the coroutine whose yield point produced it, \
         during its cancellation"
    )
}

/// How many further yield points a canceller answers with `Err(Interrupt)`
/// before it unwinds the coroutine by force, when the thread was already
/// panicking as the cancellation began (see [`run_cancel`]). Stated in the
/// public docs of `Stage::cancel`.
const ANSWERS_WHILE_PANICKING: u32 = 16;

/// Cancels a coroutine that is not running, on the current stack.
///
/// Returns the body's value if it handled the interrupt and returned.
///
/// The coroutine first receives `Wake::Cancel`, which its yield point
/// returns as `Err(Interrupt)`. A yield point it reaches while it unwinds
/// (from a panic, or by force) returns `Err(Interrupt)` by itself, without
/// switching (see `Link::suspend`); every other yield point it reaches
/// comes back here, and is answered:
///
/// * if the thread was not panicking when the cancellation began, with
///   `Wake::Unwind`: the body ignored its interrupt, so the yield point
///   unwinds the stack, running every destructor, down to the root, which
///   ends as if the body had returned `Err(Interrupt)`;
/// * if it was, with `Wake::Cancel` [`ANSWERS_WHILE_PANICKING`] times, then
///   with `Wake::Unwind` once, and so on. Then the coroutine cannot tell its
///   own unwinding from the canceller's (`thread::panicking` is true on
///   both sides), so the yield point may be a destructor that runs because
///   the coroutine's cleanup panicked, where starting an unwind would abort
///   the process; cleanup code that suspends a few times gets
///   `Err(Interrupt)` and finishes, and a body that ignores its interrupt
///   for ever is still unwound, so the cancellation ends.
///
/// A panic raised on this side of the switch (a destructor of a value the
/// coroutine yielded, or of a never-started body) is caught, the
/// cancellation goes on until the coroutine is complete, and then the
/// first panic (of either side) is resumed; so no frame is leaked.
fn run_cancel<I, Y, R>(co: &mut Inner<I, Y, R>, slot: SlotRef) -> Option<R> {
    if !co.started() {
        // Never ran: drop the body (and what it captured) without running it.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| co.force_unwind())) {
            // SAFETY: a coroutine that never started holds nothing on its
            // stack but its initial closure, which `force_unwind` dropped
            // in place; that drop unwound, so drop glue has dropped every
            // part of the closure it could. Nothing on the stack needs
            // dropping any more: marking the coroutine complete skips no
            // destructor, and lets its stack be reused.
            unsafe { co.force_reset() };
            panic::resume_unwind(payload);
        }
        return None;
    }
    let panicking = std::thread::panicking();
    let mut answers = 0;
    let mut deferred = None;
    let mut wake = Wake::Cancel;
    let value = loop {
        // SAFETY: the slot lives as long as its core, which is live while
        // one of its coroutines is being cancelled.
        unsafe { slot.set_resumed_panicking(panicking) };
        match co.resume(wake) {
            CoroutineResult::Return(Exit::Done(Ok(value))) => break Some(value),
            CoroutineResult::Return(Exit::Done(Err(_))) => break None,
            CoroutineResult::Return(Exit::Panicked(payload)) => {
                deferred.get_or_insert(payload);
                break None;
            }
            CoroutineResult::Yield(value) => {
                if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| drop(value))) {
                    deferred.get_or_insert(payload);
                }
                wake = if panicking && answers < ANSWERS_WHILE_PANICKING {
                    answers += 1;
                    Wake::Cancel
                } else {
                    answers = 0;
                    Wake::Unwind
                };
            }
        }
    };
    if let Some(payload) = deferred {
        // The canceller's drop guard ends the slot as it unwinds; the
        // coroutine is complete, so its stack is kept.
        panic::resume_unwind(payload);
    }
    value
}

/// Cancels the coroutine of `handle`.
///
/// # Safety
///
/// As for [`resume`].
pub(super) unsafe fn cancel<S, I, Y, R>(
    core: NonNull<Core<S>>,
    stage: StageId,
    handle: RawHandle<I, Y, R>,
) -> Result<Option<R>, Error> {
    // SAFETY: the handle's types are the slot's types (module docs).
    let running = unsafe { Running::start(core, stage, &handle) }?;
    let slot = running.slot;
    let mut guard = Cancelling(ManuallyDrop::new(running));
    let value = run_cancel(guard.0.co(), slot);
    guard.finish();
    Ok(value)
}

/// The teardown stored in each slot: cancels the coroutine at `index`.
///
/// # Safety
///
/// `core` points to a live `Core<S>` whose table is not borrowed; the slot
/// at `index` is `READY` and was filled by `spawn::<S, I, Y, R, _>`.
pub(super) unsafe fn teardown<S, I, Y, R>(core: NonNull<()>, index: u32) {
    let core = core.cast::<Core<S>>();
    // SAFETY: the core is live and its table not borrowed (caller).
    let (stage, table) = unsafe { ((*core.as_ptr()).stage, table_ref(core)) };
    let tag = table.tag_at(index).expect("the slot exists");
    let id = CoroutineId {
        index,
        generation: tag_generation(tag),
    };
    let handle = RawHandle::<I, Y, R>::new(stage, id, table.slots[index as usize]);
    // SAFETY: the slot is `READY` and holds an `Inner<I, Y, R>` (caller),
    // which is what `handle` claims.
    let running =
        unsafe { Running::start(core, stage, &handle) }.expect("a ready slot can be started");
    let slot = running.slot;
    let mut guard = Cancelling(ManuallyDrop::new(running));
    drop(run_cancel(guard.0.co(), slot));
    guard.finish();
}
