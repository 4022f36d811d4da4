//! The accessors: [`PartAccess`] (by type) and [`FieldAccess`] (by name),
//! on the stage and on `co`, and the same with the positions spelled out,
//! [`IndexedPartAccess`].

use frunk::traits::ToMut;

use super::field::{HasField, HasFields};
use super::part::{HasPart, HasParts};
use crate::access::StateAccess;

/// Part accessors by type, for the [`Stage`](crate::Stage), for `co`, and
/// for anything else that implements [`StateAccess`]; in
/// `coshare::prelude`. Lookups by field name are in [`FieldAccess`].
///
/// A call names only what it looks up: a type (`part::<JobQueue>()`) or a
/// list of types (`parts::<HList![A, B]>()`). Where the part is, its
/// position, is this trait's parameter `Index`, which the compiler infers,
/// as it infers the target of `into()`; nobody writes it.
///
/// Every method takes `&mut self`, like [`Co::state`](crate::Co::state): a
/// part borrows the accessor until its last use, so it cannot be alive at a
/// yield point, and while it is alive the accessor cannot be used for
/// anything else. To hold two parts at once, borrow them together with
/// [`parts`](PartAccess::parts) or [`fields`](FieldAccess::fields).
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
///     let round = co.part::<u32>();
///     co.suspend(())?; // error[E0499]: `*co` is still borrowed by `round`
///     *round += 1;
///     Ok(())
/// });
/// ```
///
/// The same methods work in helpers generic over the state: give the
/// helper the bound ([`HasPart`], [`HasParts`]) with a type parameter for
/// the position, and call the accessor as above.
pub trait PartAccess<Index>: StateAccess {
    /// Borrows the part of type `Part`, until the next use of `self`.
    ///
    /// ```
    /// use coshare::prelude::*;
    /// use coshare::{Co, CoroutineShareable, Stage};
    ///
    /// #[derive(CoroutineShareable)]
    /// struct Game {
    ///     round: u32,
    ///     names: Vec<String>,
    /// }
    ///
    /// let mut stage = Stage::new(Game { round: 0, names: Vec::new() });
    /// let h = stage
    ///     .spawn(|co: &mut Co<Game>, ()| {
    ///         co.part::<Vec<String>>().push("ann".into());
    ///         co.suspend(())?;
    ///         co.part::<Vec<String>>().push("bob".into());
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// stage.resume(h, ()).unwrap();
    /// *stage.part::<u32>() += 1; // the main stack's turn
    /// stage.resume(h, ()).unwrap();
    /// assert_eq!(stage.state().names, ["ann", "bob"]);
    /// assert_eq!(stage.state().round, 1);
    /// ```
    #[inline]
    fn part<Part>(&mut self) -> &mut Part
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
    fn with_part<Part, T>(&mut self, f: impl FnOnce(&mut Part) -> T) -> T
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
    /// let hlist_pat![names, round] = stage.parts::<HList![Vec<String>, u32]>();
    /// for name in names.iter_mut() {
    ///     name.push_str(&round.to_string()); // both borrowed at once
    /// }
    /// *round += 1;
    /// assert_eq!(stage.state().names, ["ann3"]);
    /// ```
    #[inline]
    fn parts<Parts>(&mut self) -> <Parts as ToMut<'_>>::Output
    where
        Self::State: HasParts<Parts, Index>,
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
    /// stage.with_parts::<HList![u32, Vec<String>], _>(|hlist_pat![round, names]| {
    ///     names.push(format!("round {round}"));
    /// });
    /// assert_eq!(stage.state().names, ["round 3"]);
    /// ```
    #[inline]
    fn with_parts<Parts, T>(
        &mut self,
        f: impl for<'a> FnOnce(<Parts as ToMut<'a>>::Output) -> T,
    ) -> T
    where
        Self::State: HasParts<Parts, Index>,
        Parts: for<'a> ToMut<'a>,
    {
        f(self.state().sculpt_parts_mut())
    }
}

impl<A: StateAccess + ?Sized, Index> PartAccess<Index> for A {}

