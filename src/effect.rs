//! Effects: yield risk as a type.
//!
//! Every operation that can switch stacks returns [`Eff<Yields, T>`](Eff);
//! a computation that cannot returns `T` or [`Eff<Pure, T>`](Eff). Because
//! `Eff` is a plain `Result`, the `?` operator propagates yield risk for free:
//!
//! * `Interrupt<Pure>` is uninhabited: a pure computation is never
//!   interrupted, so its `Err` arm cannot happen.
//! * `Interrupt<Yields>` means "this coroutine is being cancelled". A yield
//!   point returns it when the coroutine is cancelled while suspended there,
//!   and `?` unwinds the body normally, running every destructor on the way.
//! * `From<Interrupt<Pure>> for Interrupt<Yields>` exists (pure code may be
//!   used where yielding code is allowed). The other direction does not, so
//!   `?` on a yielding call inside a function that returns `Eff<Pure, _>` is
//!   a compile error:
//!
//! ```compile_fail
//! use coshare::{Co, Eff, Pure};
//!
//! fn not_pure(co: &mut Co<u32>) -> Eff<Pure, ()> {
//!     co.suspend(())?; // error: `?` couldn't convert `Interrupt<Yields>` into `Interrupt<Pure>`
//!     Ok(())
//! }
//! ```
//!
//! [`Eff`], [`Pure`], [`Yields`] and [`Interrupt`] are what signatures
//! spell; the crate root exports them. The rest of this module is the
//! algebra for code that is polymorphic in the effect, which few programs
//! need: effects also exist as [`typenum`] bits ([`Effect::Bit`]), so a
//! combinator computes the effect of its result at the type level:
//! [`Join<E1, E2>`] is the effect of running an `E1` computation and then
//! an `E2` one, and [`SubEffect`] says which interrupts convert into which.
//! The methods [`EffExt::then`], [`EffExt::widen`] and
//! [`PureExt::into_value`] come with `use coshare::prelude::*;`.
//!
//! ```
//! use coshare::effect::Join;
//! use coshare::prelude::*;
//! use coshare::{Eff, Pure, Yields};
//! use static_assertions::assert_type_eq_all;
//!
//! assert_type_eq_all!(Join<Pure, Pure>, Pure);
//! assert_type_eq_all!(Join<Pure, Yields>, Yields);
//! assert_type_eq_all!(Join<Yields, Pure>, Yields);
//!
//! let a: Eff<Pure, u32> = Ok(20);
//! let b: Eff<Pure, u32> = a.then(|x| Ok::<_, coshare::Interrupt<Pure>>(x + 1));
//! assert_eq!(b.into_value(), 21);
//! ```
//!
//! An effect-polymorphic helper: its result may yield exactly when its
//! argument may, which the compiler checks where it is used.
//!
//! ```
//! use coshare::effect::{Effect, Join, JoinEffect, SubEffect};
//! use coshare::prelude::*;
//! use coshare::{Co, Eff, Pure, Stage, Yields};
//!
//! /// Validates `reading`, after whatever produced it: pure only if that was.
//! fn checked<E>(reading: Eff<E, i32>) -> Eff<Join<E, Pure>, u32>
//! where
//!     E: Effect + JoinEffect<Pure> + SubEffect<Join<E, Pure>>,
//!     Pure: SubEffect<Join<E, Pure>>,
//! {
//!     reading.then(|value| Ok::<_, coshare::Interrupt<Pure>>(value.unsigned_abs()))
//! }
//!
//! // From a pure source the result is pure: no `?` needed, none possible.
//! let pure: Eff<Pure, u32> = checked(Ok::<i32, coshare::Interrupt<Pure>>(-4));
//! assert_eq!(pure.into_value(), 4);
//!
//! // From a yield point the result may yield, and `?` passes a cancellation on.
//! let mut stage = Stage::new(());
//! let h = stage
//!     .spawn(|co: &mut Co<(), i32>, first| {
//!         let next: Eff<Yields, u32> = checked(co.suspend(()));
//!         Ok(first.unsigned_abs() + next?)
//!     })
//!     .unwrap();
//! stage.resume(h, -1).unwrap();
//! assert_eq!(stage.resume(h, -2).unwrap().returned(), Some(3));
//! ```

use core::convert::Infallible;
use core::fmt;

use core::ops::BitOr;

use typenum::{B0, B1, Bit, Or};

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Pure {}
    impl Sealed for super::Yields {}
    impl Sealed for typenum::B0 {}
    impl Sealed for typenum::B1 {}
}

