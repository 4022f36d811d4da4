//! Derive macros for `coshare`. Do not use this crate directly: use the
//! re-exports of the `coshare` crate, which the generated code refers to.
#![forbid(unsafe_code)]

mod label;
mod shareable;

use proc_macro::TokenStream;

/// Makes a struct a shared state made of parts: implements
/// `coshare::CoroutineShareable`, so coroutines and the main stack can borrow
/// its fields one at a time or several distinct ones at once, by type or by
/// name, and helpers can be written against any state that has the part they
/// need.
///
/// ```
/// use coshare::prelude::*;
/// use coshare::{Co, CoroutineShareable, Eff, HasPart, Stage, StateAccess, Yields};
///
/// #[derive(Default)]
/// pub struct JobQueue(Vec<u32>);
///
/// /// Any state with a `JobQueue`, from the main stack or a coroutine.
/// fn enqueue<I>(access: &mut impl StateAccess<State: HasPart<JobQueue, I>>, job: u32) {
///     access.part::<JobQueue>().0.push(job);
/// }
///
/// /// A worker for any state with a `JobQueue`: waits while it is empty.
/// fn next_job<S: HasPart<JobQueue, I>, I>(co: &mut Co<S>) -> Eff<Yields, u32> {
///     loop {
///         if let Some(job) = co.part::<JobQueue>().0.pop() {
///             return Ok(job);
///         }
///         co.suspend(())?; // the queue borrow ended on the line above
///     }
/// }
///
/// #[derive(Default, CoroutineShareable)]
/// struct Scheduler {
///     queue: JobQueue,
///     done: Vec<u32>,
/// }
///
/// let mut stage = Stage::new(Scheduler::default());
/// let worker = stage
///     .spawn(|co: &mut Co<Scheduler>, ()| -> Eff<Yields, ()> {
///         loop {
///             let job = next_job(co)?;
///             co.part::<Vec<u32>>().push(job * 10);
///         }
///     })
///     .unwrap();
/// stage.resume(worker, ()).unwrap(); // nothing to do yet
/// enqueue(&mut stage, 7);
/// stage.resume(worker, ()).unwrap();
/// assert_eq!(stage.state().done, [70]);
/// ```
///
/// # What it generates
///
/// For a struct with fields `a: A, b: B`, an impl of `CoroutineShareable`
/// whose `PartsMut<'x>` is `HList![&'x mut A, &'x mut B]`, whose `Fields`
/// is `HList![Field<Label!(a), A>, Field<Label!(b), B>]`, and whose
/// `PartTypes` is `HList![A, B]` (with `Several<A>` for a type written on
/// more than one field); nothing else. The accessors come from
/// `coshare::prelude::PartAccess`:
///
/// | by type | by name | returns |
/// |---|---|---|
/// | `part::<A>()` | `field::<Label!(a)>()` | `&mut A` |
/// | `with_part(\|a: &mut A\| ..)` | `with_field::<Label!(a), _>(\|a\| ..)` | the closure's value |
/// | `parts::<HList![A, B]>()` | `fields::<HList![Label!(a), Label!(b)]>()` | `HList![&mut A, &mut B]` |
/// | `with_parts::<HList![A, B], _>(\|hlist_pat![a, b]\| ..)` | `with_fields::<.., _>(..)` | the closure's value |
///
/// Each borrows the stage or `co` mutably, exactly like `state()`: a part
/// cannot be alive at a yield point, and one call hands out each field at
/// most once. The generated code has no `unsafe`, compiles to plain field
/// borrows, and names everything through `coshare`, so local items such as
/// a `Result` type or a module called `__private` do not affect it.
///
/// # Shapes
///
/// * **Structs with named fields**: every field is a part.
/// * **Tuple structs**: every field is a part; for lookups by name the
///   fields are named `_0`, `_1`, ... (`Label!(_0)`).
/// * **Unit structs** and structs without fields: no parts.
/// * **Generic structs**: type and const parameters are supported; each type
///   parameter gets a `'static` bound, because shared state is `'static`.
///   Lifetime parameters are rejected. Where clauses are kept.
/// * **Enums, unions, `#[repr(packed)]` structs** are rejected with an error
///   that says why.
///
/// Lookups by type need each looked-up type to appear once: with two fields
/// of type `u32`, `part::<u32>()` is an error that says so; look those
/// fields up by name. (The derive compares types as written: if one type is
/// spelled two ways, or is a type parameter that turns out to be another
/// field's type, the lookup is ambiguous instead, a "type annotations
/// needed" error.)
///
/// # Attributes
///
/// `#[coshare(crate = "path")]` on the struct names the `coshare` crate when
/// it is not reachable as `coshare`, for example when it is renamed in
/// `Cargo.toml` (`cs = { package = "coshare", .. }`) or re-exported by
/// another crate:
///
/// ```
/// # extern crate coshare as cs;
/// #[derive(cs::CoroutineShareable)]
/// #[coshare(crate = "cs")]
/// struct Game {
///     round: u32,
/// }
/// # use cs::prelude::*;
/// # let mut stage = cs::Stage::new(Game { round: 1 });
/// # assert_eq!(*stage.part::<u32>(), 1);
/// ```
///
/// There are no field attributes: to leave a field out of the parts,
/// implement `CoroutineShareable` by hand (see its documentation).
///
/// # Errors
///
/// ```compile_fail
/// #[derive(coshare::CoroutineShareable)]
/// enum Phase { // error: `CoroutineShareable` can only be derived for structs: ...
///     Lobby,
///     Playing { round: u32 },
/// }
/// ```
///
/// ```compile_fail
/// #[derive(coshare::CoroutineShareable)]
/// struct View<'a> { // error: ... struct with lifetime parameters: shared state must be `'static` ...
///     names: &'a [String],
/// }
/// ```
#[proc_macro_derive(CoroutineShareable, attributes(coshare))]
pub fn derive_coroutine_shareable(input: TokenStream) -> TokenStream {
    syn::parse::<syn::DeriveInput>(input)
        .and_then(|input| shareable::derive(&input))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The implementation of `coshare::Label!`, which passes `$crate` first:
/// `__label!($crate; name)`. Do not use directly.
#[doc(hidden)]
#[proc_macro]
pub fn __label(input: TokenStream) -> TokenStream {
    label::label_macro(input.into()).into()
}
