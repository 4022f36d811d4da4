//! Parts of a shared state: what `#[derive(CoroutineShareable)]` provides,
//! and the lookups built on it.
//!
//! # Design notes
//!
//! A shared state struct is seen as a frunk HList of mutable borrows of its
//! fields, in declaration order, plus a type-level labelled HList that names
//! them:
//!
//! ```text
//! struct Game { jobs: JobQueue, log: Log }
//!
//! Game::PartsMut<'a> = HList![&'a mut JobQueue, &'a mut Log]
//! Game::Fields       = HList![Field<(j,o,b,s), JobQueue>, Field<(l,o,g), Log>]
//!                              (type level only: never built)
//! ```
//!
//! Every lookup is a frunk lookup on one of these two lists, resolved at
//! compile time to a position (`Here`, `There<Here>`, ...):
//!
//! | lookup                 | frunk trait                        | on                                  |
//! |------------------------|------------------------------------|-------------------------------------|
//! | one part by type       | `Plucker`                          | `PartsMut<'a>`                      |
//! | distinct parts by type | `Sculptor`                         | `PartsMut<'a>`                      |
//! | one part by name       | `ByNameFieldPlucker`, `Plucker`    | `Fields`, then `PartsMut<'a>`       |
//! | distinct parts by name | `ByNameFieldPlucker` ([`FieldTypes`]), `Sculptor` | `Fields`, then `PartsMut<'a>` |
//!
//! Invariants:
//!
//! * **Every access borrows the accessor.** The methods of [`PartAccess`]
//!   take `&mut self` on the [`Stage`](crate::Stage) or [`Co`](crate::Co) and
//!   go through [`StateAccess::state`], so a part reference has exactly the
//!   borrow rules of [`Co::state`](crate::Co::state): it is dead at the next
//!   yield point or it is a compile error. Nothing here is `unsafe` and
//!   nothing here can switch stacks.
//! * **Disjointness is frunk's.** `Sculptor` plucks each target out of the
//!   *remainder* of the previous pluck, so one field can never be handed out
//!   twice by one call. The borrows come from one `parts_mut()`, a list of
//!   borrows of distinct fields, which the borrow checker already accepts.
//! * **Positions agree.** By-name lookups find a position in `Fields` and
//!   take the borrow at the same position of `PartsMut`, checked again by
//!   type (`Plucker<&'a mut Value, Index>` only holds if the element there
//!   has that type). A hand-written impl that lists fields in another order
//!   gets lookups that fail to compile or find another field of the same
//!   type; never a wrong type.
//! * **Errors speak of parts.** The blanket impls are
//!   `#[diagnostic::do_not_recommend]`, so a failed lookup is reported as the
//!   unmet `HasPart`/`HasField`/... bound with its own message, naming the
//!   part and the state, not as a failed frunk bound deep inside an HList.
//! * **Zero cost.** Every accessor is `#[inline]`: it builds the HList of
//!   field borrows and picks from it at a position fixed at compile time,
//!   which after inlining is the field borrow itself (`tests/derive.rs`
//!   checks that a part has the field's address).

use frunk::hlist::{HCons, HNil, Plucker, Sculptor};
use frunk::labelled::ByNameFieldPlucker;
use frunk::traits::ToMut;

use crate::access::StateAccess;

