//! Parts of a shared state: what `#[derive(CoroutineShareable)]` provides,
//! and the lookups built on it.
//!
//! Most code needs only the derive, the accessors of [`PartAccess`] and
//! [`FieldAccess`] (in `coshare::prelude`), and the bounds [`HasPart`] and [`HasField`] for
//! helpers that work on any state with the part they need:
//!
//! ```
//! use coshare::prelude::*;
//! use coshare::{CoroutineShareable, HasPart, Label, Stage, StateAccess};
//!
//! #[derive(Default)]
//! struct Log(Vec<String>);
//!
//! /// Any state with a `Log`, on the main stack or in a coroutine.
//! fn note<I>(access: &mut impl StateAccess<State: HasPart<Log, I>>, line: &str) {
//!     access.part::<Log>().0.push(line.to_owned());
//! }
//!
//! #[derive(Default, CoroutineShareable)]
//! struct Shop {
//!     log: Log,
//!     sold: u32,
//!     returned: u32, // a second `u32`: look these two up by name
//! }
//!
//! let mut stage = Stage::new(Shop::default());
//! note(&mut stage, "open");
//! *stage.field::<Label!(sold)>() += 2;
//! *stage.field::<Label!(returned)>() += 1;
//! assert_eq!(stage.state().log.0, ["open"]);
//! assert_eq!((stage.state().sold, stage.state().returned), (2, 1));
//! ```
//!
//! # Design notes
//!
//! A shared state struct is seen as a frunk HList of mutable borrows of its
//! fields, in declaration order, plus two type-level lists: one labelled
//! with the fields' names, one with their types for lookups by type:
//!
//! ```text
//! struct Game { jobs: JobQueue, log: Log, round: u32, turn: u32 }
//!
//! Game::PartsMut<'a> = HList![&'a mut JobQueue, &'a mut Log, &'a mut u32, &'a mut u32]
//! Game::Fields       = HList![Field<(j,o,b,s), JobQueue>, Field<(l,o,g), Log>,
//!                             Field<(r,o,u,n,d), u32>, Field<(t,u,r,n), u32>]
//! Game::PartTypes    = HList![JobQueue, Log, Several<u32>, Several<u32>]
//!                      (the last two: types only; never built)
//! ```
//!
//! Every lookup is a frunk lookup on these lists, resolved at compile time
//! to a position (`Here`, `There<Here>`, ...):
//!
//! | lookup                 | frunk trait                        | on                                          |
//! |------------------------|------------------------------------|---------------------------------------------|
//! | one part by type       | `Plucker`                          | `PartTypes`, then `PartsMut<'a>`            |
//! | distinct parts by type | `Sculptor`                         | `PartTypes`, then `PartsMut<'a>`            |
//! | one part by name       | `ByNameFieldPlucker`, `Plucker`    | `Fields`, then `PartsMut<'a>`               |
//! | distinct parts by name | `ByNameFieldPlucker` ([`FieldTypes`]), `Sculptor` | `Fields`, then `PartsMut<'a>` |
//!
//! The position is found by inference. The accessors of [`PartAccess`] and
//! [`FieldAccess`] take it (and, by name, the field's type) as the trait's
//! parameters, not the method's, so a call names only what it looks up
//! (`part::<Log>()`, `field::<Label!(round)>()`) and the rest is inferred
//! like the target of `into()`.
//!
//! Invariants:
//!
//! * **Every access borrows the accessor.** The methods of [`PartAccess`]
//!   and [`FieldAccess`] take `&mut self` on the [`Stage`](crate::Stage) or [`Co`](crate::Co) and
//!   go through [`StateAccess::state`](crate::StateAccess::state), so a part
//!   reference has exactly the borrow rules of
//!   [`Co::state`](crate::Co::state): it is dead at the next yield point or
//!   it is a compile error. Nothing here is `unsafe` and nothing here can
//!   switch stacks.
//! * **Disjointness is frunk's.** `Sculptor` plucks each target out of the
//!   *remainder* of the previous pluck, so one field can never be handed out
//!   twice by one call. The borrows come from one `parts_mut()`, a list of
//!   borrows of distinct fields, which the borrow checker already accepts.
//! * **Positions agree.** `PartTypes` and `Fields` list the fields of
//!   `PartsMut` in the same order; a lookup finds a position in one of them
//!   and takes the borrow at the same position of `PartsMut`, checked again
//!   by type (`Plucker<&'a mut Value, Index>` only holds if the element
//!   there has that type). A hand-written impl that lists fields in another
//!   order gets lookups that fail to compile or find another field of the
//!   same type; never a wrong type.
//! * **A lookup by type fails, rather than being ambiguous, for a type on
//!   several fields.** The derive lists such a type as [`Several<T>`] in
//!   `PartTypes`, so the lookup finds no `T` there and reports the unmet
//!   [`HasPart`] bound with its own message, instead of rustc's "type
//!   annotations needed" about frunk's impls. (The derive compares types as
//!   written: two spellings of one type, or a type parameter that turns out
//!   to be the other field's type, are still ambiguous.)
//! * **Errors speak of parts.** The blanket impls are
//!   `#[diagnostic::do_not_recommend]`, so a failed lookup is reported as the
//!   unmet `HasPart`/`HasField`/... bound with its own message, naming the
//!   part and the state, not as a failed frunk bound deep inside an HList.
//! * **Zero cost.** Every accessor is `#[inline]`: it builds the HList of
//!   field borrows and picks from it at a position fixed at compile time,
//!   which after inlining is the field borrow itself (`tests/derive.rs`
//!   checks that a part has the field's address).

