//! Typed, generation-checked handles to coroutines.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::error::CoroutineId;
use crate::raw::RawHandle;
use crate::thread_bound::ThreadBound;

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
/// `Handle` is invariant in `I`, `Y` and `R` (it wraps the core's
/// `RawHandle`, whose marker is `PhantomData<fn((I, Y, R)) -> (I, Y, R)>`),
/// so no subtyping coercion can make a handle claim other payload types
/// than the coroutine has.
pub struct Handle<I, Y, R> {
    raw: RawHandle<I, Y, R>,
    /// Keeps the handle on its stage's thread; what a compile error names.
    _thread: ThreadBound,
}

impl<I, Y, R> Handle<I, Y, R> {
    #[inline]
    pub(crate) fn from_raw(raw: RawHandle<I, Y, R>) -> Self {
        Handle {
            raw,
            _thread: ThreadBound::new(),
        }
    }

    #[inline]
    pub(crate) fn raw(self) -> RawHandle<I, Y, R> {
        self.raw
    }

    /// The coroutine's id within its stage.
    pub fn id(&self) -> CoroutineId {
        self.raw.id()
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
        self.raw.stage() == other.raw.stage() && self.raw.id() == other.raw.id()
    }
}

impl<I, Y, R> Eq for Handle<I, Y, R> {}

impl<I, Y, R> Hash for Handle<I, Y, R> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.stage().get().hash(state);
        self.raw.id().hash(state);
    }
}

impl<I, Y, R> fmt::Debug for Handle<I, Y, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Handle(stage {}, {})",
            self.raw.stage().get(),
            self.raw.id()
        )
    }
}