/// A struct whose fields are *parts* that coroutines and the main stack can
/// borrow one at a time, or several distinct ones at once, between yield
/// points.
///
/// Implement it with `#[derive(CoroutineShareable)]` (feature `derive`, on
/// by default), then use the part accessors of [`PartAccess`] on the
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
///     .spawn(|co: &mut Co<Server>, ()| -> Eff<Yields, ()> {
///         loop {
///             match co.part::<JobQueue, _>().0.pop() {
///                 Some(_job) => *co.part::<u32, _>() += 1,
///                 None => co.suspend(())?,
///             }
///         }
///     })
///     .unwrap();
/// stage.part::<JobQueue, _>().0.extend(["a", "b"]);
/// stage.resume(worker, ()).unwrap();
/// assert_eq!(stage.state().served, 2);
/// ```
///
/// # Implementing it by hand
///
/// The derive is the intended way. Without the `derive` feature, or to
/// leave a field out of the parts, write the impl yourself: `PartsMut<'a>`
/// is an HList of `&'a mut` borrows of distinct fields, and `Fields` lists
/// the same fields with the same types in the same order, labelled with
/// [`Label!`](crate::Label) (or frunk's `Field` and label letters). The
/// derive generates exactly this, with full paths:
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, HCons, HList, HNil, Label, Stage};
/// use frunk::labelled::Field;
///
/// struct Counter {
///     hits: u64,
///     cache: Vec<u8>, // not a part
/// }
///
/// impl CoroutineShareable for Counter {
///     type Fields = HList![Field<Label!(hits), u64>];
///     type PartsMut<'a> = HList![&'a mut u64];
///
///     fn parts_mut(&mut self) -> Self::PartsMut<'_> {
///         HCons { head: &mut self.hits, tail: HNil }
///     }
/// }
///
/// let mut stage = Stage::new(Counter { hits: 0, cache: Vec::new() });
/// *stage.field::<Label!(hits), _, _>() += 1;
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
    /// Prefer the accessors of [`PartAccess`] on the stage or `co`; this is
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

/// A shared state with a part of type `Part`: the bound to write on a helper
/// that works with any state holding a `Part`.
///
/// `Index` is the part's position, found by the compiler (frunk's
/// `Plucker`); leave it to inference: `S: HasPart<JobQueue, I>` with `I` a
/// type parameter of the helper, and `_` at call sites. Implemented for every
/// [`CoroutineShareable`] state that has exactly one field of type `Part`
/// (with two, the lookup is ambiguous: use [`HasField`], by name).
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, HasPart, Stage, StateAccess};
///
/// #[derive(Default)]
/// struct Log(Vec<String>);
///
/// /// Works on the stage and on `co`, for any state with a `Log`.
/// fn log<I>(access: &mut impl StateAccess<State: HasPart<Log, I>>, line: &str) {
///     access.part::<Log, _>().0.push(line.to_owned());
/// }
///
/// #[derive(Default, CoroutineShareable)]
/// struct Shop {
///     log: Log,
///     stock: u32,
/// }
///
/// #[derive(Default, CoroutineShareable)]
/// struct Door {
///     open: bool,
///     log: Log,
/// }
///
/// let mut shop = Stage::new(Shop::default());
/// let mut door = Stage::new(Door::default());
/// log(&mut shop, "opened the till");
/// log(&mut door, "opened the door");
/// assert_eq!(shop.state().log.0, ["opened the till"]);
/// assert_eq!(door.state().log.0, ["opened the door"]);
/// ```
#[diagnostic::on_unimplemented(
    message = "the shared state `{Self}` has no part of type `{Part}`",
    label = "no field of type `{Part}` in `{Self}`",
    note = "a part is a field of a struct that derives `CoroutineShareable`: add a field of type `{Part}` to `{Self}`, or ask for the type of one of its fields",
    note = "in a helper generic over the state `S`, add the bound `S: HasPart<{Part}, Index>`, with `Index` a type parameter of the helper"
)]
pub trait HasPart<Part, Index>: CoroutineShareable {
    /// Borrows the part. Prefer [`PartAccess::part`] on the stage or `co`.
    ///
    /// ```
    /// use coshare::{CoroutineShareable, HasPart};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    /// }
    ///
    /// let mut game = Game { round: 1 };
    /// *HasPart::<u32, _>::part_mut(&mut game) += 1;
    /// assert_eq!(game.round, 2);
    /// ```
    fn part_mut(&mut self) -> &mut Part;
}