/// The effect of a computation that never reaches a yield point.
///
/// Its interrupt type, `Interrupt<Pure>`, is uninhabited: an
/// [`Eff<Pure, T>`](Eff) always holds a `T` (see [`PureExt::into_value`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pure;

/// The effect of a computation that may reach a yield point: suspend this
/// coroutine, resume another one, or call something that may.
///
/// Its interrupt type, `Interrupt<Yields>`, tells that the coroutine is being
/// cancelled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Yields;

/// An effect: [`Pure`] or [`Yields`]. Sealed; there are no other effects.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an effect",
    label = "expected `coshare::Pure` or `coshare::Yields`",
    note = "the effect parameter of `Eff<E, T>` says whether a computation may yield"
)]
pub trait Effect: sealed::Sealed + Copy + fmt::Debug + 'static {
    /// The effect as a type-level bit: [`B0`] for [`Pure`], [`B1`] for
    /// [`Yields`].
    type Bit: Bit + EffectBit<Effect = Self>;

    /// What an [`Interrupt`] of this effect carries: [`Infallible`] for
    /// [`Pure`] (so `Interrupt<Pure>` has no values), `()` for [`Yields`].
    type Witness: Copy + fmt::Debug + Eq + 'static;

    /// Whether this effect may yield, as a value.
    const MAY_YIELD: bool = <Self::Bit as Bit>::BOOL;
}

impl Effect for Pure {
    type Bit = B0;
    type Witness = Infallible;
}

impl Effect for Yields {
    type Bit = B1;
    type Witness = ();
}

/// Maps a [`typenum`] bit back to its effect: [`B0`] to [`Pure`], [`B1`] to
/// [`Yields`]. Sealed.
pub trait EffectBit: Bit + sealed::Sealed {
    /// The effect this bit stands for.
    type Effect: Effect<Bit = Self>;
}

impl EffectBit for B0 {
    type Effect = Pure;
}

impl EffectBit for B1 {
    type Effect = Yields;
}

/// Computes the effect of running a `Self` computation and then an `Other`
/// one, as the bitwise or of their [`typenum`] bits. Implemented for every
/// pair of effects; see [`Join`].
pub trait JoinEffect<Other: Effect>: Effect {
    /// The joined effect.
    type Output: Effect;
}

impl<A: Effect, B: Effect> JoinEffect<B> for A
where
    A::Bit: BitOr<B::Bit>,
    Or<A::Bit, B::Bit>: EffectBit,
{
    type Output = <Or<A::Bit, B::Bit> as EffectBit>::Effect;
}

/// The effect of running an `A` computation and then a `B` computation: the
/// bitwise or of their bits.
///
/// `Join<A, B>` expands to `<A as JoinEffect<B>>::Output`, which is
/// `<Or<<A as Effect>::Bit, <B as Effect>::Bit> as EffectBit>::Effect`.
///
/// | `A`      | `B`      | `Join<A, B>` |
/// |----------|----------|--------------|
/// | `Pure`   | `Pure`   | `Pure`       |
/// | `Pure`   | `Yields` | `Yields`     |
/// | `Yields` | `Pure`   | `Yields`     |
/// | `Yields` | `Yields` | `Yields`     |
pub type Join<A, B> = <A as JoinEffect<B>>::Output;

/// `Self ⊆ Of`: an interrupt of effect `Self` can stand where one of effect
/// `Of` is expected. Holds for `Pure ⊆ Pure`, `Pure ⊆ Yields` and
/// `Yields ⊆ Yields`; never for `Yields ⊆ Pure`.
///
/// The impls are written out for each pair: a blanket impl would overlap
/// `From<T> for T`.
#[diagnostic::on_unimplemented(
    message = "a computation with effect `{Self}` cannot be used where effect `{Of}` is required",
    label = "this may yield, but the context must be pure",
    note = "only code that holds the coroutine capability (`&mut Co`) may yield; return `Eff<Yields, _>` from this function instead"
)]
pub trait SubEffect<Of: Effect>: Effect {
    /// Converts the interrupt.
    fn widen(interrupt: Interrupt<Self>) -> Interrupt<Of>;
}

impl SubEffect<Pure> for Pure {
    fn widen(interrupt: Interrupt<Pure>) -> Interrupt<Pure> {
        interrupt
    }
}

impl SubEffect<Yields> for Pure {
    fn widen(interrupt: Interrupt<Pure>) -> Interrupt<Yields> {
        match interrupt.witness {}
    }
}

