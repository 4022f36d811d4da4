//! Typed errors for misuse and resource exhaustion.
//!
//! Every misuse the crate can detect is an [`Error`] with an [`ErrorKind`]
//! and a message that says what happened and what to do. Errors never lose
//! what the caller handed in: a failed resume gives the input back
//! ([`ResumeError::into_input`]), a failed spawn gives the body back
//! ([`SpawnError::into_body`]).

use std::fmt;
use std::io;

use crate::options::MAX_STACK_SIZE;

/// Identifies a coroutine inside its stage: a slot index and the slot's
/// generation. Shown as `#index.generation`, e.g. `#3.0`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CoroutineId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl CoroutineId {
    /// The slot index. Slots are reused, so this alone does not identify a
    /// coroutine; the pair (index, generation) does.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many coroutines occupied this slot before this one.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

impl fmt::Display for CoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

impl fmt::Debug for CoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What went wrong. Matches the variants of the messages in [`Error`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The coroutine already returned; it cannot run again.
    Finished,
    /// The coroutine was cancelled; it cannot run again.
    Cancelled,
    /// The coroutine panicked (the panic went to whoever resumed it); it
    /// cannot run again.
    Panicked,
    /// The coroutine is running: it is the caller, or it is resuming the
    /// caller, directly or through other coroutines. Such a coroutine cannot
    /// be resumed or cancelled until control comes back to it.
    Running,
    /// The handle is stale: its coroutine ended and the slot now holds
    /// another coroutine.
    Stale,
    /// The handle was made by another stage.
    ForeignStage,
    /// A stack size of zero or more than [`MAX_STACK_SIZE`].
    InvalidStackSize,
    /// The stage's own budget of live coroutines
    /// ([`StageBuilder::max_coroutines`](crate::StageBuilder::max_coroutines))
    /// is reached.
    Budget,
    /// The process-wide limit on guarded stacks is reached. On Linux it
    /// follows from `vm.max_map_count`: each stack takes two memory maps.
    StackLimit,
    /// The operating system refused to map a stack (usually: out of memory).
    StackAllocation,
}

/// What went wrong, with what the message needs to say it. The
/// [`ErrorKind`] of an [`Error`] is derived from this, so the two cannot
/// disagree.
#[derive(Debug)]
pub(crate) enum Detail {
    Finished,
    Cancelled,
    Panicked,
    Running,
    Stale,
    ForeignStage {
        handle: u64,
        this: u64,
    },
    InvalidStackSize {
        requested: usize,
    },
    Budget {
        limit: usize,
    },
    StackLimit {
        mapped: usize,
        limit: usize,
        max_map_count: Option<usize>,
    },
    StackAllocation {
        size: usize,
        source: io::Error,
    },
}

impl Detail {
    fn kind(&self) -> ErrorKind {
        match self {
            Detail::Finished => ErrorKind::Finished,
            Detail::Cancelled => ErrorKind::Cancelled,
            Detail::Panicked => ErrorKind::Panicked,
            Detail::Running => ErrorKind::Running,
            Detail::Stale => ErrorKind::Stale,
            Detail::ForeignStage { .. } => ErrorKind::ForeignStage,
            Detail::InvalidStackSize { .. } => ErrorKind::InvalidStackSize,
            Detail::Budget { .. } => ErrorKind::Budget,
            Detail::StackLimit { .. } => ErrorKind::StackLimit,
            Detail::StackAllocation { .. } => ErrorKind::StackAllocation,
        }
    }
}

/// An error from a stage or coroutine operation. See [`ErrorKind`] for the
/// cases; [`Display`](fmt::Display) gives a message meant for a person.
pub struct Error {
    coroutine: Option<CoroutineId>,
    name: Option<Box<str>>,
    detail: Detail,
}

impl Error {
    pub(crate) fn new(detail: Detail, coroutine: Option<CoroutineId>) -> Self {
        Error {
            coroutine,
            name: None,
            detail,
        }
    }

    pub(crate) fn with_name(mut self, name: Option<&str>) -> Self {
        self.name = name.map(Box::from);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.detail.kind()
    }

    /// The coroutine the failed operation was aimed at, if any.
    pub fn coroutine(&self) -> Option<CoroutineId> {
        self.coroutine
    }

    /// The name of that coroutine, if it had one.
    pub fn coroutine_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn who(&self) -> Who<'_> {
        Who(self)
    }
}