#[diagnostic::do_not_recommend]
impl<S, Part, Index> HasPart<Part, Index> for S
where
    S: CoroutineShareable,
    for<'a> S::PartsMut<'a>: Plucker<&'a mut Part, Index>,
{
    #[inline]
    fn part_mut(&mut self) -> &mut Part {
        self.parts_mut().pluck().0
    }
}

/// A shared state with distinct parts of the types in the HList `Parts`:
/// the bound for a helper that needs several parts mutably at once.
///
/// `Parts` is written `HList![A, B, ...]`; each type must be the type of a
/// different field (frunk's `Sculptor`), so the borrows never overlap.
/// `Indices` is found by the compiler; leave it to inference.
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, HList, HasParts, Stage, StateAccess, hlist_pat};
///
/// #[derive(Default)]
/// struct Inbox(Vec<String>);
/// #[derive(Default)]
/// struct Archive(Vec<String>);
///
/// fn archive_all<I>(access: &mut impl StateAccess<State: HasParts<HList![Inbox, Archive], I>>) {
///     let hlist_pat![inbox, archive] = access.parts::<HList![Inbox, Archive], _>();
///     archive.0.append(&mut inbox.0);
/// }
///
/// #[derive(Default, CoroutineShareable)]
/// struct Mail {
///     archive: Archive,
///     inbox: Inbox,
/// }
///
/// let mut stage = Stage::new(Mail::default());
/// stage.part::<Inbox, _>().0.push("hello".into());
/// archive_all(&mut stage);
/// assert_eq!(stage.state().archive.0, ["hello"]);
/// ```
#[diagnostic::on_unimplemented(
    message = "the shared state `{Self}` has no distinct parts of types `{Parts}`",
    label = "cannot borrow parts `{Parts}` of `{Self}` at once",
    note = "each type in the list must be the type of a different field of `{Self}`; a field cannot be borrowed twice"
)]
pub trait HasParts<Parts, Indices>: CoroutineShareable
where
    Parts: for<'a> ToMut<'a>,
{
    /// Borrows the parts, as `HList![&mut A, &mut B, ...]`. Prefer
    /// [`PartAccess::parts`] on the stage or `co`.
    ///
    /// ```
    /// use coshare::{CoroutineShareable, HList, HasParts, hlist_pat};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    /// }
    ///
    /// let mut game = Game { round: 1, names: Vec::new() };
    /// let hlist_pat![names, round] =
    ///     HasParts::<HList![Vec<String>, u32], _>::sculpt_parts_mut(&mut game);
    /// names.push(round.to_string());
    /// assert_eq!(game.names, ["1"]);
    /// ```
    fn sculpt_parts_mut(&mut self) -> <Parts as ToMut<'_>>::Output;
}

#[diagnostic::do_not_recommend]
impl<S, Parts, Indices> HasParts<Parts, Indices> for S
where
    S: CoroutineShareable,
    Parts: for<'a> ToMut<'a>,
    for<'a> S::PartsMut<'a>: Sculptor<<Parts as ToMut<'a>>::Output, Indices>,
{
    #[inline]
    fn sculpt_parts_mut(&mut self) -> <Parts as ToMut<'_>>::Output {
        self.parts_mut().sculpt().0
    }
}

