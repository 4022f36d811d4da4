//! [`Link`]: a running coroutine's access to its stage.

use std::ptr::{self, NonNull};

use corosensei::Yielder;

use super::handle::{RawHandle, StageId};
use super::invariant::Invariant;
use super::slot::{SlotRef, status, tag};
use super::stage_core::Core;
use super::switch::{Wake, cancel, resume};
use crate::effect::{Eff, Interrupt, Yields};
use crate::error::{CoroutineId, Error, ResumeError};
use crate::resumed::Resumed;

/// A running coroutine's access to its stage: the core, its own corosensei
/// `Yielder` and its id. Made by the coroutine's root frame and handed to
/// its [`Body`](super::Body), which keeps it (inside the `Co` the user's
/// body borrows) on the coroutine's own stack.
pub(crate) struct Link<S, I, Y> {
    pub(super) core: NonNull<Core<S>>,
    /// The core's stage id (see `Owner::stage`).
    pub(super) stage: StageId,
    /// This coroutine's own slot, marked `RUNNING` during nested switches.
    slot: SlotRef,
    /// Valid while the coroutine runs: it lives in the coroutine's initial
    /// frame, below this `Link`.
    yielder: NonNull<Yielder<Wake<I>, Y>>,
    id: CoroutineId,
    /// Invariant in all three. Not what keeps the link on its thread: see
    /// the `Send` impl below.
    marker: Invariant<(S, I, Y)>,
}

// SAFETY: a `Link` is only ever the field of a `Co`, which holds a
// `ThreadBound` marker and is therefore `!Send` and `!Sync`
// (`assertions.rs`): no `Link` is moved to or shared with another thread.
// The impls only keep its pointers from being the reason a compile error
// names, so that it names `Co` and the marker instead.
unsafe impl<S, I, Y> Send for Link<S, I, Y> {}
// SAFETY: as for `Send`.
unsafe impl<S, I, Y> Sync for Link<S, I, Y> {}

impl<S: 'static, I: 'static, Y: 'static> Link<S, I, Y> {
    /// Only for the root frame of the coroutine in `slot`, with its own
    /// yielder.
    pub(super) fn new(
        core: NonNull<Core<S>>,
        stage: StageId,
        slot: SlotRef,
        yielder: NonNull<Yielder<Wake<I>, Y>>,
        id: CoroutineId,
    ) -> Self {
        Link {
            core,
            stage,
            slot,
            yielder,
            id,
            marker: std::marker::PhantomData,
        }
    }

    pub(crate) fn id(&self) -> CoroutineId {
        self.id
    }

    /// Whether this coroutine has received its cancellation. Kept in the
    /// slot, not here, so that the coroutine's root can read it after the
    /// body (and this `Link` with it) is gone. Written only on the
    /// cancellation path; `suspend` does not read it (see `run_cancel`), and
    /// a yield point that returns `Err` because the coroutine unwinds from
    /// its own panic does not set it.
    pub(crate) fn is_cancelling(&self) -> bool {
        // SAFETY: the slot lives as long as the core, which outlives this
        // coroutine (module docs, part 4).
        unsafe { self.slot.cancelling() }
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
    /// One test precedes the switch: whether the thread is panicking. If it
    /// is not, the coroutine is not unwinding, and whatever else is special
    /// about this yield point (the coroutine is being cancelled, or ignored
    /// its interrupt) is answered by the canceller, through the `Wake` it
    /// resumes with (see `run_cancel` in `switch.rs`).
    #[inline]
    pub(crate) fn suspend(&mut self, value: Y) -> Eff<Yields, I> {
        if std::thread::panicking() {
            return self.suspend_while_panicking(value);
        }
        self.switch(value)
    }

    #[inline(always)]
    fn switch(&mut self, value: Y) -> Eff<Yields, I> {
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

    /// A yield point reached while the thread panics.
    ///
    /// The thread's panic count is shared by every stack on it, and a
    /// resumer's part of it stays as it was while the coroutine runs. So if
    /// the thread was not panicking when this coroutine was last switched
    /// to, the panic is this coroutine's own: it is unwinding (from a panic,
    /// or by force), here in a destructor. Suspending would hand control to
    /// the resumer in the middle of that unwinding; instead the yield point
    /// returns `Err(Interrupt)` at once, as during a cancellation, `value`
    /// is dropped, and the unwinding goes on.
    ///
    /// If the thread was already panicking then (the resumer is a destructor
    /// running during an unwind, or a canceller on such a stack), the two
    /// cannot be told apart, and the coroutine suspends as usual: its
    /// resumer is panicking already, and a canceller bounds what it answers
    /// (see `run_cancel`).
    #[cold]
    #[inline(never)]
    fn suspend_while_panicking(&mut self, value: Y) -> Eff<Yields, I> {
        // SAFETY: the slot lives as long as the core, which outlives this
        // coroutine (module docs, part 4).
        if unsafe { self.slot.resumed_panicking() } {
            // SAFETY: as above. Cleared so that a resumer that is not
            // panicking, which does not write it, finds it clear.
            unsafe { self.slot.set_resumed_panicking(false) };
            return self.switch(value);
        }
        drop(value);
        Err(Interrupt::cancelled())
    }

    /// The cancellation arrived at a yield point (or the canceller answers
    /// a later one with `Err` again; see `run_cancel`): remember it.
    #[cold]
    #[inline(never)]
    fn cancel_delivered(&mut self) -> Eff<Yields, I> {
        // SAFETY: as in `is_cancelling`.
        unsafe { self.slot.set_cancelling(true) };
        Err(Interrupt::cancelled())
    }

    /// The canceller asks this yield point to unwind the stack.
    #[cold]
    #[inline(never)]
    fn unwind(&mut self) -> ! {
        debug_assert!(
            self.is_cancelling(),
            "`Wake::Unwind` follows `Wake::Cancel`"
        );
        // Without unwinding, the body cannot be unwound: say why the
        // process stops (the panic aborts it), rather than abort silently.
        #[cfg(panic = "abort")]
        panic!(
            "coroutine {} ignored its cancellation and suspended again; it cannot be \
             unwound by force, because this program is built with panic = \"abort\". \
             Return the `Err(Interrupt)` of the yield point (with `?`) instead",
            self.id
        );
        // `resume_unwind` runs no panic hook: nothing is reported, as for
        // any cancellation.
        #[cfg(not(panic = "abort"))]
        std::panic::resume_unwind(Box::new(super::switch::Unwinding))
    }

    #[inline]
    pub(crate) fn resume<I2, Y2, R2>(
        &mut self,
        handle: RawHandle<I2, Y2, R2>,
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
        handle: RawHandle<I2, Y2, R2>,
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