impl SubEffect<Yields> for Yields {
    fn widen(interrupt: Interrupt<Yields>) -> Interrupt<Yields> {
        interrupt
    }
}

/// Why a computation of effect `E` did not produce its value.
///
/// * `Interrupt<Pure>` has no values.
/// * `Interrupt<Yields>`: the coroutine is being cancelled. Only the crate
///   creates one, at the yield point where the cancellation arrives (or at
///   a yield point reached while the coroutine unwinds, which cannot
///   suspend). Return it (usually with `?`) so that the body unwinds
///   normally.
///
/// An `Interrupt` cannot be created outside the crate, and it is neither
/// `Copy` nor `Clone`: a coroutine that receives one can return it or keep
/// it, not both, so it cannot end its own cancellation and keep a spare
/// to end another coroutine with later. Moving one out of the coroutine
/// that received it (through the state, say) and returning it from a
/// coroutine that is not being cancelled is caught when that coroutine
/// returns: the resume panics with a message that says so.
///
/// ```compile_fail,E0382
/// use coshare::{Co, Eff, Interrupt, Stage, Yields};
///
/// let mut stage = Stage::new(None::<Interrupt<Yields>>);
/// stage.spawn(|co: &mut Co<Option<Interrupt<Yields>>>, ()| -> Eff<Yields, ()> {
///     if let Err(interrupt) = co.suspend(()) {
///         *co.state() = Some(interrupt); // moved into the state...
///         return Err(interrupt); // ...so it cannot end this cancellation too
///     }
///     Ok(())
/// });
/// ```
#[derive(PartialEq, Eq, Hash)]
pub struct Interrupt<E: Effect> {
    witness: E::Witness,
}

impl Interrupt<Yields> {
    /// The interrupt a cancelled coroutine receives at its yield point.
    pub(crate) const fn cancelled() -> Self {
        Interrupt { witness: () }
    }
}

impl<E: Effect> Interrupt<E> {
    /// Converts this interrupt to a larger effect (`Pure` to `Yields`).
    pub fn widen<Of: Effect>(self) -> Interrupt<Of>
    where
        E: SubEffect<Of>,
    {
        E::widen(self)
    }
}

impl From<Interrupt<Pure>> for Interrupt<Yields> {
    fn from(interrupt: Interrupt<Pure>) -> Self {
        match interrupt.witness {}
    }
}

impl<E: Effect> fmt::Debug for Interrupt<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interrupt<{:?}>", E::default_marker())
    }
}

impl<E: Effect> fmt::Display for Interrupt<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the coroutine was cancelled while suspended; \
             return this interrupt (with `?`) so that the coroutine unwinds",
        )
    }
}

impl<E: Effect> std::error::Error for Interrupt<E> {}

/// Helper so `Debug` can name the effect without requiring `Default` on it.
trait DefaultMarker {
    fn default_marker() -> &'static dyn fmt::Debug;
}

impl<E: Effect> DefaultMarker for E {
    fn default_marker() -> &'static dyn fmt::Debug {
        if E::MAY_YIELD { &Yields } else { &Pure }
    }
}

/// The result of a computation with effect `E`: `Ok(value)`, or
/// `Err(Interrupt<E>)` if the computation was interrupted at a yield point.
///
/// `Eff<Pure, T>` always holds a value; `Eff<Yields, T>` may hold an
/// interrupt, which the body should return with `?`.
pub type Eff<E, T> = Result<T, Interrupt<E>>;

/// Combinators on [`Eff`] that compute their effect at the type level.
pub trait EffExt<E: Effect, T>: Sized {
    /// Runs `f` on the value. The effect of the result is the [`Join`] of
    /// the two effects: pure only if both are pure.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{Eff, Interrupt, Pure, Yields};
    ///
    /// let pure: Eff<Pure, u8> = Ok(1);
    /// // A pure step followed by a (possibly) yielding one may yield.
    /// let joined: Eff<Yields, u8> = pure.then(|x| Ok::<u8, Interrupt<Yields>>(x + 1));
    /// assert_eq!(joined.ok(), Some(2));
    /// ```
    fn then<E2, U, F>(self, f: F) -> Eff<Join<E, E2>, U>
    where
        E2: Effect,
        F: FnOnce(T) -> Eff<E2, U>,
        E: JoinEffect<E2>,
        E: SubEffect<Join<E, E2>>,
        E2: SubEffect<Join<E, E2>>;

