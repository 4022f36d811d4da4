//! Compile-time checks of the auto traits, sizes and layouts the docs
//! promise. They are part of every build, not only of the tests.

use static_assertions::{assert_eq_size, assert_impl_all, assert_not_impl_any};

use crate::thread_bound::ThreadBound;
use crate::{
    Co, Eff, Error, Handle, Interrupt, Pure, ResumeError, Resumed, SpawnError, Stage, Yields,
};

// The marker that keeps them there costs nothing, and is the reason a
// compile error names (the pointers of the trusted core are not).
assert_not_impl_any!(ThreadBound: Send, Sync);
assert_eq_size!(ThreadBound, ());
assert_impl_all!(crate::raw::RawHandle<u8, u8, u8>: Send, Sync);

// G8: single-threaded by type, even when the state itself is `Send + Sync`.
assert_not_impl_any!(Stage<u32>: Send, Sync);
assert_not_impl_any!(Co<u32>: Send, Sync);
assert_not_impl_any!(Co<u32, u8, u8>: Send, Sync);
assert_not_impl_any!(Handle<u8, u8, u8>: Send, Sync);

// The capability cannot be duplicated or conjured.
assert_not_impl_any!(Co<u32>: Clone, Copy, Default);
assert_not_impl_any!(Stage<u32>: Clone, Default);

// Handles are plain copyable ids: 24 bytes (stage id, slot index and
// generation, and the slot's address for a lookup-free resume).
assert_impl_all!(Handle<u8, u8, u8>: Copy, Clone, Eq, std::hash::Hash, std::fmt::Debug);
assert_eq_size!(Handle<u8, u8, u8>, [u64; 3]);

// An interrupt cannot be duplicated: a coroutine that ends its own
// cancellation with it keeps no spare to forge another one with.
assert_not_impl_any!(Interrupt<Yields>: Clone, Copy, Default);

// Effects are free: interrupts are zero-sized.
assert_eq_size!(Interrupt<Yields>, ());
assert_eq_size!(Interrupt<Pure>, ());
assert_eq_size!(Eff<Yields, ()>, u8);

// Errors can travel (to a logger thread, into `anyhow`), even though the
// things that produce them cannot.
assert_impl_all!(Error: Send, Sync, std::error::Error);
assert_impl_all!(ResumeError<u8>: Send, Sync, std::error::Error);
assert_impl_all!(SpawnError<fn()>: Send, Sync, std::error::Error);
assert_impl_all!(Resumed<u8, u8>: Copy, Eq);
