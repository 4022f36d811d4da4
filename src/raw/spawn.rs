//! Spawning: a slot and a stack for a new coroutine, and the [`Body`] it
//! runs.

use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use corosensei::{Coroutine, Yielder};

use super::handle::RawHandle;
use super::link::Link;
use super::slot::{SlotRef, Storage, Table, status, tag, tag_generation};
use super::stack::{self, round_stack_size};
use super::stage_core::{Core, pool, table};
use super::switch::{Exit, Inner, Unwinding, Wake, teardown};
use crate::effect::{Eff, Interrupt, Yields};
use crate::error::{CoroutineId, Detail, Error, ErrorKind};
use crate::options::SpawnOptions;

/// What a coroutine runs: given its [`Link`] and its first input, the body
/// of a coroutine that takes inputs `I`, yields `Y` and returns `R` on a
/// stage whose state is `S`.
///
/// The public layer implements it for the closures users spawn, wrapping
/// the `Link` into the `Co` they receive; this module never names `Co`.
pub(crate) trait Body<S, I, Y, R>: 'static {
    /// Runs the body to its end.
    fn run(self, link: Link<S, I, Y>, input: I) -> Eff<Yields, R>;
}

/// A large body is boxed (see [`INLINE_BODY_MAX`]).
impl<S, I, Y, R, B: Body<S, I, Y, R>> Body<S, I, Y, R> for Box<B> {
    #[inline]
    fn run(self, link: Link<S, I, Y>, input: I) -> Eff<Yields, R> {
        (*self).run(link, input)
    }
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
///
/// Fails, giving `body` back, if the stage's budget is spent or no stack
/// can be had.
#[inline]
pub(super) unsafe fn spawn<S, I, Y, R, B>(
    core: NonNull<Core<S>>,
    options: &SpawnOptions,
    body: B,
) -> Result<RawHandle<I, Y, R>, (Error, B)>
where
    S: 'static,
    I: 'static,
    Y: 'static,
    R: 'static,
    B: Body<S, I, Y, R>,
{
    if size_of::<B>() <= INLINE_BODY_MAX {
        // SAFETY: forwarded from our caller.
        unsafe { spawn_body(core, options, body) }
    } else {
        // SAFETY: forwarded from our caller.
        unsafe { spawn_body(core, options, Box::new(body)) }.map_err(|(error, body)| (error, *body))
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
unsafe fn spawn_body<S, I, Y, R, B>(
    core: NonNull<Core<S>>,
    options: &SpawnOptions,
    body: B,
) -> Result<RawHandle<I, Y, R>, (Error, B)>
where
    S: 'static,
    I: 'static,
    Y: 'static,
    R: 'static,
    B: Body<S, I, Y, R>,
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
    // SAFETY: `slot` is one of the live core's slots; the coroutine that
    // used it before has ended.
    unsafe {
        slot.set_cancelling(false);
        slot.set_resumed_panicking(false);
    }
    let wrapper = move |yielder: &Yielder<Wake<I>, Y>, first: Wake<I>| -> Exit<R> {
        let input = match first {
            Wake::Resume(input) => input,
            // Not reached: a coroutine that never ran is cancelled by
            // dropping its body. Answer correctly anyway.
            Wake::Cancel | Wake::Unwind => return Exit::Done(Err(Interrupt::cancelled())),
        };
        let link = Link::new(core, stage, slot, NonNull::from(yielder), id);
        match panic::catch_unwind(AssertUnwindSafe(|| body.run(link, input))) {
            Ok(done) => Exit::Done(done),
            // The unwinding this coroutine's canceller asked for. (Only a
            // cancelled coroutine raises `Unwinding` by itself; one that
            // carries the payload elsewhere raises an ordinary panic there.)
            // SAFETY: the slot lives as long as the core, which outlives
            // every coroutine of the stage.
            Err(payload) if unsafe { slot.cancelling() } && payload.is::<Unwinding>() => {
                Exit::Done(Err(Interrupt::cancelled()))
            }
            Err(payload) => Exit::Panicked(payload),
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
    Ok(RawHandle::new(stage, id, slot))
}

#[cold]
#[inline(never)]
fn budget_error(limit: usize) -> Error {
    Error::new(Detail::Budget { limit }, None)
}

impl<S: 'static, I: 'static, Y: 'static> Link<S, I, Y> {
    /// Spawns a coroutine on this coroutine's stage.
    #[inline]
    pub(crate) fn spawn<I2, Y2, R2, B>(
        &mut self,
        options: &SpawnOptions,
        body: B,
    ) -> Result<RawHandle<I2, Y2, R2>, (Error, B)>
    where
        I2: 'static,
        Y2: 'static,
        R2: 'static,
        B: Body<S, I2, Y2, R2>,
    {
        // SAFETY: the core is live; `&mut self` is the running coroutine's
        // access path, so no reference into the core is alive.
        unsafe { spawn(self.core, options, body) }
    }
}
