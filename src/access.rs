//! [`StateAccess`]: code generic over "whoever may touch the state now".

use crate::co::Co;
use crate::stage::Stage;

/// Seals [`StateAccess`]: only the crate's access paths implement it (the
/// driver adds its own in `driver/access.rs`).
pub(crate) mod sealed {
    pub trait Sealed {}
    impl<S: 'static> Sealed for crate::stage::Stage<S> {}
    impl<S: 'static, I: 'static, Y: 'static> Sealed for crate::co::Co<S, I, Y> {}
}

/// Something that may read and write a stage's shared state between yield
/// points: the [`Stage`] on the main stack, or a coroutine's [`Co`].
///
/// Helpers that only touch the state (and never yield) can be written once
/// against `impl StateAccess` and called from both sides. The borrow rule is
/// the same as for [`Stage::state`] and [`Co::state`]: the returned
/// reference borrows the accessor, so it cannot be held across a yield
/// point.
///
/// ```
/// use coshare::{Co, Stage, StateAccess};
///
/// fn bump(access: &mut impl StateAccess<State = u32>) -> u32 {
///     let n = access.state();
///     *n += 1;
///     *n
/// }
///
/// let mut stage = Stage::new(0u32);
/// let h = stage
///     .spawn(|co: &mut Co<_>, ()| Ok(bump(co)))
///     .unwrap();
/// assert_eq!(bump(&mut stage), 1);
/// assert_eq!(stage.resume(h, ()).unwrap().returned(), Some(2));
/// ```
///
/// Sealed: implemented only by [`Stage`], [`Co`], and the driver's
/// [`Driver`](crate::driver::Driver) and [`Task`](crate::driver::Task).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot access a coshare stage's state",
    label = "expected `&mut Stage<S>` or `&mut Co<S, I, Y>`",
    note = "the shared state is reached through the stage (on the main stack) or through `co` (in a coroutine)"
)]
pub trait StateAccess: sealed::Sealed {
    /// The stage's shared state type.
    type State: 'static;

    /// The shared state, borrowed until the next use of `self`.
    fn state(&mut self) -> &mut Self::State;
}

impl<S: 'static> StateAccess for Stage<S> {
    type State = S;

    #[inline]
    fn state(&mut self) -> &mut S {
        Stage::state(self)
    }
}

impl<S: 'static, I: 'static, Y: 'static> StateAccess for Co<S, I, Y> {
    type State = S;

    #[inline]
    fn state(&mut self) -> &mut S {
        Co::state(self)
    }
}