/// A shared state with a part named `Name` of type `Value`: the bound for a
/// helper that finds its part by field name, e.g. when the state has several
/// parts of the same type.
///
/// `Name` is a label, written [`Label!(field_name)`](crate::Label); field
/// names are compared at compile time (frunk's `ByNameFieldPlucker`), so two
/// unrelated state structs that both have a field `jobs: JobQueue` satisfy
/// the same bound. `Index` is found by the compiler; leave it to inference.
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, HasField, Label, Stage, StateAccess};
///
/// /// Counts into the field named `errors`, whatever the state.
/// fn count_error<I>(access: &mut impl StateAccess<State: HasField<Label!(errors), u32, I>>) {
///     *access.field::<Label!(errors), u32, _>() += 1;
/// }
///
/// #[derive(Default, CoroutineShareable)]
/// struct Link {
///     sent: u32,
///     errors: u32, // same type as `sent`: only a lookup by name can tell them apart
/// }
///
/// let mut stage = Stage::new(Link::default());
/// count_error(&mut stage);
/// assert_eq!((stage.state().sent, stage.state().errors), (0, 1));
/// ```
#[diagnostic::on_unimplemented(
    message = "the shared state `{Self}` has no part named `{Name}` of type `{Value}`",
    label = "no field `{Name}: {Value}` in `{Self}`",
    note = "a name is spelled `Label!(field_name)`, which is a tuple of letter types: `(j, o, b, s)` is the field `jobs`; check the field's name and type",
    note = "in a helper generic over the state `S`, add the bound `S: HasField<Label!(field_name), Type, Index>`, with `Index` a type parameter of the helper"
)]
pub trait HasField<Name, Value, Index>: CoroutineShareable {
    /// Borrows the field. Prefer [`PartAccess::field`] on the stage or `co`.
    ///
    /// ```
    /// use coshare::{CoroutineShareable, HasField, Label};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Link {
    ///     sent: u32,
    ///     errors: u32,
    /// }
    ///
    /// let mut link = Link { sent: 0, errors: 0 };
    /// *HasField::<Label!(sent), _, _>::field_mut(&mut link) += 1;
    /// assert_eq!(link.sent, 1);
    /// ```
    fn field_mut(&mut self) -> &mut Value;
}

#[diagnostic::do_not_recommend]
impl<S, Name, Value, Index> HasField<Name, Value, Index> for S
where
    S: CoroutineShareable,
    S::Fields: ByNameFieldPlucker<Name, Index, TargetValue = Value>,
    for<'a> S::PartsMut<'a>: Plucker<&'a mut Value, Index>,
{
    #[inline]
    fn field_mut(&mut self) -> &mut Value {
        self.parts_mut().pluck().0
    }
}

/// The types of several distinct named fields, looked up in a labelled
/// HList such as [`CoroutineShareable::Fields`].
///
/// `Names` is `HList![Label!(a), Label!(b), ...]`; `Values` is the HList of
/// their types. Each name is looked up in what the previous lookups left, so
/// a name listed twice fails to resolve. This is the type-level half of
/// [`HasFields`]; helpers normally only need that.
///
/// ```
/// use coshare::{CoroutineShareable, FieldTypes, HList, Label};
/// use static_assertions::assert_type_eq_all;
///
/// #[derive(CoroutineShareable)]
/// struct Game {
///     round: u32,
///     names: Vec<String>,
/// }
///
/// type Fields = <Game as CoroutineShareable>::Fields;
/// type Names = HList![Label!(names), Label!(round)];
/// assert_type_eq_all!(
///     <Fields as FieldTypes<Names, _>>::Values,
///     HList![Vec<String>, u32],
/// );
/// ```
pub trait FieldTypes<Names, Indices> {
    /// The types of the named fields, as an HList in the order of `Names`.
    type Values;
}

impl<Fields> FieldTypes<HNil, HNil> for Fields {
    type Values = HNil;
}

impl<Fields, Name, NameTail, Index, IndexTail>
    FieldTypes<HCons<Name, NameTail>, HCons<Index, IndexTail>> for Fields
where
    Fields: ByNameFieldPlucker<Name, Index>,
    <Fields as ByNameFieldPlucker<Name, Index>>::Remainder: FieldTypes<NameTail, IndexTail>,
{
    type Values = HCons<
        <Fields as ByNameFieldPlucker<Name, Index>>::TargetValue,
        <<Fields as ByNameFieldPlucker<Name, Index>>::Remainder as FieldTypes<
            NameTail,
            IndexTail,
        >>::Values,
    >;
}

