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

mod access;
mod field;
mod part;
mod shareable;

pub use access::{FieldAccess, IndexedPartAccess, PartAccess};
pub use field::{FieldTypes, HasField, HasFields};
pub use part::{HasPart, HasParts};
pub use shareable::{CoroutineShareable, Several};

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
