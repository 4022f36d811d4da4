//! The coroutine table: slots, their tags, and the table that owns them.
//! See the parent module for the picture and the soundness argument.

use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

use corosensei::Coroutine;

use super::stack::{self, StackRef};
use crate::error::{CoroutineId, Detail, Error};

/// Untyped space for an `Inner` (see `switch.rs`). Every `Inner<I, Y, R>` has the same few
/// fields (corosensei keeps the closure on the coroutine's own stack);
/// `spawn` checks at compile time that it fits.
#[repr(C, align(16))]
pub(super) struct Storage(MaybeUninit<[u8; STORAGE]>);

/// The size of [`Storage`]: corosensei's coroutine, whose size does not
/// depend on its payload types (the closure lives on the coroutine's own
/// stack), rounded up to 16. It is larger under AddressSanitizer, where the
/// coroutine also keeps the fiber state it reports to the sanitizer.
const STORAGE: usize = size_of::<Coroutine<(), (), (), StackRef>>().next_multiple_of(16);

/// A slot's status, packed with its generation into [`Slot::tag`] so that
/// the hot path checks a handle with one comparison.
pub(super) mod status {
    /// Claimed by a spawn that has not finished filling it.
    pub(in crate::raw) const VACANT: u8 = 0;
    /// The body holds the coroutine: suspended, not started, or running
    /// without a nested switch in progress.
    pub(in crate::raw) const READY: u8 = 1;
    /// On the chain of resumes below the running stack: the coroutine is
    /// making a nested switch (see `Link::mark_running`). Must be
    /// `READY + 1`.
    pub(in crate::raw) const RUNNING: u8 = 2;
    /// Ended by returning.
    pub(in crate::raw) const RETURNED: u8 = 3;
    /// Ended by cancellation.
    pub(in crate::raw) const CANCELLED: u8 = 4;
    /// Ended by a panic.
    pub(in crate::raw) const PANICKED: u8 = 5;
}

#[inline(always)]
pub(super) const fn tag(generation: u32, status: u8) -> u64 {
    ((generation as u64) << 8) | status as u64
}

#[inline(always)]
pub(super) const fn tag_status(tag: u64) -> u8 {
    tag as u8
}

#[inline(always)]
pub(super) const fn tag_generation(tag: u64) -> u32 {
    (tag >> 8) as u32
}

/// Erased teardown: cancels the coroutine in slot `index` of the core at
/// `core` (a `Core<S>` for the `S` it was instantiated with).
pub(super) type TeardownFn = unsafe fn(core: NonNull<()>, index: u32);

/// One coroutine slot, in its own heap allocation: allocated by
/// `Table::claim`, never moved, freed only when the table is dropped. So a
/// [`SlotRef`] taken from a table stays valid while the table lives, a
/// running coroutine never moves even when the table grows under it, and a
/// handle can carry its slot's address (checked against the stage before
/// it is used; see the module docs).
///
/// Its three parts are reached separately, through raw pointers, and no
/// reference to a whole `Slot` is ever formed: `body` belongs to the slot's
/// `Running` guard while one exists (and to no one else), `tag`
/// is read and written by value, and `meta` is borrowed only by the table's
/// own code, between switches.
///
/// Laid out for the hot path: a resume reads the tag and then the
/// coroutine's fields in the body, so the two share the slot's first cache
/// line (the slot is aligned to a line); what only spawns and endings read
/// comes after.
#[repr(C, align(64))]
struct Slot {
    /// Generation and status; see [`tag`].
    tag: u64,
    /// The slot's index in its table. Set when the slot is allocated,
    /// never changed.
    index: u32,
    /// Set when the coroutine receives its cancellation (see
    /// `Link::cancel_delivered`), reset by the spawn that fills the slot.
    /// Read and written by value, like `tag`.
    cancelling: bool,
    /// Set by a resumer that switches to the coroutine while the thread is
    /// panicking, read and cleared by the coroutine's next yield point
    /// reached while the thread panics (see `Link::suspend`), reset by
    /// the spawn that fills the slot. Read and written by value.
    resumed_panicking: bool,
    /// Holds the coroutine while the slot is `READY` or `RUNNING`.
    body: Storage,
    /// The core whose table owns the slot (a `Core<S>`, erased). Set when
    /// the slot is allocated, never changed, so that a `Running` guard
    /// needs nothing but the slot's address.
    core: NonNull<()>,
    meta: SlotMeta,
}

// The tag and the coroutine share the slot's first cache line (unless the
// coroutine itself is larger, as under AddressSanitizer).
const _: () =
    assert!(STORAGE > 48 || std::mem::offset_of!(Slot, body) + size_of::<Storage>() <= 64);

/// What the table keeps about a slot besides its coroutine and its tag.
pub(super) struct SlotMeta {
    /// Written together with the body by `spawn`, for the same types.
    pub(super) teardown: Option<TeardownFn>,
    /// The stack of the slot's coroutine while it is live. After it ended:
    /// either `None`, or an idle stack kept for the next coroutine spawned
    /// into this slot (counted in `Table::idle`).
    pub(super) stack: Option<stack::Mapped>,
    pub(super) name: Option<Box<str>>,
}

