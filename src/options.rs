//! [`SpawnOptions`]: per-coroutine settings, and the stack sizes they
//! choose from.

/// The largest stack size a coroutine may ask for: 1 GiB.
pub const MAX_STACK_SIZE: usize = 1 << 30;

/// The default stack size: 256 KiB of address space. Only the pages a
/// coroutine touches take memory.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Per-coroutine settings for [`Stage::spawn_with`](crate::Stage::spawn_with)
/// and [`Co::spawn_with`](crate::Co::spawn_with).
///
/// ```
/// use coshare::SpawnOptions;
///
/// let options = SpawnOptions::new().name("reader").stack_size(64 * 1024);
/// ```
#[derive(Clone, Debug, Default)]
pub struct SpawnOptions {
    pub(crate) name: Option<Box<str>>,
    pub(crate) stack_size: Option<usize>,
}

impl SpawnOptions {
    /// Default settings: no name, the stage's stack size.
    pub fn new() -> Self {
        Self::default()
    }

    /// A name, shown in error messages.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// The usable stack size in bytes, rounded up to whole pages; a guard
    /// page is added below it. Zero, or more than
    /// [`MAX_STACK_SIZE`], makes the spawn fail with
    /// [`ErrorKind::InvalidStackSize`](crate::ErrorKind::InvalidStackSize).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }
}
