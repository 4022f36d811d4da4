//! [`Invariant`]: the variance marker of the core's types.

/// A marker that makes a type invariant in `T`, as `PhantomData<*mut T>`
/// would, but is `Send` and `Sync` (see the module docs, Layering: what keeps the public
/// types on their thread is their `ThreadBound` marker).
pub(super) type Invariant<T> = std::marker::PhantomData<fn(T) -> T>;