    /// Treats this result as having the larger effect `Of`.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{Eff, Pure, Yields};
    ///
    /// let pure: Eff<Pure, u8> = Ok(1);
    /// let widened: Eff<Yields, u8> = pure.widen();
    /// assert_eq!(widened.ok(), Some(1));
    /// ```
    fn widen<Of: Effect>(self) -> Eff<Of, T>
    where
        E: SubEffect<Of>;
}

impl<E: Effect, T> EffExt<E, T> for Eff<E, T> {
    fn then<E2, U, F>(self, f: F) -> Eff<Join<E, E2>, U>
    where
        E2: Effect,
        F: FnOnce(T) -> Eff<E2, U>,
        E: JoinEffect<E2>,
        E: SubEffect<Join<E, E2>>,
        E2: SubEffect<Join<E, E2>>,
    {
        match self {
            Ok(value) => f(value).map_err(E2::widen),
            Err(interrupt) => Err(E::widen(interrupt)),
        }
    }

    fn widen<Of: Effect>(self) -> Eff<Of, T>
    where
        E: SubEffect<Of>,
    {
        self.map_err(E::widen)
    }
}

/// Extracts the value of a pure computation, which cannot be interrupted.
pub trait PureExt<T> {
    /// Returns the value. Never fails: `Interrupt<Pure>` has no values.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{Eff, Pure};
    ///
    /// fn double(x: u32) -> Eff<Pure, u32> {
    ///     Ok(x * 2)
    /// }
    /// assert_eq!(double(21).into_value(), 42);
    /// ```
    fn into_value(self) -> T;
}

impl<T> PureExt<T> for Eff<Pure, T> {
    fn into_value(self) -> T {
        match self {
            Ok(value) => value,
            Err(interrupt) => match interrupt.witness {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use static_assertions::{
        assert_eq_size, assert_impl_all, assert_not_impl_any, assert_type_eq_all,
    };

    assert_type_eq_all!(Join<Pure, Pure>, Pure);
    assert_type_eq_all!(Join<Pure, Yields>, Yields);
    assert_type_eq_all!(Join<Yields, Pure>, Yields);
    assert_type_eq_all!(Join<Yields, Yields>, Yields);
    assert_type_eq_all!(<B0 as EffectBit>::Effect, Pure);
    assert_type_eq_all!(<B1 as EffectBit>::Effect, Yields);

    // The interrupt costs nothing: `Eff<E, T>` is as large as `T` for
    // types with a niche, and interrupts themselves are zero-sized.
    assert_eq_size!(Interrupt<Yields>, ());
    assert_eq_size!(Interrupt<Pure>, ());
    assert_eq_size!(Eff<Pure, u64>, u64);
    assert_eq_size!(Eff<Yields, Box<u8>>, Box<u8>);

    assert_impl_all!(Pure: SubEffect<Pure>, SubEffect<Yields>);
    assert_impl_all!(Yields: SubEffect<Yields>);
    assert_not_impl_any!(Yields: SubEffect<Pure>);
    assert_impl_all!(Interrupt<Yields>: From<Interrupt<Pure>>);
    assert_not_impl_any!(Interrupt<Pure>: From<Interrupt<Yields>>);

    #[test]
    fn const_bits() {
        const { assert!(!Pure::MAY_YIELD) };
        const { assert!(Yields::MAY_YIELD) };
    }

    #[test]
    fn then_propagates_interrupts() {
        let interrupted: Eff<Yields, u8> = Err(Interrupt::cancelled());
        let mut ran = false;
        let out: Eff<Yields, u8> = interrupted.then(|x| {
            ran = true;
            Ok::<u8, Interrupt<Pure>>(x)
        });
        assert!(!ran, "the continuation must not run after an interrupt");
        assert_eq!(out, Err(Interrupt::cancelled()));
    }

    #[test]
    fn widen_keeps_value() {
        let pure: Eff<Pure, &str> = Ok("v");
        let widened: Eff<Yields, &str> = pure.widen();
        assert_eq!(widened, Ok("v"));
    }

    #[test]
    fn question_mark_lifts_pure_into_yields() {
        fn pure_part() -> Eff<Pure, u8> {
            Ok(7)
        }
        fn yielding() -> Eff<Yields, u8> {
            let v = pure_part()?;
            Ok(v + 1)
        }
        assert_eq!(yielding(), Ok(8));
    }

    #[test]
    fn messages() {
        let i = Interrupt::<Yields>::cancelled();
        assert_eq!(format!("{i:?}"), "Interrupt<Yields>");
        assert!(i.to_string().contains("cancelled"));
    }
}
