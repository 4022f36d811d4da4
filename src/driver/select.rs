//! [`select!`](crate::select): wait-for-any with named arms, over
//! [`Task::select`](super::Task::select).

/// Waits for whichever of several sources fires first, and runs that arm.
///
/// ```text
/// select!(t, {
///     pattern = source => body,
///     ...
/// })
/// ```
///
/// `t` is the task (`&mut Task<S>`); each `source` is a [`Source`] (the
/// functions of [`wait`], or one of your own). The sources are polled left
/// to right, as by [`Task::select`]: the leftmost ready one wins, its output
/// is matched against its `pattern`, and its `body` is the value of the
/// whole `select!`. The others are left as they were (see [`Source`]).
///
/// It is [`Task::select`] on an HList of the sources, followed by `?` and a
/// match on the `Coproduct`: so it is a yield point, it may only be used
/// where `?` can return an `Interrupt<Yields>` (a task body, or a helper
/// that returns `Eff<Yields, _>`), and the bodies run after the wait is
/// over, so they may use `t` again, `?`, `return`, `break` and `continue`.
/// A body is an expression followed by a comma, or a block with or without
/// one, as in `match`. Patterns must be irrefutable for the output they
/// match (use `match` inside the body to look further).
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{wait, DriverBuilder, Task};
/// use coshare::{select, Eff, Yields};
///
/// let mut driver = DriverBuilder::new().virtual_clock().build(Vec::new());
/// let (tx, mut rx) = driver.handle().channel::<u32>(4);
/// let stop = driver.handle().event();
/// let stopping = stop.clone();
/// driver
///     .spawn(move |t: &mut Task<Vec<String>>| -> Eff<Yields, ()> {
///         loop {
///             let line = select!(t, {
///                 received = wait::recv(&mut rx) => match received {
///                     Ok(n) => format!("got {n}"),
///                     Err(_closed) => return Ok(()),
///                 },
///                 () = wait::sleep(Duration::from_millis(100)) => "quiet".to_owned(),
///                 () = wait::event(&stopping) => {
///                     t.state().push("stopping".to_owned());
///                     break;
///                 }
///             });
///             t.state().push(line);
///         }
///         Ok(())
///     })
///     .unwrap();
/// tx.try_send(7).unwrap();
/// driver.run_for(Duration::from_millis(150)).unwrap();
/// stop.set();
/// driver.run().unwrap();
/// assert_eq!(driver.state(), &["got 7", "quiet", "stopping"]);
/// ```
///
/// [`Source`]: crate::driver::Source
/// [`wait`]: crate::driver::wait
/// [`Task::select`]: crate::driver::Task::select
#[macro_export]
macro_rules! select {
    ($task:expr, { $($arms:tt)+ }) => {
        $crate::__select_parse!($task; []; $($arms)+)
    };
}

/// Collects the arms of [`select!`](crate::select) as
/// `(pattern, source, body)` triples. Not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // Every arm is collected: wait, then dispatch.
    ($task:expr; [$(($pat:pat, $source:expr, $body:expr))+];) => {
        match $task.select($crate::__select_hlist!($($source),+))? {
            selected => $crate::__select_dispatch!(selected; $(($pat => $body))+),
        }
    };
    // A block body, with or without a comma after it.
    ($task:expr; [$($done:tt)*]; $pat:pat = $source:expr => $body:block , $($rest:tt)*) => {
        $crate::__select_parse!($task; [$($done)* ($pat, $source, $body)]; $($rest)*)
    };
    ($task:expr; [$($done:tt)*]; $pat:pat = $source:expr => $body:block $($rest:tt)*) => {
        $crate::__select_parse!($task; [$($done)* ($pat, $source, $body)]; $($rest)*)
    };
    // An expression body: a comma, or the last arm.
    ($task:expr; [$($done:tt)*]; $pat:pat = $source:expr => $body:expr , $($rest:tt)*) => {
        $crate::__select_parse!($task; [$($done)* ($pat, $source, $body)]; $($rest)*)
    };
    ($task:expr; [$($done:tt)*]; $pat:pat = $source:expr => $body:expr) => {
        $crate::__select_parse!($task; [$($done)* ($pat, $source, $body)];)
    };
}

/// Matches a `Coproduct` arm by arm, as nested matches. Not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_dispatch {
    ($value:ident;) => {
        match $value {}
    };
    ($value:ident; ($pat:pat => $body:expr) $($rest:tt)*) => {
        match $value {
            $crate::__private::Coproduct::Inl($pat) => $body,
            $crate::__private::Coproduct::Inr(rest) => $crate::__select_dispatch!(rest; $($rest)*),
        }
    };
}

/// The HList of [`select!`](crate::select)'s sources. Not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_hlist {
    () => {
        $crate::__private::HNil
    };
    ($head:expr $(, $tail:expr)*) => {
        $crate::__private::HCons {
            head: $head,
            tail: $crate::__select_hlist!($($tail),*),
        }
    };
}
