//! The coroutine capability, [`Co`].

use std::fmt;

use crate::effect::{Eff, Yields};
use crate::error::{CoroutineId, Error, ResumeError, SpawnError};
use crate::handle::Handle;
use crate::options::SpawnOptions;
use crate::raw::{Body, Link};
use crate::resumed::Resumed;
use crate::thread_bound::ThreadBound;

/// The capability a coroutine body receives: access to the shared state
/// `S`, and the right to yield.
///
/// A body is a `'static` closure `FnOnce(&mut Co<S, I, Y>, I) -> Eff<Yields,
/// R>`: it receives its first input of type `I`, each
/// [`suspend`](Co::suspend) hands a `Y` to the resumer and returns the next
/// `I`, and the body's `Ok` value of type `R` is what the last resume
/// returns.
///
/// # The borrow rule
///
/// Every method that can switch stacks takes `&mut self`, and so do
/// [`state`](Co::state) and [`with_state`](Co::with_state). A reference
/// into the state therefore borrows `co`, and the borrow checker rejects
/// any such reference that is still alive at a yield point:
///
/// ```compile_fail
/// use coshare::Stage;
///
/// let mut stage = Stage::new(vec![1, 2, 3]);
/// stage.spawn(|co, ()| {
///     let first = &co.state()[0];
///     co.suspend(())?; // error[E0499]: cannot borrow `*co` as mutable more than once
///     println!("{first}");
///     Ok(())
/// });
/// ```
///
/// Between two yield points the coroutine has the state to itself, and
/// taking it again after the yield point is fine:
///
/// ```
/// use coshare::Stage;
///
/// let mut stage = Stage::new(vec![1, 2, 3]);
/// let h = stage
///     .spawn(|co, ()| {
///         co.state().push(4);
///         co.suspend(())?;
///         Ok(co.state().iter().sum::<i32>())
///     })
///     .unwrap();
/// stage.resume(h, ()).unwrap();
/// stage.state().push(5); // the main stack's turn
/// assert_eq!(stage.resume(h, ()).unwrap().returned(), Some(15));
/// ```
///
/// `Co` is not `Clone`, `Copy`, `Send` or `Sync`, cannot be built outside
/// the crate, and is invariant in `S`, `I` and `Y`.
pub struct Co<S: 'static, I: 'static = (), Y: 'static = ()> {
    link: Link<S, I, Y>,
    /// Keeps `co` on its stage's thread; what a compile error names.
    _thread: ThreadBound,
}

/// A user's coroutine body as the core runs it: the core hands it the
/// coroutine's [`Link`], which becomes the `Co` the closure borrows.
pub(crate) struct CoBody<F>(pub(crate) F);

impl<S, I, Y, R, F> Body<S, I, Y, R> for CoBody<F>
where
    S: 'static,
    I: 'static,
    Y: 'static,
    F: FnOnce(&mut Co<S, I, Y>, I) -> Eff<Yields, R> + 'static,
{
    #[inline]
    fn run(self, link: Link<S, I, Y>, input: I) -> Eff<Yields, R> {
        let mut co = Co {
            link,
            _thread: ThreadBound::new(),
        };
        (self.0)(&mut co, input)
    }
}

/// Turns what the core's spawn returns into the public result, giving the
/// user's body back on failure.
#[inline]
pub(crate) fn spawned<I, Y, R, F>(
    result: Result<crate::raw::RawHandle<I, Y, R>, (Error, CoBody<F>)>,
) -> Result<Handle<I, Y, R>, SpawnError<F>> {
    match result {
        Ok(raw) => Ok(Handle::from_raw(raw)),
        Err((error, body)) => Err(SpawnError::new(error, body.0)),
    }
}