/// Part accessors by field name, for the [`Stage`](crate::Stage), for `co`,
/// and for anything else that implements [`StateAccess`]; in
/// `coshare::prelude`. The by-name counterpart of [`PartAccess`], with the
/// same borrow rules.
///
/// A call names only the field, `field::<Label!(log)>()`, or a list of
/// fields, `fields::<HList![Label!(a), Label!(b)]>()`. The trait's
/// parameters are what the compiler finds: `Index`, the position, and
/// `Value`, the field's type (or the list of their types); nobody writes
/// them. (They are parameters of the trait, not of the methods, so that a
/// call needs no `_` for them, and so that a name the state lacks is one
/// error, not two.)
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{Co, CoroutineShareable, Label, Stage};
///
/// #[derive(Default, CoroutineShareable)]
/// struct Link {
///     sent: u32,
///     errors: u32, // same type as `sent`: told apart by name
/// }
///
/// let mut stage = Stage::new(Link::default());
/// let h = stage
///     .spawn(|co: &mut Co<Link>, ()| {
///         *co.field::<Label!(sent)>() += 1;
///         co.suspend(())?;
///         *co.field::<Label!(errors)>() += 1;
///         Ok(())
///     })
///     .unwrap();
/// stage.resume(h, ()).unwrap();
/// *stage.field::<Label!(sent)>() += 10; // the main stack's turn
/// stage.resume(h, ()).unwrap();
/// assert_eq!((stage.state().sent, stage.state().errors), (11, 1));
/// ```
pub trait FieldAccess<Index, Value>: StateAccess {
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
    /// *stage.field::<Label!(errors)>() += 1;
    /// assert_eq!((stage.state().sent, stage.state().errors), (0, 1));
    /// ```
    #[inline]
    fn field<Name>(&mut self) -> &mut Value
    where
        Self::State: HasField<Name, Index, Value = Value>,
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
    /// let sent = stage.with_field::<Label!(sent), _>(|sent| *sent);
    /// assert_eq!(sent, 4);
    /// ```
    #[inline]
    fn with_field<Name, T>(&mut self, f: impl FnOnce(&mut Value) -> T) -> T
    where
        Self::State: HasField<Name, Index, Value = Value>,
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
    /// let hlist_pat![sent, errors] = stage.fields::<HList![Label!(sent), Label!(errors)]>();
    /// *sent += 1;
    /// *errors += *sent;
    /// assert_eq!((stage.state().sent, stage.state().errors), (1, 1));
    /// ```
    #[inline]
    fn fields<Names>(&mut self) -> <Value as ToMut<'_>>::Output
    where
        Self::State: HasFields<Names, Index, Values = Value>,
        Value: for<'a> ToMut<'a>,
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
    /// let rate = stage.with_fields::<HList![Label!(errors), Label!(sent)], _>(
    ///     |hlist_pat![errors, sent]| f64::from(*errors) / f64::from(*sent),
    /// );
    /// assert_eq!(rate, 0.1);
    /// ```
    #[inline]
    fn with_fields<Names, T>(
        &mut self,
        f: impl for<'a> FnOnce(<Value as ToMut<'a>>::Output) -> T,
    ) -> T
    where
        Self::State: HasFields<Names, Index, Values = Value>,
        Value: for<'a> ToMut<'a>,
    {
        f(self.state().sculpt_fields_mut())
    }
}

impl<A: StateAccess + ?Sized, Index, Value> FieldAccess<Index, Value> for A {}

/// The accessors of [`PartAccess`] and [`FieldAccess`] with the position as
/// a method parameter,
/// written `_`: `part::<JobQueue, _>()`, `field::<Label!(log), Log, _>()`
/// (name, type, position), `parts::<HList![A, B], _>()`, and so on.
///
/// This is the form of earlier releases, kept for code written against it.
/// It is not in `coshare::prelude`: its methods have the same names as
/// those of [`PartAccess`] and [`FieldAccess`], so import one or the
/// others.
///
/// ```
/// use coshare::parts::IndexedPartAccess;
/// use coshare::{CoroutineShareable, Label, Stage};
///
/// #[derive(CoroutineShareable)]
/// struct Link {
///     sent: u32,
///     errors: u32,
///     name: String,
/// }
///
/// let mut stage = Stage::new(Link { sent: 0, errors: 0, name: String::new() });
/// stage.part::<String, _>().push_str("uplink");
/// *stage.field::<Label!(errors), u32, _>() += 1;
/// assert_eq!((stage.state().errors, stage.state().name.as_str()), (1, "uplink"));
/// ```
pub trait IndexedPartAccess: StateAccess {
    /// As [`PartAccess::part`].
    #[inline]
    fn part<Part, Index>(&mut self) -> &mut Part
    where
        Self::State: HasPart<Part, Index>,
    {
        self.state().part_mut()
    }

    /// As [`PartAccess::with_part`].
    #[inline]
    fn with_part<Part, Index, T>(&mut self, f: impl FnOnce(&mut Part) -> T) -> T
    where
        Self::State: HasPart<Part, Index>,
    {
        f(self.state().part_mut())
    }

    /// As [`PartAccess::parts`].
    #[inline]
    fn parts<Parts, Indices>(&mut self) -> <Parts as ToMut<'_>>::Output
    where
        Self::State: HasParts<Parts, Indices>,
        Parts: for<'a> ToMut<'a>,
    {
        self.state().sculpt_parts_mut()
    }

    /// As [`PartAccess::with_parts`].
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

    /// As [`FieldAccess::field`], with the field's type `Value`.
    #[inline]
    fn field<Name, Value, Index>(&mut self) -> &mut Value
    where
        Self::State: HasField<Name, Index, Value = Value>,
    {
        self.state().field_mut()
    }

    /// As [`FieldAccess::with_field`], with the field's type `Value`.
    #[inline]
    fn with_field<Name, Value, Index, T>(&mut self, f: impl FnOnce(&mut Value) -> T) -> T
    where
        Self::State: HasField<Name, Index, Value = Value>,
    {
        f(self.state().field_mut())
    }

    /// As [`FieldAccess::fields`], with the fields' types `Values`.
    #[inline]
    fn fields<Names, Values, Indices>(&mut self) -> <Values as ToMut<'_>>::Output
    where
        Self::State: HasFields<Names, Indices, Values = Values>,
        Values: for<'a> ToMut<'a>,
    {
        self.state().sculpt_fields_mut()
    }

    /// As [`FieldAccess::with_fields`], with the fields' types `Values`.
    #[inline]
    fn with_fields<Names, Values, Indices, T>(
        &mut self,
        f: impl for<'a> FnOnce(<Values as ToMut<'a>>::Output) -> T,
    ) -> T
    where
        Self::State: HasFields<Names, Indices, Values = Values>,
        Values: for<'a> ToMut<'a>,
    {
        f(self.state().sculpt_fields_mut())
    }
}

impl<A: StateAccess + ?Sized> IndexedPartAccess for A {}