/// A shared state with distinct parts named by the labels in `Names`, of the
/// types in `Values`: the by-name counterpart of [`HasParts`].
///
/// `Names` is `HList![Label!(a), Label!(b), ...]` and `Values` the HList of
/// the fields' types; each name must be a different field. `Indices` is
/// found by the compiler.
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, HList, HasFields, Label, Stage, StateAccess, hlist_pat};
///
/// type Names = HList![Label!(sent), Label!(errors)];
///
/// fn record<I>(
///     access: &mut impl StateAccess<State: HasFields<Names, HList![u32, u32], I>>,
///     ok: bool,
/// ) -> f64 {
///     let hlist_pat![sent, errors] = access.fields::<Names, _, _>();
///     *sent += 1;
///     if !ok {
///         *errors += 1;
///     }
///     f64::from(*errors) / f64::from(*sent)
/// }
///
/// #[derive(Default, CoroutineShareable)]
/// struct Link {
///     sent: u32,
///     errors: u32,
/// }
///
/// let mut stage = Stage::new(Link::default());
/// record(&mut stage, true);
/// assert_eq!(record(&mut stage, false), 0.5);
/// ```
#[diagnostic::on_unimplemented(
    message = "the shared state `{Self}` has no distinct parts named `{Names}` of types `{Values}`",
    label = "cannot borrow parts `{Names}` of `{Self}` at once",
    note = "each `Label!(..)` in the list must name a different field of `{Self}`; a field cannot be borrowed twice"
)]
pub trait HasFields<Names, Values, Indices>: CoroutineShareable
where
    Values: for<'a> ToMut<'a>,
{
    /// Borrows the fields, as `HList![&mut A, &mut B, ...]` in the order of
    /// `Names`. Prefer [`PartAccess::fields`] on the stage or `co`.
    ///
    /// ```
    /// use coshare::{CoroutineShareable, HList, HasFields, Label, hlist_pat};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Link {
    ///     sent: u32,
    ///     errors: u32,
    /// }
    ///
    /// let mut link = Link { sent: 0, errors: 0 };
    /// let hlist_pat![errors, sent] =
    ///     HasFields::<HList![Label!(errors), Label!(sent)], _, _>::sculpt_fields_mut(&mut link);
    /// *errors += 1;
    /// *sent += 2;
    /// assert_eq!((link.sent, link.errors), (2, 1));
    /// ```
    fn sculpt_fields_mut(&mut self) -> <Values as ToMut<'_>>::Output;
}

#[diagnostic::do_not_recommend]
impl<S, Names, Values, Indices> HasFields<Names, Values, Indices> for S
where
    S: CoroutineShareable,
    S::Fields: FieldTypes<Names, Indices, Values = Values>,
    Values: for<'a> ToMut<'a>,
    for<'a> S::PartsMut<'a>: Sculptor<<Values as ToMut<'a>>::Output, Indices>,
{
    #[inline]
    fn sculpt_fields_mut(&mut self) -> <Values as ToMut<'_>>::Output {
        self.parts_mut().sculpt().0
    }
}

