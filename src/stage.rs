//! The [`Stage`]: owner of the shared state and of the coroutines.

use std::fmt;

use crate::co::{Co, CoBody, spawned};
use crate::effect::{Eff, Yields};
use crate::error::{Error, ResumeError, SpawnError};
use crate::handle::Handle;
use crate::options::{DEFAULT_STACK_SIZE, SpawnOptions};
use crate::raw::{self, CoreConfig, Owner};
use crate::resumed::Resumed;
use crate::stats::{StackUsage, Stats};
use crate::thread_bound::ThreadBound;

/// Settings for a new [`Stage`].
///
/// ```
/// use coshare::StageBuilder;
///
/// # fn main() -> Result<(), coshare::Error> {
/// let stage = StageBuilder::new()
///     .stack_size(64 * 1024)?
///     .max_coroutines(10_000)
///     .max_pooled_stacks(256)
///     .build(Vec::<u32>::new());
/// # drop(stage);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct StageBuilder {
    stack_size: usize,
    max_pooled_stacks: usize,
    max_coroutines: usize,
}

impl Default for StageBuilder {
    fn default() -> Self {
        StageBuilder {
            stack_size: DEFAULT_STACK_SIZE,
            max_pooled_stacks: 1024,
            max_coroutines: usize::MAX,
        }
    }
}

impl StageBuilder {
    /// Default settings: 256 KiB stacks, up to 1024 pooled stacks, no budget
    /// of its own (the process-wide stack limit still applies).
    pub fn new() -> Self {
        Self::default()
    }

    /// The default usable stack size of the stage's coroutines, in bytes,
    /// rounded up to whole pages. Fails with
    /// [`ErrorKind::InvalidStackSize`](crate::ErrorKind::InvalidStackSize) for
    /// zero or more than [`MAX_STACK_SIZE`](crate::MAX_STACK_SIZE).
    pub fn stack_size(mut self, bytes: usize) -> Result<Self, Error> {
        self.stack_size = raw::round_stack_size(bytes)?;
        Ok(self)
    }

    /// How many stacks of finished coroutines the stage keeps for reuse.
    pub fn max_pooled_stacks(mut self, count: usize) -> Self {
        self.max_pooled_stacks = count;
        self
    }

    /// The most coroutines that may be live at once in this stage; `spawn`
    /// beyond it fails with [`ErrorKind::Budget`](crate::ErrorKind::Budget).
    pub fn max_coroutines(mut self, count: usize) -> Self {
        self.max_coroutines = count;
        self
    }

    /// Creates the stage, owning `state`.
    pub fn build<S: 'static>(self, state: S) -> Stage<S> {
        Stage {
            _thread: ThreadBound::new(),
            owner: Owner::new(
                state,
                CoreConfig {
                    stack_size: self.stack_size,
                    max_pooled_stacks: self.max_pooled_stacks,
                    max_coroutines: self.max_coroutines,
                },
            ),
        }
    }
}

/// One thread's set of coroutines and the state they share.
///
/// The stage owns the state `S` and every coroutine spawned on it. The main
/// stack (the code that owns the stage) reads and writes the state between
/// resumes, each coroutine between its own yield points; the borrow checker
/// enforces both.
///
/// ```
/// use coshare::{Resumed, Stage};
///
/// #[derive(Default)]
/// struct Counter {
///     events: u32,
/// }
///
/// let mut stage = Stage::new(Counter::default());
/// // The body's types are inferred: the state from the stage, the input from
/// // the pattern `mut event: &str`, the yields from `suspend`'s argument, the
/// // return value from `Ok(())`.
/// let h = stage
///     .spawn(|co, mut event: &'static str| {
///         while event != "stop" {
///             let seen = co.with_state(|s| {
///                 s.events += 1;
///                 s.events
///             });
///             event = co.suspend(seen)?;
///         }
///         Ok(())
///     })
///     .unwrap();
///
/// assert_eq!(stage.resume(h, "a").unwrap(), Resumed::Yield(1));
/// stage.state().events += 10; // the main stack's turn
/// assert_eq!(stage.resume(h, "b").unwrap(), Resumed::Yield(12));
/// assert_eq!(stage.resume(h, "stop").unwrap(), Resumed::Return(()));
/// ```
///
/// # Dropping
///
/// Dropping the stage cancels every live coroutine in slot order (including
/// any spawned by cleanup code while tearing down), each as
/// [`cancel`](Stage::cancel) does, then drops the state. Cleanup code may
/// still use the state. If cleanup code panics, the other coroutines are
/// still torn down and the state dropped; then the first panic is resumed
/// (unless the thread is already panicking). A stage dropped while the
/// thread panics tears down the same way, within the bounds that `cancel`
/// documents for that case, so the drop always ends. Use
/// [`into_state`](Stage::into_state) to keep the state.
///
/// `Stage` is `!Send` and `!Sync`, and invariant in `S`.
pub struct Stage<S: 'static> {
    owner: Owner<S>,
    /// Keeps the stage on its thread; what a compile error names.
    _thread: ThreadBound,
}

