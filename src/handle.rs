//! Typed, generation-checked handles to coroutines.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::num::NonZeroU64;

use crate::error::CoroutineId;
use crate::raw::SlotRef;

/// Identifies a stage. Unique for the life of the process: stage ids are
/// never reused, so a handle can never be mistaken for one of a stage
/// created later.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct StageId(pub(crate) NonZeroU64);

impl StageId {
    /// A fresh id. Panics only after 2^64 - 1 stages.
    pub(crate) fn fresh() -> StageId {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        StageId(NonZeroU64::new(id).expect("stage ids exhausted"))
    }
}

/// A typed handle to a coroutine that takes inputs `I`, yields `Y` and
/// returns `R`.
///
/// Made by `spawn`, used with `resume` and `cancel` on the
/// [`Stage`](crate::Stage) or on a [`Co`](crate::Co) of the same stage. The
/// types make `resume` type-checked at compile time. At run time the handle
/// is checked against its stage and the slot's generation: a handle used on
/// another stage, or after its coroutine ended and the slot was reused, is
/// an error ([`ErrorKind::ForeignStage`](crate::ErrorKind::ForeignStage),
/// [`ErrorKind::Stale`](crate::ErrorKind::Stale)), never another coroutine.
///
/// Handles are `Copy`: they carry no ownership, and dropping one has no
/// effect on the coroutine. They are `!Send` and `!Sync` like the stage.
///
/// # Variance
///
/// `Handle` is invariant in `I`, `Y` and `R` (the marker is
/// `PhantomData<*mut (I, Y, R)>`), so no subtyping coercion can make a
/// handle claim other payload types than the coroutine has.
pub struct Handle<I, Y, R> {
    pub(crate) stage: StageId,
    pub(crate) id: CoroutineId,
    /// The address of the coroutine's slot in its stage, so that `resume`
    /// finds the slot without a lookup. Used only after `stage` has been
    /// checked against the stage it is given to (see `raw`'s module docs).
    pub(crate) slot: SlotRef,
    marker: PhantomData<*mut (I, Y, R)>,
}

impl<I, Y, R> Handle<I, Y, R> {
    pub(crate) fn new(stage: StageId, id: CoroutineId, slot: SlotRef) -> Self {
        Handle {
            stage,
            id,
            slot,
            marker: PhantomData,
        }
    }

    /// The coroutine's id within its stage.
    pub fn id(&self) -> CoroutineId {
        self.id
    }
}

impl<I, Y, R> Clone for Handle<I, Y, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<I, Y, R> Copy for Handle<I, Y, R> {}

impl<I, Y, R> PartialEq for Handle<I, Y, R> {
    fn eq(&self, other: &Self) -> bool {
        self.stage == other.stage && self.id == other.id
    }
}

impl<I, Y, R> Eq for Handle<I, Y, R> {}

impl<I, Y, R> Hash for Handle<I, Y, R> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.stage.hash(state);
        self.id.hash(state);
    }
}

impl<I, Y, R> fmt::Debug for Handle<I, Y, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle(stage {}, {})", self.stage.0, self.id)
    }
}
