//! [`CoroutineShareable`]: a struct made of parts, and [`Several`], which
//! marks a type that more than one of its fields has.

use std::marker::PhantomData;

/// A struct whose fields are *parts* that coroutines and the main stack can
/// borrow one at a time, or several distinct ones at once, between yield
/// points.
///
/// Implement it with `#[derive(CoroutineShareable)]` (feature `derive`, on
/// by default), then use the part accessors of [`PartAccess`](super::PartAccess) and
/// [`FieldAccess`](super::FieldAccess) on the
/// [`Stage`](crate::Stage) and on `co`, and write helpers against
/// [`HasPart`](super::HasPart) (by type) or [`HasField`](super::HasField) (by name) instead of a concrete
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
    /// Prefer the accessors of [`PartAccess`](super::PartAccess) and [`FieldAccess`](super::FieldAccess) on the
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