/// Part accessors for the [`Stage`](crate::Stage) and for `co`, in
/// `coshare::prelude`.
///
/// Implemented for everything that implements [`StateAccess`], so a helper
/// taking `&mut impl StateAccess<State: HasPart<P, I>>` works on both sides.
/// Every method takes `&mut self`, like [`Co::state`](crate::Co::state): a
/// part borrows the accessor until its last use, so it cannot be alive at a
/// yield point, and while it is alive the accessor cannot be used for
/// anything else. To hold two parts at once, borrow them together with
/// [`parts`](PartAccess::parts) or [`fields`](PartAccess::fields).
///
/// ```compile_fail,E0499
/// use coshare::prelude::*;
/// use coshare::{Co, CoroutineShareable, Eff, Stage, Yields};
///
/// #[derive(CoroutineShareable)]
/// struct Game {
///     round: u32,
/// }
///
/// let mut stage = Stage::new(Game { round: 0 });
/// stage.spawn(|co: &mut Co<Game>, ()| -> Eff<Yields, ()> {
///     let round = co.part::<u32, _>();
///     co.suspend(())?; // error[E0499]: `*co` is still borrowed by `round`
///     *round += 1;
///     Ok(())
/// });
/// ```
///
/// Lookups by type ([`part`](PartAccess::part), [`parts`](PartAccess::parts))
/// take the type, then `_` for the position; lookups by name
/// ([`field`](PartAccess::field), [`fields`](PartAccess::fields)) take the
/// [`Label!`](crate::Label), then `_` for the type and `_` for the position.
pub trait PartAccess: StateAccess {
    /// Borrows the part of type `Part`, until the next use of `self`.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{Co, CoroutineShareable, Eff, Stage, Yields};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    /// }
    ///
    /// let mut stage = Stage::new(Game { round: 0, names: Vec::new() });
    /// let h = stage
    ///     .spawn(|co: &mut Co<Game>, ()| -> Eff<Yields, ()> {
    ///         co.part::<Vec<String>, _>().push("ann".into());
    ///         co.suspend(())?;
    ///         co.part::<Vec<String>, _>().push("bob".into());
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// stage.resume(h, ()).unwrap();
    /// *stage.part::<u32, _>() += 1; // the main stack's turn
    /// stage.resume(h, ()).unwrap();
    /// assert_eq!(stage.state().names, ["ann", "bob"]);
    /// assert_eq!(stage.state().round, 1);
    /// ```
    #[inline]
    fn part<Part, Index>(&mut self) -> &mut Part
    where
        Self::State: HasPart<Part, Index>,
    {
        self.state().part_mut()
    }

    /// Runs `f` on the part of type `Part`. `f` cannot reach `self`, so it
    /// cannot yield. The part's type is usually given by the closure's
    /// argument.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{CoroutineShareable, Stage};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    /// }
    ///
    /// let mut stage = Stage::new(Game { round: 6 });
    /// let next = stage.with_part(|round: &mut u32| {
    ///     *round += 1;
    ///     *round
    /// });
    /// assert_eq!(next, 7);
    /// ```
    #[inline]
    fn with_part<Part, Index, T>(&mut self, f: impl FnOnce(&mut Part) -> T) -> T
    where
        Self::State: HasPart<Part, Index>,
    {
        f(self.state().part_mut())
    }

    /// Borrows the distinct parts of the types in `Parts` at once, as
    /// `HList![&mut A, &mut B, ...]`; take it apart with
    /// [`hlist_pat!`](crate::hlist_pat).
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{CoroutineShareable, HList, Stage, hlist_pat};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    /// }
    ///
    /// let mut stage = Stage::new(Game { round: 3, names: vec!["ann".into()] });
    /// let hlist_pat![names, round] = stage.parts::<HList![Vec<String>, u32], _>();
    /// for name in names.iter_mut() {
    ///     name.push_str(&round.to_string()); // both borrowed at once
    /// }
    /// *round += 1;
    /// assert_eq!(stage.state().names, ["ann3"]);
    /// ```
    #[inline]
    fn parts<Parts, Indices>(&mut self) -> <Parts as ToMut<'_>>::Output
    where
        Self::State: HasParts<Parts, Indices>,
        Parts: for<'a> ToMut<'a>,
    {
        self.state().sculpt_parts_mut()
    }

