//! [`ThreadBound`]: keeps a type on the thread of its stage, and says why in
//! the compile error that a move to another thread gets.
//!
//! A stage, the `co` of its coroutines, its handles and everything else that
//! belongs to it must stay on the thread that made the stage (a suspended
//! coroutine's stack holds thread-locals and raw pointers into the stage).
//! Each such public type holds a [`ThreadBound`] field, and the pointers
//! inside are not what makes it `!Send`, so the error names the marker:
//!
//! ```text
//! error[E0277]: `*const StagesStayOnTheirThread` cannot be sent between threads safely
//!   ...
//! note: required because it appears within the type `ThreadBound`
//! note: required because it appears within the type `Stage<u32>`
//! ```
//!
//! No `unsafe` here: the marker is `!Send` and `!Sync` because a raw
//! pointer is. The types of the trusted core that the public types wrap are
//! `Send` and `Sync` only so that their pointers are not named instead (see
//! `raw`); they never leave the public types, which hold this marker.

use std::marker::PhantomData;

/// Makes the type that holds it `!Send` and `!Sync`, naming
/// [`StagesStayOnTheirThread`] as the reason. Zero-sized and `Copy`.
#[derive(Clone, Copy, Default)]
pub(crate) struct ThreadBound(PhantomData<*const StagesStayOnTheirThread>);

impl ThreadBound {
    /// The marker.
    pub(crate) const fn new() -> Self {
        ThreadBound(PhantomData)
    }
}

/// The type a compile error names when a stage, or anything that belongs
/// to one, is sent to or shared with another thread: a stage and its
/// coroutines stay on the thread that made the stage. Never constructed.
pub(crate) enum StagesStayOnTheirThread {}
