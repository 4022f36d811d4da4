//! Lookups by type: [`HasPart`] and [`HasParts`].

use frunk::hlist::{Plucker, Sculptor};
use frunk::traits::ToMut;

use super::shareable::CoroutineShareable;

/// A shared state with exactly one part of type `Part`: the bound to write
/// on a helper that works with any state holding a `Part`.
///
/// `Index` is the part's position, found by the compiler (frunk's
/// `Plucker`); it is never written out: name it as a type parameter of the
/// helper (`S: HasPart<JobQueue, I>`) and the accessors infer it.
/// Implemented for every [`CoroutineShareable`] state that has exactly one
/// field of type `Part` (with two, a lookup by type cannot choose: use
/// [`HasField`](super::HasField), by name).
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
///     access.part::<Log>().0.push(line.to_owned());
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
    message = "the shared state `{Self}` has no part of type `{Part}` that a lookup by type can find",
    label = "`{Self}` has no field of type `{Part}`, or more than one",
    note = "a lookup by type needs exactly one field of type `{Part}` in `{Self}`: add one, or ask for the type of one of its fields; fields that share a type are looked up by name, as in `field::<Label!(name)>()`",
    note = "in a helper generic over the state `S`, add the bound `S: HasPart<{Part}, I>`, with `I` a type parameter of the helper; `I` is the part's position (`Here`, `There<..>`), which the compiler infers and nobody writes"
)]
pub trait HasPart<Part, Index>: CoroutineShareable {
    /// Borrows the part. Prefer [`PartAccess::part`](super::PartAccess::part)
    /// on the stage or `co`.
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
    S::PartTypes: Plucker<Part, Index>,
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
/// `Parts` is written `HList![A, B, ...]`; each type must be the type of
/// exactly one field, and a different field for each (frunk's `Sculptor`),
/// so the borrows never overlap. `Indices` is found by the compiler; name
/// it as a type parameter of the helper.
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
///     let hlist_pat![inbox, archive] = access.parts::<HList![Inbox, Archive]>();
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
/// stage.part::<Inbox>().0.push("hello".into());
/// archive_all(&mut stage);
/// assert_eq!(stage.state().archive.0, ["hello"]);
/// ```
#[diagnostic::on_unimplemented(
    message = "the shared state `{Self}` has no distinct parts of types `{Parts}` that a lookup by type can find",
    label = "cannot borrow parts `{Parts}` of `{Self}` at once",
    note = "each type in the list must be the type of exactly one field of `{Self}`, and a different field for each: a field cannot be borrowed twice, and fields that share a type are borrowed by name, with `fields::<HList![Label!(a), Label!(b)]>()`",
    note = "`Indices` (the `Here`/`There<..>` list) are the positions the compiler searched for; they are inferred, and nobody writes them"
)]
pub trait HasParts<Parts, Indices>: CoroutineShareable
where
    Parts: for<'a> ToMut<'a>,
{
    /// Borrows the parts, as `HList![&mut A, &mut B, ...]`. Prefer
    /// [`PartAccess::parts`](super::PartAccess::parts) on the stage or `co`.
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
    S::PartTypes: Sculptor<Parts, Indices>,
    for<'a> S::PartsMut<'a>: Sculptor<<Parts as ToMut<'a>>::Output, Indices>,
{
    #[inline]
    fn sculpt_parts_mut(&mut self) -> <Parts as ToMut<'_>>::Output {
        self.parts_mut().sculpt().0
    }
}