struct Who<'a>(&'a Error);

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.name, self.0.coroutine) {
            (Some(name), Some(id)) => write!(f, "coroutine `{name}` ({id})"),
            (None, Some(id)) => write!(f, "coroutine {id}"),
            (_, None) => f.write_str("the coroutine"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = self.who();
        match &self.detail {
            Detail::Finished => write!(
                f,
                "{who} has already returned and cannot run again; spawn a new coroutine instead"
            ),
            Detail::Cancelled => {
                write!(f, "{who} was cancelled and cannot run again")
            }
            Detail::Panicked => write!(
                f,
                "{who} panicked earlier (the panic went to its resumer) and cannot run again"
            ),
            Detail::Running => write!(
                f,
                "{who} is running: it is the caller, or it is resuming the caller \
                 (directly or through other coroutines); a coroutine on the resume \
                 chain cannot be resumed or cancelled until control returns to it"
            ),
            Detail::Stale => write!(
                f,
                "the handle to {who} is stale: that coroutine ended and its slot now \
                 holds another coroutine; keep the result of the coroutine instead of its handle"
            ),
            Detail::ForeignStage { handle, this } => write!(
                f,
                "the handle to {who} was made by stage {handle}, but was used on stage {this}; \
                 a handle only works on the stage that spawned its coroutine"
            ),
            Detail::InvalidStackSize { requested } => write!(
                f,
                "invalid coroutine stack size of {requested} bytes: it must be at least 1 \
                 and at most {} bytes (1 GiB); the size is rounded up to whole pages \
                 and a guard page is added",
                MAX_STACK_SIZE
            ),
            Detail::Budget { limit } => write!(
                f,
                "this stage already has {limit} live coroutines, its budget \
                 (StageBuilder::max_coroutines); let some finish, cancel them, or raise the budget"
            ),
            Detail::StackLimit {
                mapped,
                limit,
                max_map_count,
            } => {
                write!(
                    f,
                    "cannot map another coroutine stack: {mapped} guarded stacks are mapped \
                     in this process and the limit is {limit}"
                )?;
                match max_map_count {
                    Some(count) => write!(
                        f,
                        ", derived from the kernel setting vm.max_map_count = {count} \
                         (each stack takes two memory maps); raise it, for example \
                         `sysctl -w vm.max_map_count={}`, or let coroutines finish",
                        count.saturating_mul(4)
                    ),
                    None => f.write_str("; let coroutines finish before spawning more"),
                }
            }
            Detail::StackAllocation { size, source } => write!(
                f,
                "the operating system refused to map a coroutine stack of {size} bytes \
                 ({source}); the process may be out of memory or address space, or a \
                 smaller stack size may do"
            ),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind())
            .field("coroutine", &self.coroutine)
            .field("name", &self.name)
            .field("message", &format_args!("{self}"))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.detail {
            Detail::StackAllocation { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A failed resume. Holds the [`Error`] and gives back the input that was
/// not delivered.
pub struct ResumeError<I> {
    error: Error,
    input: I,
}

impl<I> ResumeError<I> {
    pub(crate) fn new(error: Error, input: I) -> Self {
        ResumeError { error, input }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    /// The error, without the input.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Gives back the input that was not delivered.
    pub fn into_input(self) -> I {
        self.input
    }

    /// Splits into the error and the undelivered input.
    pub fn into_parts(self) -> (Error, I) {
        (self.error, self.input)
    }
}

impl<I> From<ResumeError<I>> for Error {
    fn from(err: ResumeError<I>) -> Error {
        err.error
    }
}

impl<I> fmt::Display for ResumeError<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot resume: {}", self.error)
    }
}

impl<I> fmt::Debug for ResumeError<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResumeError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<I> std::error::Error for ResumeError<I> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A failed spawn. Holds the [`Error`] and gives back the body, which was
/// not run and not dropped.
pub struct SpawnError<F> {
    error: Error,
    body: F,
}

impl<F> SpawnError<F> {
    pub(crate) fn new(error: Error, body: F) -> Self {
        SpawnError { error, body }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    /// The error, without the body.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Gives back the body that was not spawned.
    pub fn into_body(self) -> F {
        self.body
    }

    /// Splits into the error and the body.
    pub fn into_parts(self) -> (Error, F) {
        (self.error, self.body)
    }
}

impl<F> From<SpawnError<F>> for Error {
    fn from(err: SpawnError<F>) -> Error {
        err.error
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot spawn: {}", self.error)
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<F> std::error::Error for SpawnError<F> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
