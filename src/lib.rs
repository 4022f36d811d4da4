#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(unix))]
compile_error!("coshare runs on Unix targets (it uses guarded mmap stacks)");

mod access;
mod assertions;
mod co;
pub mod driver;
mod effect;
mod error;
mod handle;
#[allow(unsafe_code)]
mod raw;
mod stage;

pub use access::StateAccess;
pub use co::Co;
pub use effect::{
    Eff, EffExt, Effect, EffectBit, Interrupt, Join, JoinEffect, Pure, PureExt, SubEffect, Yields,
};
pub use error::{CoroutineId, Error, ErrorKind, ResumeError, SpawnError};
pub use handle::Handle;
pub use raw::{DEFAULT_STACK_SIZE, MAX_STACK_SIZE};
pub use stage::{Resumed, SpawnOptions, StackUsage, Stage, StageBuilder, Stats};

/// The extension traits, for their methods: `use coshare::prelude::*;`.
pub mod prelude {
    #[doc(no_inline)]
    pub use crate::effect::{EffExt, PureExt};
}