use std::marker::PhantomData;

mod access;
mod field;
mod part;

pub use access::{FieldAccess, IndexedPartAccess, PartAccess};
pub use field::{FieldTypes, HasField, HasFields};
pub use part::{HasPart, HasParts};

/// A struct whose fields are *parts* that coroutines and the main stack can
/// borrow one at a time, or several distinct ones at once, between yield
/// points.
///
/// Implement it with `#[derive(CoroutineShareable)]` (feature `derive`, on
/// by default), then use the part accessors of [`PartAccess`] and
/// [`FieldAccess`] on the
/// [`Stage`](crate::Stage) and on `co`, and write helpers against
/// [`HasPart`] (by type) or [`HasField`] (by name) instead of a concrete
/// state struct.
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{Co, CoroutineShareable, Eff, Stage, Yields};
///
/// #[derive(Default)]
/// struct JobQueue(Vec<&'static str>);
///
/// #[derive(Default, CoroutineShareable)]
/// struct Server {
///     jobs: JobQueue,
///     served: u32,
/// }
///
/// let mut stage = Stage::new(Server::default());
/// let worker = stage
///     // The body never returns: its return type says what it would return.
///     .spawn(|co: &mut Co<Server>, ()| -> Eff<Yields, ()> {
///         loop {
///             match co.part::<JobQueue>().0.pop() {
///                 Some(_job) => *co.part::<u32>() += 1,
///                 None => co.suspend(())?,
///             }
///         }
///     })
///     .unwrap();
/// stage.part::<JobQueue>().0.extend(["a", "b"]);
/// stage.resume(worker, ()).unwrap();
/// assert_eq!(stage.state().served, 2);
/// ```
///
/// # Implementing it by hand
///
/// The derive is the intended way. Without the `derive` feature, or to
/// leave a field out of the parts, write the impl yourself: `PartsMut<'a>`
/// is an HList of `&'a mut` borrows of distinct fields; `Fields` lists the
/// same fields with the same types in the same order, labelled with
/// [`Label!`](crate::Label) (or frunk's `Field` and label letters); and
/// `PartTypes` lists their types, with [`Several<T>`] for a type that more
/// than one of them has. The derive generates exactly this, with full
/// paths:
///
/// ```
/// use coshare::parts::Several;
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, HCons, HList, HNil, Label, Stage};
/// use frunk::labelled::Field;
///
/// struct Counter {
///     hits: u64,
///     misses: u64,
///     cache: Vec<u8>, // not a part
/// }
///
/// impl CoroutineShareable for Counter {
///     type Fields = HList![Field<Label!(hits), u64>, Field<Label!(misses), u64>];
///     type PartTypes = HList![Several<u64>, Several<u64>];
///     type PartsMut<'a> = HList![&'a mut u64, &'a mut u64];
///
///     fn parts_mut(&mut self) -> Self::PartsMut<'_> {
///         HCons { head: &mut self.hits, tail: HCons { head: &mut self.misses, tail: HNil } }
///     }
/// }
///
/// let mut stage = Stage::new(Counter { hits: 0, misses: 0, cache: Vec::new() });
/// *stage.field::<Label!(hits)>() += 1;
/// assert_eq!(stage.state().hits, 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a shared state made of parts",
    label = "`{Self}` does not implement `CoroutineShareable`",
    note = "add `#[derive(coshare::CoroutineShareable)]` to the struct that is the stage's state"
)]
pub trait CoroutineShareable: 'static {
    /// The fields as a type-level labelled HList:
    /// `HList![Field<Label!(name), Type>, ...]`, in declaration order.
    /// Only used by lookups by name; never built.
    ///
    /// It is the same type as the `Repr` of frunk's `LabelledGeneric`
    /// derive for the same struct (unless a field name is a raw identifier:
    /// frunk keeps the `r#` in the label, coshare does not).
    ///
    /// ```
    /// use coshare::{CoroutineShareable, HList, Label};
    /// use frunk::labelled::Field;
    /// use static_assertions::assert_type_eq_all;
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    /// }
    ///
    /// assert_type_eq_all!(
    ///     <Game as CoroutineShareable>::Fields,
    ///     HList![Field<Label!(round), u32>, Field<Label!(names), Vec<String>>],
    /// );
    /// ```
    type Fields;

    /// The fields' types as a type-level HList, for lookups by type:
    /// `HList![A, B, ...]`, in declaration order, except that a type found
    /// on more than one field is listed as [`Several<T>`] at each of them,
    /// so that a lookup by type reports it rather than being ambiguous.
    /// Never built.
    ///
    /// ```
    /// use coshare::parts::Several;
    /// use coshare::{CoroutineShareable, HList};
    /// use static_assertions::assert_type_eq_all;
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    ///     turn: u32,
    /// }
    ///
    /// assert_type_eq_all!(
    ///     <Game as CoroutineShareable>::PartTypes,
    ///     HList![Several<u32>, Vec<String>, Several<u32>],
    /// );
    /// ```
    type PartTypes;

    /// Mutable borrows of all parts, as an HList in declaration order:
    /// `HList![&'a mut A, &'a mut B, ...]`.
    ///
    /// ```
    /// use coshare::{CoroutineShareable, HList};
    /// use static_assertions::assert_type_eq_all;
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    /// }
    ///
    /// assert_type_eq_all!(
    ///     <Game as CoroutineShareable>::PartsMut<'static>,
    ///     HList![&'static mut u32, &'static mut Vec<String>],
    /// );
    /// ```
    type PartsMut<'a>;

    /// Borrows all parts at once.
    ///
    /// Prefer the accessors of [`PartAccess`] and [`FieldAccess`] on the
    /// stage or `co`; this is
    /// what they are built on.
    ///
    /// ```
    /// use coshare::{CoroutineShareable, hlist_pat};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    /// }
    ///
    /// let mut game = Game { round: 1, names: Vec::new() };
    /// let hlist_pat![round, names] = game.parts_mut();
    /// *round += 1;
    /// names.push(format!("round {round}"));
    /// assert_eq!(game.names, ["round 2"]);
    /// ```
    fn parts_mut(&mut self) -> Self::PartsMut<'_>;
}

/// Stands for a type `T` that more than one field of a shared state has, in
/// [`CoroutineShareable::PartTypes`]: a lookup by type cannot choose
/// between such fields, and finds none (look them up by name instead).
/// Never built.
pub struct Several<T: ?Sized>(PhantomData<fn() -> *const T>);

/// The label type of a field name, for lookups by name:
/// `Label!(jobs)` names the field `jobs`.
///
/// A label is a tuple of letter types, `(j, o, b, s)`, the same labels
/// frunk's `LabelledGeneric` uses; two structs with a field of the same
/// name have the same label for it. The fields of a tuple struct are named
/// `_0`, `_1`, ... Raw identifiers lose their `r#`: `Label!(r#type)` names
/// the field `r#type`.
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, Label, Stage};
///
/// #[derive(CoroutineShareable)]
/// struct Pair(u32, u32);
///
/// let mut stage = Stage::new(Pair(1, 2));
/// *stage.field::<Label!(_1)>() += 40;
/// assert_eq!(stage.state().1, 42);
/// ```
#[cfg(feature = "derive")]
#[macro_export]
macro_rules! Label {
    ($($name:tt)*) => {
        $crate::__private::label!($crate; $($name)*)
    };
}