    /// Runs `f` on the distinct parts of the types in `Parts`, borrowed at
    /// once. `f` cannot reach `self`, so it cannot yield.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{CoroutineShareable, HList, Stage, hlist_pat};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    /// }
    ///
    /// let mut stage = Stage::new(Game { round: 3, names: Vec::new() });
    /// stage.with_parts::<HList![u32, Vec<String>], _, _>(|hlist_pat![round, names]| {
    ///     names.push(format!("round {round}"));
    /// });
    /// assert_eq!(stage.state().names, ["round 3"]);
    /// ```
    #[inline]
    fn with_parts<Parts, Indices, T>(
        &mut self,
        f: impl for<'a> FnOnce(<Parts as ToMut<'a>>::Output) -> T,
    ) -> T
    where
        Self::State: HasParts<Parts, Indices>,
        Parts: for<'a> ToMut<'a>,
    {
        f(self.state().sculpt_parts_mut())
    }

    /// Borrows the part named `Name` (a [`Label!`](crate::Label)), until
    /// the next use of `self`.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{CoroutineShareable, Label, Stage};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Link {
    ///     sent: u32,
    ///     errors: u32,
    /// }
    ///
    /// let mut stage = Stage::new(Link { sent: 0, errors: 0 });
    /// *stage.field::<Label!(errors), _, _>() += 1;
    /// assert_eq!((stage.state().sent, stage.state().errors), (0, 1));
    /// ```
    #[inline]
    fn field<Name, Value, Index>(&mut self) -> &mut Value
    where
        Self::State: HasField<Name, Value, Index>,
    {
        self.state().field_mut()
    }

    /// Runs `f` on the part named `Name` (a [`Label!`](crate::Label)). `f`
    /// cannot reach `self`, so it cannot yield.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{CoroutineShareable, Label, Stage};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Link {
    ///     sent: u32,
    ///     errors: u32,
    /// }
    ///
    /// let mut stage = Stage::new(Link { sent: 4, errors: 0 });
    /// let sent = stage.with_field::<Label!(sent), _, _, _>(|sent: &mut u32| *sent);
    /// assert_eq!(sent, 4);
    /// ```
    #[inline]
    fn with_field<Name, Value, Index, T>(&mut self, f: impl FnOnce(&mut Value) -> T) -> T
    where
        Self::State: HasField<Name, Value, Index>,
    {
        f(self.state().field_mut())
    }

    /// Borrows the distinct parts named in `Names`
    /// (`HList![Label!(a), Label!(b), ...]`) at once, as
    /// `HList![&mut A, &mut B, ...]` in that order.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{CoroutineShareable, HList, Label, Stage, hlist_pat};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Link {
    ///     sent: u32,
    ///     errors: u32,
    /// }
    ///
    /// let mut stage = Stage::new(Link { sent: 0, errors: 0 });
    /// let hlist_pat![sent, errors] = stage.fields::<HList![Label!(sent), Label!(errors)], _, _>();
    /// *sent += 1;
    /// *errors += *sent;
    /// assert_eq!((stage.state().sent, stage.state().errors), (1, 1));
    /// ```
    #[inline]
    fn fields<Names, Values, Indices>(&mut self) -> <Values as ToMut<'_>>::Output
    where
        Self::State: HasFields<Names, Values, Indices>,
        Values: for<'a> ToMut<'a>,
    {
        self.state().sculpt_fields_mut()
    }

    /// Runs `f` on the distinct parts named in `Names`, borrowed at once.
    /// `f` cannot reach `self`, so it cannot yield.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{CoroutineShareable, HList, Label, Stage, hlist_pat};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Link {
    ///     sent: u32,
    ///     errors: u32,
    /// }
    ///
    /// let mut stage = Stage::new(Link { sent: 10, errors: 1 });
    /// let rate = stage.with_fields::<HList![Label!(errors), Label!(sent)], _, _, _>(
    ///     |hlist_pat![errors, sent]| f64::from(*errors) / f64::from(*sent),
    /// );
    /// assert_eq!(rate, 0.1);
    /// ```
    #[inline]
    fn with_fields<Names, Values, Indices, T>(
        &mut self,
        f: impl for<'a> FnOnce(<Values as ToMut<'a>>::Output) -> T,
    ) -> T
    where
        Self::State: HasFields<Names, Values, Indices>,
        Values: for<'a> ToMut<'a>,
    {
        f(self.state().sculpt_fields_mut())
    }
}

impl<A: StateAccess + ?Sized> PartAccess for A {}

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
/// *stage.field::<Label!(_1), _, _>() += 40;
/// assert_eq!(stage.state().1, 42);
/// ```
#[cfg(feature = "derive")]
#[macro_export]
macro_rules! Label {
    ($($name:tt)*) => {
        $crate::__private::label!($crate; $($name)*)
    };
}
