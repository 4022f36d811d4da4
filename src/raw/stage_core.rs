//! [`Core`]: a stage's shared state, coroutine table and stack pool, in
//! one allocation with a stable address, and the accessors that project
//! its fields without ever forming a `&mut Core`.

use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};

use super::handle::StageId;
use super::slot::Table;
use super::stack;

/// A stage's core: the shared state, the coroutine table and the stack pool.
/// Boxed once by [`Owner::new`]; its address never changes.
pub(crate) struct Core<S> {
    /// Reached only through `Owner::state` and `Link::state`.
    pub(super) state: ManuallyDrop<S>,
    pub(super) table: Table,
    pub(super) pool: stack::Pool,
    pub(super) stage: StageId,
    pub(super) max_coroutines: usize,
}

/// The table of the core at `core`.
///
/// # Safety
///
/// `core` points to a live `Core<S>`, and no other reference to its table
/// is alive while the returned one is used. Callers use it only between
/// stack switches.
#[inline(always)]
pub(super) unsafe fn table<'a, S>(core: NonNull<Core<S>>) -> &'a mut Table {
    // SAFETY: the caller guarantees the core is live and the table is not
    // otherwise borrowed; projecting the field does not touch `state`.
    unsafe { &mut *ptr::addr_of_mut!((*core.as_ptr()).table) }
}

/// The table of the core at `core`, shared.
///
/// # Safety
///
/// `core` points to a live `Core<S>` and no `&mut` to its table is alive
/// while the returned reference is used.
#[inline(always)]
pub(super) unsafe fn table_ref<'a, S>(core: NonNull<Core<S>>) -> &'a Table {
    // SAFETY: as in `table`, for a shared borrow.
    unsafe { &*ptr::addr_of!((*core.as_ptr()).table) }
}

/// The pool of the core at `core`.
///
/// # Safety
///
/// As for [`table`], for the pool.
#[inline(always)]
pub(super) unsafe fn pool<'a, S>(core: NonNull<Core<S>>) -> &'a mut stack::Pool {
    // SAFETY: as in `table`.
    unsafe { &mut *ptr::addr_of_mut!((*core.as_ptr()).pool) }
}