/// The address of a [`Slot`], as kept by the table and by handles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotRef(NonNull<Slot>);

// SAFETY: a `SlotRef` is only an address; by itself it grants no access.
// It is dereferenced only by this module, through the stage (or a
// coroutine of the stage) that owns the slot, after the stage check, and
// the stage is `!Send`, so that happens on the stage's thread. Handles,
// which carry a `SlotRef` outside the table, stay `!Send` and `!Sync`
// through their `ThreadBound` marker (checked in `assertions.rs`); these
// impls only keep a raw pointer from being the reason named in that error.
unsafe impl Send for SlotRef {}
// SAFETY: as for `Send`: shared access to the address alone reads nothing.
unsafe impl Sync for SlotRef {}

impl SlotRef {
    /// The slot's tag.
    ///
    /// # Safety
    ///
    /// The table that owns the slot has not been dropped.
    #[inline(always)]
    pub(super) unsafe fn tag(self) -> u64 {
        // SAFETY: the slot is allocated (caller); `tag` is read by value,
        // and no reference to it is ever held across other code.
        unsafe { ptr::addr_of!((*self.0.as_ptr()).tag).read() }
    }

    /// Sets the slot's tag.
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    pub(super) unsafe fn set_tag(self, tag: u64) {
        // SAFETY: as in `tag`, for a write.
        unsafe { ptr::addr_of_mut!((*self.0.as_ptr()).tag).write(tag) }
    }

    /// Whether the slot's coroutine has received its cancellation.
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    pub(super) unsafe fn cancelling(self) -> bool {
        // SAFETY: as in `tag`.
        unsafe { ptr::addr_of!((*self.0.as_ptr()).cancelling).read() }
    }

    /// Sets [`cancelling`](SlotRef::cancelling).
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    pub(super) unsafe fn set_cancelling(self, cancelling: bool) {
        // SAFETY: as in `tag`, for a write.
        unsafe { ptr::addr_of_mut!((*self.0.as_ptr()).cancelling).write(cancelling) }
    }

    /// Whether the coroutine was last switched to while the thread was
    /// panicking (see [`Slot::resumed_panicking`]).
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    pub(super) unsafe fn resumed_panicking(self) -> bool {
        // SAFETY: as in `tag`.
        unsafe { ptr::addr_of!((*self.0.as_ptr()).resumed_panicking).read() }
    }

    /// Sets [`resumed_panicking`](SlotRef::resumed_panicking).
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    pub(super) unsafe fn set_resumed_panicking(self, panicking: bool) {
        // SAFETY: as in `tag`, for a write.
        unsafe { ptr::addr_of_mut!((*self.0.as_ptr()).resumed_panicking).write(panicking) }
    }

    /// The core that owns the slot, erased; the caller casts it to the
    /// `Core<S>` it knows it is.
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    pub(super) unsafe fn core(self) -> NonNull<()> {
        // SAFETY: as in `tag`; the field is never written after `claim`.
        unsafe { ptr::addr_of!((*self.0.as_ptr()).core).read() }
    }

    /// The slot's index in its table.
    ///
    /// # Safety
    ///
    /// As for [`tag`](SlotRef::tag).
    #[inline(always)]
    pub(super) unsafe fn index(self) -> u32 {
        // SAFETY: as in `core`.
        unsafe { ptr::addr_of!((*self.0.as_ptr()).index).read() }
    }

    /// The address of the slot's body, as the coroutine type the caller
    /// knows it holds. Plain address arithmetic: creates no reference and
    /// reads nothing.
    #[inline(always)]
    pub(super) fn body<T>(self) -> *mut T {
        self.0
            .as_ptr()
            .wrapping_byte_add(std::mem::offset_of!(Slot, body))
            .cast::<T>()
    }

    /// The slot's metadata, for code that holds the table's unique borrow
    /// but already has the slot's address (no bounds check).
    ///
    /// # Safety
    ///
    /// The slot belongs to `table`, which the caller borrows mutably for as
    /// long as the returned reference is used.
    #[inline(always)]
    pub(super) unsafe fn meta(self, table: &mut Table) -> &mut SlotMeta {
        let _ = table;
        // SAFETY: the slot is allocated while its table lives, and slot
        // metadata is reached only through a borrow of the table (here,
        // the caller's `&mut`), so this is the only reference to it.
        unsafe { &mut *ptr::addr_of_mut!((*self.0.as_ptr()).meta) }
    }
}

pub(super) struct Table {
    /// Every slot ever claimed, by index. The vector may reallocate; the
    /// slots it points to do not move.
    pub(super) slots: Vec<SlotRef>,
    /// Indices of ended slots, reused last-in first-out (the most recently
    /// used stack is the warmest).
    pub(super) free: Vec<u32>,
    /// Coroutines that are `READY` or `RUNNING`.
    pub(super) live: usize,
    /// Idle stacks kept in ended slots.
    pub(super) idle: usize,
}

