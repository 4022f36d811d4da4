//! Lookups by name: [`HasField`], [`FieldTypes`] and [`HasFields`].

use frunk::hlist::{HCons, HNil, Plucker, Sculptor};
use frunk::labelled::ByNameFieldPlucker;
use frunk::traits::ToMut;

use super::shareable::CoroutineShareable;

/// A shared state with a part named `Name`: the bound for a helper that
/// finds its part by field name, e.g. when the state has several parts of
/// the same type.
///
/// `Name` is a label, written [`Label!(field_name)`](crate::Label); field
/// names are compared at compile time (frunk's `ByNameFieldPlucker`), so two
/// unrelated state structs that both have a field `jobs: JobQueue` satisfy
/// the same bound. The field's type is [`Value`](HasField::Value); to
/// require one, write `HasField<Label!(jobs), I, Value = JobQueue>`.
/// `Index` is found by the compiler; name it as a type parameter of the
/// helper.
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, HasField, Label, Stage, StateAccess};
///
/// /// Counts into the field named `errors`, whatever the state.
/// fn count_error<I>(access: &mut impl StateAccess<State: HasField<Label!(errors), I, Value = u32>>) {
///     *access.field::<Label!(errors)>() += 1;
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
    message = "the shared state `{Self}` has no part named `{Name}`",
    label = "no field `{Name}` in `{Self}`",
    note = "a name is spelled `Label!(field_name)`, which is a tuple of letter types: `(j, o, b, s)` is the field `jobs`; check the field's name",
    note = "in a helper generic over the state `S`, add the bound `S: HasField<Label!(field_name), I>`, with `I` a type parameter of the helper; `I` is the field's position (`Here`, `There<..>`), which the compiler infers and nobody writes"
)]
pub trait HasField<Name, Index>: CoroutineShareable {
    /// The field's type.
    type Value;

    /// Borrows the field. Prefer [`FieldAccess::field`](super::FieldAccess::field)
    /// on the stage or `co`.
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
    /// *HasField::<Label!(sent), _>::field_mut(&mut link) += 1;
    /// assert_eq!(link.sent, 1);
    /// ```
    fn field_mut(&mut self) -> &mut Self::Value;
}

#[diagnostic::do_not_recommend]
impl<S, Name, Index> HasField<Name, Index> for S
where
    S: CoroutineShareable,
    S::Fields: ByNameFieldPlucker<Name, Index>,
    for<'a> S::PartsMut<'a>:
        Plucker<&'a mut <S::Fields as ByNameFieldPlucker<Name, Index>>::TargetValue, Index>,
{
    type Value = <S::Fields as ByNameFieldPlucker<Name, Index>>::TargetValue;

    #[inline]
    fn field_mut(&mut self) -> &mut Self::Value {
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

/// A shared state with distinct parts named by the labels in `Names`: the
/// by-name counterpart of [`HasParts`](super::HasParts).
///
/// `Names` is `HList![Label!(a), Label!(b), ...]`; each name must be a
/// different field. Their types are [`Values`](HasFields::Values); to
/// require them, write `HasFields<Names, I, Values = HList![A, B]>`.
/// `Indices` is found by the compiler; name it as a type parameter of the
/// helper.
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{CoroutineShareable, HList, HasFields, Label, Stage, StateAccess, hlist_pat};
///
/// type Names = HList![Label!(sent), Label!(errors)];
///
/// fn record<I>(
///     access: &mut impl StateAccess<State: HasFields<Names, I, Values = HList![u32, u32]>>,
///     ok: bool,
/// ) -> f64 {
///     let hlist_pat![sent, errors] = access.fields::<Names>();
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
    message = "the shared state `{Self}` has no distinct parts named `{Names}`",
    label = "cannot borrow parts `{Names}` of `{Self}` at once",
    note = "each `Label!(..)` in the list must name a different field of `{Self}`; a field cannot be borrowed twice",
    note = "`Indices` (the `Here`/`There<..>` list) are the positions the compiler searched for; they are inferred, and nobody writes them"
)]
pub trait HasFields<Names, Indices>: CoroutineShareable {
    /// The fields' types, as an HList in the order of `Names`.
    type Values: for<'a> ToMut<'a>;

    /// Borrows the fields, as `HList![&mut A, &mut B, ...]` in the order of
    /// `Names`. Prefer [`FieldAccess::fields`](super::FieldAccess::fields) on
    /// the stage or `co`.
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
    ///     HasFields::<HList![Label!(errors), Label!(sent)], _>::sculpt_fields_mut(&mut link);
    /// *errors += 1;
    /// *sent += 2;
    /// assert_eq!((link.sent, link.errors), (2, 1));
    /// ```
    fn sculpt_fields_mut(&mut self) -> <Self::Values as ToMut<'_>>::Output;
}

#[diagnostic::do_not_recommend]
impl<S, Names, Indices> HasFields<Names, Indices> for S
where
    S: CoroutineShareable,
    S::Fields: FieldTypes<Names, Indices>,
    <S::Fields as FieldTypes<Names, Indices>>::Values: for<'a> ToMut<'a>,
    for<'a> S::PartsMut<'a>:
        Sculptor<<<S::Fields as FieldTypes<Names, Indices>>::Values as ToMut<'a>>::Output, Indices>,
{
    type Values = <S::Fields as FieldTypes<Names, Indices>>::Values;

    #[inline]
    fn sculpt_fields_mut(&mut self) -> <Self::Values as ToMut<'_>>::Output {
        self.parts_mut().sculpt().0
    }
}
