//! [`Owner`]: the stage's owning pointer to its core, and everything the
//! main stack does through it.

use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use super::handle::{RawHandle, StageId, foreign_stage};
use super::invariant::Invariant;
use super::overflow;
use super::slot::{Table, status, tag, tag_status};
use super::spawn::{Body, spawn};
use super::stack;
use super::stage_core::{Core, table_ref};
use super::switch::{cancel, resume};
use crate::error::{Error, ResumeError};
use crate::options::SpawnOptions;
use crate::resumed::Resumed;
use crate::stats::{StackUsage, Stats};

/// The stage's owning pointer to its core.
///
/// Invariant: `core` came from `Box::leak` and is freed only by `drop`
/// or `into_state`, after every coroutine has ended.
pub(crate) struct Owner<S: 'static> {
    core: NonNull<Core<S>>,
    /// The core's stage id, kept here too so that checking a handle reads
    /// no memory behind `core`.
    stage: StageId,
    /// Invariant in `S`. Not what keeps the owner on its thread: see the
    /// `Send` impl below.
    marker: Invariant<S>,
}

// SAFETY: an `Owner` is only ever the field of a `Stage`, which holds a
// `ThreadBound` marker and is therefore `!Send` and `!Sync`
// (`assertions.rs`): no `Owner` is moved to or shared with another thread.
// The impls only keep the core pointer from being the reason a compile
// error names, so that it names the stage and the marker instead.
unsafe impl<S: 'static> Send for Owner<S> {}
// SAFETY: as for `Send`.
unsafe impl<S: 'static> Sync for Owner<S> {}

/// Settings for a new core.
pub(crate) struct CoreConfig {
    pub(crate) stack_size: usize,
    pub(crate) max_pooled_stacks: usize,
    pub(crate) max_coroutines: usize,
}