impl<S: 'static> Stage<S> {
    /// Creates a stage with default settings (see [`StageBuilder`]).
    pub fn new(state: S) -> Self {
        StageBuilder::new().build(state)
    }

    /// The shared state, borrowed until the next use of the stage.
    #[inline]
    pub fn state(&mut self) -> &mut S {
        self.owner.state()
    }

    /// Runs `f` on the shared state. `f` cannot reach the stage, so it cannot
    /// resume anything. What `f` returns cannot borrow from the state (see
    /// [`Co::with_state`]); use [`state`](Stage::state) for a borrow that
    /// lasts until the next use of the stage.
    #[inline]
    pub fn with_state<T>(&mut self, f: impl FnOnce(&mut S) -> T) -> T {
        f(self.owner.state())
    }

    /// Spawns a coroutine running `body`. It does not run until the first
    /// [`resume`](Stage::resume), whose input becomes the body's second
    /// argument.
    ///
    /// Fails, giving `body` back, if a stack cannot be had (see
    /// [`ErrorKind`](crate::ErrorKind)).
    #[inline]
    pub fn spawn<I, Y, R, F>(&mut self, body: F) -> Result<Handle<I, Y, R>, SpawnError<F>>
    where
        I: 'static,
        Y: 'static,
        R: 'static,
        F: FnOnce(&mut Co<S, I, Y>, I) -> Eff<Yields, R> + 'static,
    {
        spawned(self.owner.spawn(&SpawnOptions::new(), CoBody(body)))
    }

    /// Spawns a coroutine with a name and/or stack size.
    ///
    /// ```
    /// use coshare::{Co, Eff, ErrorKind, SpawnOptions, Stage, Yields};
    ///
    /// let mut stage = Stage::new(());
    /// let body = |_: &mut Co<()>, ()| -> Eff<Yields, ()> { Ok(()) };
    /// let err = stage.spawn_with(&SpawnOptions::new().stack_size(0), body).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidStackSize);
    /// let body = err.into_body(); // nothing is lost
    /// let h = stage.spawn_with(&SpawnOptions::new().name("small").stack_size(16 * 1024), body);
    /// assert!(h.is_ok());
    /// ```
    pub fn spawn_with<I, Y, R, F>(
        &mut self,
        options: &SpawnOptions,
        body: F,
    ) -> Result<Handle<I, Y, R>, SpawnError<F>>
    where
        I: 'static,
        Y: 'static,
        R: 'static,
        F: FnOnce(&mut Co<S, I, Y>, I) -> Eff<Yields, R> + 'static,
    {
        spawned(self.owner.spawn(options, CoBody(body)))
    }

    /// Runs the coroutine until it suspends or returns. The input becomes
    /// the body's first input, or the value of its pending
    /// [`Co::suspend`].
    ///
    /// Errors give the input back: the coroutine finished, was cancelled or
    /// panicked earlier, is running (only possible from inside a coroutine),
    /// or the handle is stale or from another stage.
    ///
    /// ```
    /// use coshare::{Co, ErrorKind, Stage};
    ///
    /// let mut stage = Stage::new(());
    /// // A body that never suspends names its yield type: `Co<_, u8>` is
    /// // `Co<_, u8, ()>`, with the default.
    /// let h = stage.spawn(|_: &mut Co<_, u8>, x| Ok(x)).unwrap();
    /// assert_eq!(stage.resume(h, 1).unwrap().returned(), Some(1));
    /// let err = stage.resume(h, 2).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Finished);
    /// assert_eq!(err.into_input(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If the coroutine panics, the panic propagates out of this call with
    /// its original payload; the coroutine is then finished
    /// ([`ErrorKind::Panicked`](crate::ErrorKind::Panicked)) and the stage
    /// stays usable.
    #[inline]
    pub fn resume<I, Y, R>(
        &mut self,
        handle: Handle<I, Y, R>,
        input: I,
    ) -> Result<Resumed<Y, R>, ResumeError<I>> {
        self.owner.resume(handle.raw(), input)
    }

    /// Cancels a suspended or not yet started coroutine, on the main stack.
    ///
    /// A coroutine that never ran is dropped without running. Otherwise its
    /// pending yield point returns `Err(Interrupt)`; the body should return
    /// it with `?`, which unwinds its frames and runs its destructors (which
    /// may still use `co`). A body that ignores the interrupt and suspends
    /// again is unwound by force. Returns the body's value if it handled the
    /// interrupt by returning `Ok`, `None` otherwise.
    ///
    /// ```
    /// use coshare::{ErrorKind, Stage};
    ///
    /// let mut stage = Stage::new(Vec::<&str>::new());
    /// let h = stage
    ///     .spawn(|co, ()| {
    ///         co.state().push("started");
    ///         let r = co.suspend(());
    ///         co.state().push(if r.is_err() { "interrupted" } else { "resumed" });
    ///         r?;
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// stage.resume(h, ()).unwrap();
    /// assert_eq!(stage.cancel(h).unwrap(), None);
    /// assert_eq!(stage.state(), &["started", "interrupted"]);
    /// assert_eq!(stage.resume(h, ()).unwrap_err().kind(), ErrorKind::Cancelled);
    /// ```
    ///
    /// # A body that ignores its interrupt
    ///
    /// Every yield point the coroutine reaches after its interrupt is
    /// answered by the canceller, with nothing else running in between:
    ///
    /// * Normally the next one unwinds the coroutine by force: it unwinds
    ///   from that yield point like a panic that no hook reports, every
    ///   destructor on its stack runs, and the cancellation ends as if the
    ///   body had returned `Err(Interrupt)`. A body that catches that
    ///   unwinding (with `catch_unwind`) and suspends again is unwound again.
    /// * If the thread is already panicking when the cancellation starts (a
    ///   destructor calls `cancel`, or the stage is dropped, while the
    ///   thread unwinds), the coroutine's yield points cannot tell the
    ///   thread's unwinding from one of their own, during which unwinding
    ///   by force would abort the process. So the next 16 yield points
    ///   return `Err(Interrupt)` again, which lets cleanup code that
    ///   suspends a few times finish, and the 17th unwinds the coroutine by
    ///   force, as above. Such a body thus runs up to 16 more times round
    ///   its loop, and then its destructors run; the cancellation always
    ///   ends.
    ///
    /// While the coroutine unwinds, its yield points return `Err` at once
    /// and do not reach the canceller (see [`Co::suspend`]).
    ///
    /// # Panics
    ///
    /// A panic raised by the coroutine's cleanup propagates out of this
    /// call; so does a panic raised by the destructor of a value the
    /// coroutine yields during the cancellation (the canceller drops such
    /// values), but only once the cancellation is over: the coroutine is
    /// still unwound, every destructor on its stack runs, and its stack is
    /// reused. If both panic, the first panic propagates and the other
    /// payload is dropped. The coroutine is then marked as panicked. The
    /// same holds for a never-started body whose captured values panic when
    /// dropped.
    ///
    /// # Without unwinding
    ///
    /// With `panic = "abort"`, a panic anywhere ends the process, and
    /// nothing unwinds. Cancellation itself needs no unwinding as long as
    /// the body returns after its interrupt (the usual `?`), so `cancel` and
    /// dropping the stage work as above. A body that ignores its interrupt
    /// cannot be unwound by force: at its next yield point the process
    /// stops, with a panic message that says so.
    pub fn cancel<I, Y, R>(&mut self, handle: Handle<I, Y, R>) -> Result<Option<R>, Error> {
        self.owner.cancel(handle.raw())
    }

    /// Whether `handle`'s coroutine can be resumed now; if not, the error
    /// says why (finished, cancelled, panicked, stale, foreign).
    pub fn check<I, Y, R>(&self, handle: Handle<I, Y, R>) -> Result<(), Error> {
        self.owner.check(&handle.raw())
    }

    /// The name given to `handle`'s coroutine at spawn, if the handle is
    /// current.
    pub fn name<I, Y, R>(&self, handle: Handle<I, Y, R>) -> Option<&str> {
        self.owner.name(&handle.raw())
    }

    /// The stack size of `handle`'s coroutine and its high-water mark, for
    /// choosing stack sizes with evidence. The coroutine must not be
    /// running (suspended or not started).
    ///
    /// The mark is measured with `mincore(2)`: the lowest page of the stack
    /// the process has touched. Stacks are reused from the stage's pool, so
    /// for a reused stack it is the deepest any of its occupants went, an
    /// upper bound. For an exact figure per coroutine, build the stage with
    /// [`StageBuilder::max_pooled_stacks`]`(0)` while measuring.
    ///
    /// ```
    /// use coshare::{SpawnOptions, StageBuilder};
    ///
    /// let mut stage = StageBuilder::new().max_pooled_stacks(0).build(());
    /// let options = SpawnOptions::new().stack_size(100_000);
    /// let h = stage
    ///     .spawn_with(&options, |co, ()| {
    ///         let mut buffer = [1u8; 20_000];
    ///         std::hint::black_box(&mut buffer);
    ///         co.suspend(())?;
    ///         std::hint::black_box(&mut buffer);
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// stage.resume(h, ()).unwrap();
    /// let usage = stage.stack_usage(h).unwrap();
    /// assert_eq!(usage.size % 4096, 0);
    /// assert!(usage.size >= 100_000);
    /// assert!(usage.high_water >= 20_000 && usage.high_water <= usage.size);
    /// ```
    pub fn stack_usage<I, Y, R>(&self, handle: Handle<I, Y, R>) -> Result<StackUsage, Error> {
        self.owner.stack_usage(&handle.raw())
    }

    /// Counters for this stage and the process's stacks.
    pub fn stats(&self) -> Stats {
        self.owner.stats()
    }

    /// Tears down every coroutine, as dropping the stage does, and returns
    /// the state.
    ///
    /// # Panics
    ///
    /// If cleanup code panicked, the panic is resumed after the teardown
    /// finished (and the state is dropped).
    pub fn into_state(self) -> S {
        self.owner.into_state()
    }
}

impl<S: 'static> fmt::Debug for Stage<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("Stage")
            .field("live", &stats.live)
            .field("slots", &stats.slots)
            .finish_non_exhaustive()
    }
}