impl Drop for Table {
    fn drop(&mut self) {
        for slot in &self.slots {
            // SAFETY: every slot came from `Box::leak` in `Table::claim` and
            // is freed only here, once. No coroutine is live when the table
            // is dropped (the owner tears them down first), so no `Running`
            // guard or handle check can reach the slot again; `Storage` is
            // plain bytes, so dropping the box drops only the metadata.
            drop(unsafe { Box::from_raw(slot.0.as_ptr()) });
        }
    }
}

impl Table {
    /// The tag of the slot at `index`, if one was ever claimed there.
    #[inline]
    pub(super) fn tag_at(&self, index: u32) -> Option<u64> {
        let slot = *self.slots.get(index as usize)?;
        // SAFETY: the slot came from `claim` and is freed only when the
        // table is dropped; `&self` keeps the table alive.
        Some(unsafe { slot.tag() })
    }

    /// Sets the tag of the slot at `index`.
    #[inline]
    pub(super) fn set_tag_at(&mut self, index: u32, tag: u64) {
        // SAFETY: as in `tag_at`.
        unsafe { self.slots[index as usize].set_tag(tag) }
    }

    /// The metadata of the slot at `index`, if one was ever claimed there.
    #[inline]
    pub(super) fn meta(&self, index: u32) -> Option<&SlotMeta> {
        let slot = *self.slots.get(index as usize)?;
        // SAFETY: the slot is allocated while the table lives (see
        // `tag_at`). Slot metadata is reached only through `meta` and
        // `meta_mut`, which borrow the table, so no `&mut` to it is alive.
        Some(unsafe { &*ptr::addr_of!((*slot.0.as_ptr()).meta) })
    }

    /// The metadata of the slot at `index`, which must exist.
    #[inline]
    pub(super) fn meta_mut(&mut self, index: u32) -> &mut SlotMeta {
        let slot = self.slots[index as usize];
        // SAFETY: as in `meta`; `&mut self` makes this the only reference
        // to the slot's metadata.
        unsafe { &mut *ptr::addr_of_mut!((*slot.0.as_ptr()).meta) }
    }

    /// The name of the coroutine `id`, if it is the slot's occupant and has
    /// one.
    pub(super) fn name(&self, id: CoroutineId) -> Option<&str> {
        if tag_generation(self.tag_at(id.index)?) != id.generation {
            return None;
        }
        self.meta(id.index)?.name.as_deref()
    }

    #[cold]
    #[inline(never)]
    fn error(&self, detail: Detail, id: CoroutineId) -> Error {
        Error::new(detail, Some(id)).with_name(self.name(id))
    }

    /// Why `id` cannot be resumed now.
    #[cold]
    #[inline(never)]
    pub(super) fn lease_error(&self, id: CoroutineId) -> Error {
        let status = self
            .tag_at(id.index)
            .filter(|&tag| tag_generation(tag) == id.generation)
            .map(tag_status);
        let detail = match status {
            Some(status::RUNNING) => Detail::Running,
            Some(status::RETURNED) => Detail::Finished,
            Some(status::CANCELLED) => Detail::Cancelled,
            Some(status::PANICKED) => Detail::Panicked,
            _ => Detail::Stale,
        };
        self.error(detail, id)
    }

    /// A slot for a new coroutine, with its generation already advanced and
    /// its status `VACANT`. An idle stack it holds stays in it. `core` is
    /// the core that owns this table, recorded in new slots.
    pub(super) fn claim(&mut self, core: NonNull<()>) -> CoroutineId {
        while let Some(index) = self.free.pop() {
            let old = self.tag_at(index).expect("free slots exist");
            debug_assert!(tag_status(old) >= status::RETURNED);
            if let Some(next) = tag_generation(old).checked_add(1) {
                self.set_tag_at(index, tag(next, status::VACANT));
                return CoroutineId {
                    index,
                    generation: next,
                };
            }
            // Generation exhausted: retire the slot for good, so that no
            // handle can ever match a later occupant.
            if self.meta_mut(index).stack.take().is_some() {
                self.idle -= 1;
            }
        }
        let index = u32::try_from(self.slots.len()).expect("more than 2^32 coroutine slots");
        let slot = Box::new(Slot {
            tag: tag(0, status::VACANT),
            core,
            index,
            cancelling: false,
            resumed_panicking: false,
            body: Storage(MaybeUninit::uninit()),
            meta: SlotMeta {
                teardown: None,
                stack: None,
                name: None,
            },
        });
        self.slots.push(SlotRef(NonNull::from(Box::leak(slot))));
        CoroutineId {
            index,
            generation: 0,
        }
    }

    /// Drops every idle stack kept in ended slots.
    #[cold]
    pub(super) fn release_idle(&mut self) {
        for i in 0..self.free.len() {
            let index = self.free[i];
            self.meta_mut(index).stack = None;
        }
        self.idle = 0;
    }
}