impl<S: 'static> Owner<S> {
    pub(crate) fn new(state: S, config: CoreConfig) -> Owner<S> {
        overflow::ensure_alt_stack();
        let stage = StageId::fresh();
        let core = Box::new(Core {
            state: ManuallyDrop::new(state),
            table: Table {
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
                idle: 0,
            },
            pool: stack::Pool::new(config.stack_size, config.max_pooled_stacks),
            stage,
            max_coroutines: config.max_coroutines,
        });
        Owner {
            core: NonNull::from(Box::leak(core)),
            stage,
            marker: std::marker::PhantomData,
        }
    }

    #[inline]
    pub(crate) fn state(&mut self) -> &mut S {
        // SAFETY: the core is live (Owner invariant). `&mut self` is the main
        // stack's access path: no coroutine runs while it is borrowed (part 2
        // of the module docs), so this is the only reference into `state`.
        unsafe { &mut *ptr::addr_of_mut!((*self.core.as_ptr()).state).cast::<S>() }
    }

    #[inline]
    pub(crate) fn resume<I, Y, R>(
        &mut self,
        handle: RawHandle<I, Y, R>,
        input: I,
    ) -> Result<Resumed<Y, R>, ResumeError<I>> {
        // SAFETY: the core is live, `self.stage` is its id, and `&mut self`
        // is the main stack's access path, borrowed for the whole switch.
        unsafe { resume(self.core, self.stage, handle, input) }
    }

    pub(crate) fn cancel<I, Y, R>(
        &mut self,
        handle: RawHandle<I, Y, R>,
    ) -> Result<Option<R>, Error> {
        // SAFETY: as in `resume`.
        unsafe { cancel(self.core, self.stage, handle) }
    }

    #[inline]
    pub(crate) fn spawn<I, Y, R, B>(
        &mut self,
        options: &SpawnOptions,
        body: B,
    ) -> Result<RawHandle<I, Y, R>, (Error, B)>
    where
        I: 'static,
        Y: 'static,
        R: 'static,
        B: Body<S, I, Y, R>,
    {
        // SAFETY: the core is live and `&mut self` excludes other access.
        unsafe { spawn(self.core, options, body) }
    }

    pub(crate) fn stats(&self) -> Stats {
        // SAFETY: the core is live. `&self` on the owner means no coroutine
        // runs (they run only inside `&mut self` methods) and no library
        // code holds a `&mut` into the core.
        let (table, pooled) =
            unsafe { (table_ref(self.core), (*self.core.as_ptr()).pool.pooled()) };
        let pooled = pooled + table.idle;
        let (mapped, limit) = stack::mapped_stacks();
        Stats {
            live: table.live,
            slots: table.slots.len(),
            pooled_stacks: pooled,
            process_mapped_stacks: mapped,
            process_stack_limit: limit,
        }
    }

    /// The status of a coroutine, without resuming it.
    pub(crate) fn check<I, Y, R>(&self, handle: &RawHandle<I, Y, R>) -> Result<(), Error> {
        let id = handle.id;
        if handle.stage != self.stage {
            return Err(foreign_stage(handle.stage, self.stage, id));
        }
        // SAFETY: the core is live; see `stats` for `&self`.
        let table = unsafe { table_ref(self.core) };
        match table.tag_at(id.index) {
            Some(found) if found == tag(id.generation, status::READY) => Ok(()),
            _ => Err(table.lease_error(id)),
        }
    }

    /// Stack size and high-water mark of a coroutine that is not running.
    pub(crate) fn stack_usage<I, Y, R>(
        &self,
        handle: &RawHandle<I, Y, R>,
    ) -> Result<StackUsage, Error> {
        self.check(handle)?;
        let id = handle.id;
        // SAFETY: the core is live; see `stats` for `&self`.
        let table = unsafe { table_ref(self.core) };
        let stack = table
            .meta(id.index)
            .and_then(|meta| meta.stack.as_ref())
            .expect("a ready slot has a stack");
        let (size, used) = stack.usage();
        Ok(StackUsage {
            size,
            high_water: used.unwrap_or(size),
        })
    }

    pub(crate) fn name<I, Y, R>(&self, handle: &RawHandle<I, Y, R>) -> Option<&str> {
        if handle.stage != self.stage {
            return None;
        }
        // SAFETY: the core is live; see `stats` for `&self`.
        unsafe { table_ref(self.core) }.name(handle.id)
    }

    /// Cancels every live coroutine, in slot order, including those spawned
    /// while tearing down. Returns the first panic, after finishing.
    fn teardown_all(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        let mut first_panic = None;
        loop {
            let mut cancelled_any = false;
            let mut index = 0usize;
            loop {
                // SAFETY: the core is live and `&mut self` excludes other
                // access; the table borrow ends before the teardown call.
                let next = unsafe {
                    let table = table_ref(self.core);
                    (index..table.slots.len())
                        .find(|&at| table.tag_at(at as u32).map(tag_status) == Some(status::READY))
                        .map(|at| (at, table.meta(at as u32).and_then(|meta| meta.teardown)))
                };
                let Some((at, teardown_fn)) = next else { break };
                index = at + 1;
                let teardown_fn = teardown_fn.expect("a ready slot has a teardown");
                let core = self.core.cast::<()>();
                // SAFETY: the slot is `Ready` and its teardown was stored by
                // the spawn that filled it; the table is not borrowed.
                let result = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
                    teardown_fn(core, at as u32)
                }));
                cancelled_any = true;
                if let Err(payload) = result {
                    first_panic.get_or_insert(payload);
                }
            }
            if !cancelled_any {
                return first_panic;
            }
        }
    }

    /// Tears down every coroutine and returns the state.
    pub(crate) fn into_state(self) -> S {
        let mut this = ManuallyDrop::new(self);
        let panic = this.teardown_all();
        // SAFETY: every coroutine has ended, so no `Link` points to the core
        // any more; the core came from `Box::leak` (Owner invariant) and
        // `this` is never dropped, so it is freed exactly once. The state is
        // moved out of its `ManuallyDrop` exactly once, just before.
        let state = unsafe {
            let mut core = Box::from_raw(this.core.as_ptr());
            ManuallyDrop::take(&mut core.state)
        };
        if let Some(payload) = panic {
            panic::resume_unwind(payload);
        }
        state
    }
}

impl<S: 'static> Drop for Owner<S> {
    fn drop(&mut self) {
        let panic = self.teardown_all();
        // SAFETY: every coroutine has ended, so no `Link` points to the core
        // any more; the core came from `Box::leak` and is freed once.
        // The state is dropped before the pooled stacks and the table.
        unsafe {
            let mut core = Box::from_raw(self.core.as_ptr());
            ManuallyDrop::drop(&mut core.state);
        }
        if let Some(payload) = panic {
            if !std::thread::panicking() {
                panic::resume_unwind(payload);
            }
        }
    }
}