impl<S: 'static, I: 'static, Y: 'static> Co<S, I, Y> {
    /// The shared state, borrowed until the next use of `co`.
    ///
    /// ```
    /// use coshare::Stage;
    ///
    /// let mut stage = Stage::new(String::new());
    /// let h = stage
    ///     .spawn(|co, ()| {
    ///         let s = co.state();
    ///         s.push_str("hello");
    ///         s.push(' ');
    ///         co.suspend(())?;
    ///         co.state().push_str("world");
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// stage.resume(h, ()).unwrap();
    /// stage.resume(h, ()).unwrap();
    /// assert_eq!(stage.state(), "hello world");
    /// ```
    #[inline]
    pub fn state(&mut self) -> &mut S {
        self.link.state()
    }

    /// Runs `f` on the shared state. `f` cannot reach `co` (it is borrowed
    /// by this call), so it cannot yield: it is pure.
    ///
    /// ```
    /// use coshare::Stage;
    ///
    /// let mut stage = Stage::new(0u64);
    /// let h = stage
    ///     .spawn(|co: &mut coshare::Co<u64>, ()| {
    ///         let before = co.with_state(|n| {
    ///             *n += 1;
    ///             *n
    ///         });
    ///         Ok(before)
    ///     })
    ///     .unwrap();
    /// assert_eq!(stage.resume(h, ()).unwrap().returned(), Some(1));
    /// ```
    ///
    /// What `f` returns cannot borrow from the state: the borrow ends when
    /// `with_state` returns. A closure that returns a reference into the
    /// state is rejected, and rustc words it as a lifetime error ("lifetime
    /// may not live long enough: returning this value requires that `'1`
    /// must outlive `'2`", where `'1` is the borrow of the state and `'2`
    /// the closure's result); no attribute can reword a lifetime error.
    /// Return an owned value, or use [`state`](Co::state), whose borrow
    /// lasts until the next use of `co`:
    ///
    /// ```compile_fail
    /// use coshare::Stage;
    ///
    /// let mut stage = Stage::new(vec![1, 2, 3]);
    /// stage.spawn(|co, ()| {
    ///     let first = co.with_state(|v| &mut v[0]); // error: lifetime may not live long enough
    ///     *first += 1;
    ///     co.suspend(())
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// A panic in `f` unwinds through the coroutine to its resumer. The state
    /// is left as `f` left it: there is no poisoning, as with `RefCell`.
    #[inline]
    pub fn with_state<T>(&mut self, f: impl FnOnce(&mut S) -> T) -> T {
        f(self.link.state())
    }

    /// Suspends this coroutine: hands `value` to whoever resumed it, and
    /// returns the input of the next resume. A yield point.
    ///
    /// Returns `Err(Interrupt)` if the coroutine is cancelled while
    /// suspended here; return it with `?` so the body unwinds normally. A
    /// body that ignores the interrupt and suspends again is unwound by force
    /// (its destructors still run); see [`Stage::cancel`](crate::Stage::cancel).
    ///
    /// While the coroutine unwinds (from its own panic, or by force during a
    /// cancellation), this does not suspend: it drops `value` and returns
    /// `Err(Interrupt)` at once, so a destructor that uses `co` can finish,
    /// and the resumer never gets control in the middle of an unwinding.
    /// The one exception: if the thread was already panicking when this
    /// coroutine was resumed (its resumer is a destructor running during an
    /// unwind), the coroutine cannot tell its own unwinding from its
    /// resumer's, and suspends as usual.
    ///
    /// ```
    /// use coshare::{Resumed, Stage};
    ///
    /// let mut stage = Stage::new(());
    /// let h = stage
    ///     .spawn(|co, first: u32| {
    ///         let second = co.suspend(first * 10)?;
    ///         assert_eq!(second, 7);
    ///         Ok("done")
    ///     })
    ///     .unwrap();
    /// assert_eq!(stage.resume(h, 4).unwrap(), Resumed::Yield(40));
    /// assert_eq!(stage.resume(h, 7).unwrap(), Resumed::Return("done"));
    /// ```
    #[inline]
    pub fn suspend(&mut self, value: Y) -> Eff<Yields, I> {
        self.link.suspend(value)
    }

    /// Resumes another coroutine of the same stage, nested: it runs on top
    /// of this one and its yields come back here. A yield point.
    ///
    /// The outer `Eff` marks the yield point; a coroutine cannot be cancelled
    /// while it is resuming another, so it is always `Ok` today. The inner
    /// result is the child's yield or return value, or a [`ResumeError`]
    /// that gives the input back.
    ///
    /// ```
    /// use coshare::{Co, Resumed, Stage};
    ///
    /// let mut stage = Stage::new(Vec::<&str>::new());
    /// let parent = stage
    ///     .spawn(|co: &mut Co<_>, ()| {
    ///         let child = co
    ///             .spawn(|co, ()| {
    ///                 co.state().push("child");
    ///                 co.suspend(1)?;
    ///                 Ok(())
    ///             })
    ///             .unwrap();
    ///         co.state().push("parent");
    ///         let got = co.resume(child, ())?.unwrap();
    ///         assert_eq!(got, Resumed::Yield(1));
    ///         co.state().push("parent again");
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// stage.resume(parent, ()).unwrap();
    /// assert_eq!(stage.state(), &["parent", "child", "parent again"]);
    /// ```
    ///
    /// # Panics
    ///
    /// A panic in the child propagates out of this call, after the child has
    /// been marked as panicked.
    #[inline]
    pub fn resume<I2, Y2, R2>(
        &mut self,
        handle: Handle<I2, Y2, R2>,
        input: I2,
    ) -> Eff<Yields, Result<Resumed<Y2, R2>, ResumeError<I2>>> {
        Ok(self.link.resume(handle.raw(), input))
    }

    /// Cancels another coroutine of the same stage: its pending yield point
    /// returns `Err(Interrupt)` and it unwinds, on top of this coroutine. A
    /// yield point. Returns the body's value if it handled the interrupt and
    /// returned one, `None` otherwise.
    ///
    /// Everything [`Stage::cancel`](crate::Stage::cancel) says holds here:
    /// a body that ignores its interrupt is unwound by force, a panic in the
    /// cancelled coroutine's cleanup (or in a destructor of a value it
    /// yields) propagates out of this call once the cancellation is over
    /// and every frame was unwound, and if this coroutine is itself
    /// unwinding (a destructor cancels another coroutine during a panic),
    /// the cancellation runs as one started while the thread panics.
    ///
    /// ```
    /// use coshare::{Co, Stage};
    ///
    /// let mut stage = Stage::new(Vec::<&str>::new());
    /// let worker = stage
    ///     .spawn(|co, ()| {
    ///         let woke = co.suspend(());
    ///         co.state().push(if woke.is_err() { "worker: interrupted" } else { "worker: woke" });
    ///         woke
    ///     })
    ///     .unwrap();
    /// stage.resume(worker, ()).unwrap();
    /// let boss = stage
    ///     // It never suspends, so `Co<_>` says its yield type: the default, `()`.
    ///     .spawn(move |co: &mut Co<_>, ()| {
    ///         let value = co.cancel(worker)?.unwrap();
    ///         co.state().push("boss: cancelled the worker");
    ///         Ok(value)
    ///     })
    ///     .unwrap();
    /// assert_eq!(stage.resume(boss, ()).unwrap().returned(), Some(None));
    /// assert_eq!(stage.state(), &["worker: interrupted", "boss: cancelled the worker"]);
    /// ```
    pub fn cancel<I2, Y2, R2>(
        &mut self,
        handle: Handle<I2, Y2, R2>,
    ) -> Eff<Yields, Result<Option<R2>, Error>> {
        Ok(self.link.cancel(handle.raw()))
    }

    /// Spawns a coroutine on the same stage. It does not run until resumed;
    /// spawning is not a yield point.
    ///
    /// The new coroutine is independent of this one: it lives in the stage,
    /// not in this coroutine, and outlives it unless cancelled.
    pub fn spawn<I2, Y2, R2, F>(&mut self, body: F) -> Result<Handle<I2, Y2, R2>, SpawnError<F>>
    where
        I2: 'static,
        Y2: 'static,
        R2: 'static,
        F: FnOnce(&mut Co<S, I2, Y2>, I2) -> Eff<Yields, R2> + 'static,
    {
        spawned(self.link.spawn(&SpawnOptions::new(), CoBody(body)))
    }

    /// Spawns a coroutine with a name and/or stack size.
    pub fn spawn_with<I2, Y2, R2, F>(
        &mut self,
        options: &SpawnOptions,
        body: F,
    ) -> Result<Handle<I2, Y2, R2>, SpawnError<F>>
    where
        I2: 'static,
        Y2: 'static,
        R2: 'static,
        F: FnOnce(&mut Co<S, I2, Y2>, I2) -> Eff<Yields, R2> + 'static,
    {
        spawned(self.link.spawn(options, CoBody(body)))
    }

    /// This coroutine's id.
    pub fn id(&self) -> CoroutineId {
        self.link.id()
    }

    /// Whether this coroutine is being cancelled (a yield point has returned
    /// `Err(Interrupt)`): cleanup code can use it to skip work.
    pub fn is_cancelling(&self) -> bool {
        self.link.is_cancelling()
    }
}

impl<S: 'static, I: 'static, Y: 'static> fmt::Debug for Co<S, I, Y> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Co")
            .field("id", &self.link.id())
            .finish_non_exhaustive()
    }
}
