//! Counters a stage reports: [`Stats`] and [`StackUsage`].

/// Counters that describe a stage and the process's stacks.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Coroutines spawned and not yet ended (suspended, not started, or on
    /// the resume chain).
    pub live: usize,
    /// Slots in the coroutine table (live, ended and retired).
    pub slots: usize,
    /// Stacks this stage keeps for reuse.
    pub pooled_stacks: usize,
    /// Guarded stacks mapped by the whole process, in use or pooled.
    pub process_mapped_stacks: usize,
    /// The most guarded stacks the process may map (see
    /// [`ErrorKind::StackLimit`](crate::ErrorKind::StackLimit)).
    pub process_stack_limit: usize,
}

/// How much of its stack a coroutine has used. See
/// [`Stage::stack_usage`](crate::Stage::stack_usage).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackUsage {
    /// The usable stack size in bytes (the requested size rounded up to
    /// whole pages; the guard page is not counted).
    pub size: usize,
    /// The deepest point the stack has reached, in bytes below its base,
    /// at page granularity.
    pub high_water: usize,
}
