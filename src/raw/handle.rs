//! [`RawHandle`]: the typed token a spawn returns and a resume requires.

use std::marker::PhantomData;
use std::num::NonZeroU64;

use super::invariant::Invariant;
use super::slot::SlotRef;
use crate::error::{CoroutineId, Detail, Error};

/// Identifies a stage. Unique for the life of the process: stage ids are
/// never reused, so a handle can never be mistaken for one of a stage
/// created later.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct StageId(NonZeroU64);

impl StageId {
    /// A fresh id. Panics only after 2^64 - 1 stages.
    pub(crate) fn fresh() -> StageId {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        StageId(NonZeroU64::new(id).expect("stage ids exhausted"))
    }

    /// The id as a number, for messages.
    pub(crate) fn get(self) -> u64 {
        self.0.get()
    }
}

/// A coroutine of some stage, with the payload types its spawn gave it.
///
/// Only `spawn::<S, I, Y, R, _>` makes a `RawHandle<I, Y, R>`; this is what
/// lets `resume` and `cancel` read the slot's type-erased body back as the
/// coroutine type those parameters name, once the stage and generation
/// checks have passed (see the module docs). The public
/// [`Handle`](crate::Handle) wraps it.
///
/// Invariant in `I`, `Y` and `R` (the marker is `Invariant<(I, Y, R)>`, a
/// `PhantomData<fn((I, Y, R)) -> (I, Y, R)>`): no subtyping coercion can
/// make a handle claim other payload types than its coroutine has. `Send` and `Sync` as far as its
/// own fields go (an address and two ids); the public
/// [`Handle`](crate::Handle) that wraps it holds a `ThreadBound` marker,
/// which keeps it on the stage's thread and is what a compile error names.
pub(crate) struct RawHandle<I, Y, R> {
    pub(super) stage: StageId,
    pub(super) id: CoroutineId,
    /// The address of the coroutine's slot in its stage, so that `resume`
    /// finds the slot without a lookup. Used only after `stage` has been
    /// checked against the stage it is given to.
    pub(super) slot: SlotRef,
    marker: Invariant<(I, Y, R)>,
}

impl<I, Y, R> RawHandle<I, Y, R> {
    /// Only for `spawn` and teardown, which know the slot holds a
    /// coroutine of these types.
    pub(super) fn new(stage: StageId, id: CoroutineId, slot: SlotRef) -> Self {
        RawHandle {
            stage,
            id,
            slot,
            marker: PhantomData,
        }
    }

    /// The coroutine's id within its stage.
    #[inline]
    pub(crate) fn id(&self) -> CoroutineId {
        self.id
    }

    /// The stage's id.
    #[inline]
    pub(crate) fn stage(&self) -> StageId {
        self.stage
    }
}

impl<I, Y, R> Clone for RawHandle<I, Y, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, Y, R> Copy for RawHandle<I, Y, R> {}

/// A handle of stage `handle` was used on stage `this`.
#[cold]
#[inline(never)]
pub(super) fn foreign_stage(handle: StageId, this: StageId, id: CoroutineId) -> Error {
    Error::new(
        Detail::ForeignStage {
            handle: handle.get(),
            this: this.get(),
        },
        Some(id),
    )
}
