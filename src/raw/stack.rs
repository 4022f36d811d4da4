//! Guarded stacks, the per-stage pool and the process-wide stack budget.
//!
//! ```text
//!   high addresses
//!   +---------------------------+  <- top of the mapping
//!   | colour (0..COLOURS lines) |
//!   +---------------------------+  <- base (StackRef::base)
//!   | usable stack (size bytes, |     grows downwards; the colour's page
//!   | rounded up to pages)      |     is mapped in addition to `size`
//!   +---------------------------+
//!   | guard page (PROT_NONE)    |     a stack overflow faults here
//!   +---------------------------+  <- limit (StackRef::limit)
//!   low addresses
//! ```
//!
//! Every stack is a corosensei `DefaultStack`: one `mmap` with a guard page
//! at the low end, and one page more than the usable size at the top.
//!
//! **Colouring.** Stacks are mapped at page-aligned addresses, so without
//! care the first frame of every coroutine would sit at the same offset
//! modulo the page size, and modulo the larger power-of-two strides the
//! mappings fall at: the hot lines of all stacks would compete for the same
//! few sets of the CPU caches, and a scheduler switching between many
//! coroutines would miss where it need not. Each stack's base is therefore
//! lowered by a "colour" of `0..COLOURS` cache lines, taken in turn, inside
//! the extra top page (glibc staggers thread stacks the same way). The
//! usable size below the base is still at least the size asked for. A coroutine does not own its stack; it runs on a
//! [`StackRef`] (two addresses) while the slot that holds the coroutine owns
//! the [`Mapped`] stack. This is what makes reuse cheap: when a coroutine
//! ends, its stack simply stays in its slot, idle, and the next coroutine
//! spawned into that slot runs on it; stacks of other sizes wait in the
//! stage's [`Pool`].
//!
//! Invariants:
//! * A [`Mapped`] stack is dropped (unmapped), left idle in its slot or put
//!   in the pool only after the coroutine that ran on it has completed or
//!   been fully unwound and dropped (see `Running::finish`, `Running::drop`
//!   and `end_slot` in the parent module). Idle stacks, in slots and in the
//!   pool together, are capped by `max_pooled_stacks`.
//! * [`MAPPED`] counts every live `Mapped` in the process, pooled or in use.
//!   It never exceeds the process-wide limit derived from
//!   `vm.max_map_count`, so coroutine stacks cannot starve the allocator of
//!   memory maps.

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use corosensei::stack::{DefaultStack, Stack, StackPointer};

use super::overflow;
use crate::error::{CoroutineId, Detail, Error, ErrorKind};
use crate::options::MAX_STACK_SIZE;

/// How many memory maps the stack budget leaves to the rest of the process
/// (allocator arenas, thread stacks, libraries).
const RESERVED_MAPS: usize = 2048;

/// Guarded stacks mapped by this process (pooled or in use).
static MAPPED: AtomicUsize = AtomicUsize::new(0);

/// The process-wide limit on mapped stacks and the `vm.max_map_count` it was
/// derived from (`None` where the setting does not exist).
fn process_limit() -> (usize, Option<usize>) {
    static LIMIT: OnceLock<(usize, Option<usize>)> = OnceLock::new();
    *LIMIT.get_or_init(|| match read_max_map_count() {
        // Each stack takes two maps: the guard page and the usable part.
        Some(count) => (count.saturating_sub(RESERVED_MAPS) / 2, Some(count)),
        None => (usize::MAX, None),
    })
}

fn read_max_map_count() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The number of stacks mapped in this process, and the limit.
pub(crate) fn mapped_stacks() -> (usize, usize) {
    (MAPPED.load(Ordering::Relaxed), process_limit().0)
}

pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|p| p.is_power_of_two())
            .unwrap_or(4096)
    })
}

/// Checks a requested stack size and rounds it up to whole pages.
pub(crate) fn round_stack_size(requested: usize) -> Result<usize, Error> {
    if requested == 0 || requested > MAX_STACK_SIZE {
        return Err(Error::new(Detail::InvalidStackSize { requested }, None));
    }
    let page = page_size();
    // Cannot overflow: requested <= 1 GiB.
    Ok((requested + page - 1) & !(page - 1))
}

/// The two addresses a coroutine needs to run on a stack it does not own.
#[derive(Clone, Copy)]
pub(crate) struct StackRef {
    base: StackPointer,
    limit: StackPointer,
}

// SAFETY: `limit` is copied from a `DefaultStack`, which has a guard page
// there, and `base` is that stack's base lowered by its colour: fewer than
// `COLOURS * LINE` bytes, a multiple of 64 (so still 16-byte aligned), inside
// the extra page mapped for it, so at least `size` (at least one page, more
// than `MIN_STACK_SIZE`) usable bytes remain between `limit`'s guard page
// and `base`. The mapping outlives every coroutine that runs on a `StackRef`
// to it: the owning `Mapped` stays in the coroutine's slot until the
// coroutine has completed and been dropped (module invariants).
unsafe impl Stack for StackRef {
    #[inline]
    fn base(&self) -> StackPointer {
        self.base
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.limit
    }
}

/// How many different colours (base offsets, in cache lines) stacks get.
const COLOURS: usize = 16;

/// The size of a cache line, the step between two colours.
const LINE: usize = 64;

/// The next colour, taken in turn by newly mapped stacks.
static NEXT_COLOUR: AtomicUsize = AtomicUsize::new(0);

/// An owned, guarded stack, counted in [`MAPPED`] and registered for
/// overflow reports.
pub(crate) struct Mapped {
    stack: DefaultStack,
    /// The stack's bounds, read once when it is mapped (they never change).
    bounds: StackRef,
    /// Usable size in bytes (page-rounded), excluding the guard page.
    size: usize,
    guard: &'static overflow::Entry,
}

impl Mapped {
    fn map(size: usize) -> Result<Mapped, Error> {
        let (limit, max_map_count) = process_limit();
        let before = MAPPED.fetch_add(1, Ordering::Relaxed);
        if before >= limit {
            MAPPED.fetch_sub(1, Ordering::Relaxed);
            return Err(stack_limit_error(before, limit, max_map_count));
        }
        // One page more than `size`, for the colour.
        match DefaultStack::new(size + page_size()) {
            Ok(stack) => {
                let lo = stack.limit().get();
                let guard = overflow::register(lo, lo + page_size(), size);
                let colour = NEXT_COLOUR.fetch_add(1, Ordering::Relaxed) % COLOURS * LINE;
                let base = StackPointer::new(stack.base().get() - colour)
                    .expect("a stack's base is far above zero");
                let bounds = StackRef {
                    base,
                    limit: stack.limit(),
                };
                Ok(Mapped {
                    stack,
                    bounds,
                    size,
                    guard,
                })
            }
            Err(source) => {
                MAPPED.fetch_sub(1, Ordering::Relaxed);
                Err(classify_map_error(size, source, limit, max_map_count))
            }
        }
    }

    /// Usable size in bytes (page-rounded), excluding the guard page.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Records, for overflow reports, the coroutine that now runs here.
    #[inline]
    pub(crate) fn set_occupant(&self, id: CoroutineId, name: Option<&str>) {
        self.guard.set_occupant(id, name);
    }

    /// The usable size, and how many bytes below the top of the mapping
    /// have been touched (the lowest resident page), from `mincore(2)`, at
    /// most the usable size. The stack grows down, so that is the
    /// high-water mark of every coroutine that ran on this stack since it
    /// was mapped (counted from the top of the mapping, so it includes the
    /// colour, less than a page).
    pub(crate) fn usage(&self) -> (usize, Option<usize>) {
        let page = page_size();
        let top = self.stack.base().get();
        let mapped = self.size + page;
        let low = top - mapped;
        let mut resident = vec![0u8; mapped / page];
        let addr = low as *mut libc::c_void;
        // SAFETY: `low..top` is the part of this stack's mapping above the
        // guard page (page-aligned: the mapping starts on a page boundary
        // and `mapped` is a whole number of pages), and `resident` has one
        // byte per page.
        let rc = unsafe { libc::mincore(addr, mapped, resident.as_mut_ptr()) };
        if rc != 0 {
            return (self.size, None);
        }
        let used = resident
            .iter()
            .position(|&r| r & 1 != 0)
            .map_or(0, |lowest| mapped - lowest * page);
        (self.size, Some(used.min(self.size)))
    }

    #[inline]
    pub(crate) fn stack_ref(&self) -> StackRef {
        self.bounds
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // The DefaultStack field unmaps itself after this.
        overflow::unregister(self.guard);
        MAPPED.fetch_sub(1, Ordering::Relaxed);
    }
}

fn stack_limit_error(mapped: usize, limit: usize, max_map_count: Option<usize>) -> Error {
    Error::new(
        Detail::StackLimit {
            mapped,
            limit,
            max_map_count,
        },
        None,
    )
}

/// `mmap`/`mprotect` fail with `ENOMEM` both when memory is short and when
/// the process has too many maps. Tell the two apart by counting the maps.
#[cold]
fn classify_map_error(
    size: usize,
    source: io::Error,
    limit: usize,
    max_map_count: Option<usize>,
) -> Error {
    if source.raw_os_error() == Some(libc::ENOMEM) {
        if let (Some(max), Some(maps)) = (max_map_count, count_maps()) {
            if maps + 2 >= max {
                return stack_limit_error(MAPPED.load(Ordering::Relaxed), limit, Some(max));
            }
        }
    }
    Error::new(Detail::StackAllocation { size, source }, None)
}

fn count_maps() -> Option<usize> {
    let maps = std::fs::read("/proc/self/maps").ok()?;
    Some(maps.iter().filter(|&&b| b == b'\n').count())
}

/// Stacks of one size, ready for reuse.
struct Bucket {
    size: usize,
    stacks: Vec<Mapped>,
}

/// A stage's stack pool. Stacks of each size are kept for reuse, up to
/// `max_pooled` in all, so that spawning on the steady path maps nothing.
pub(crate) struct Pool {
    default_size: usize,
    max_pooled: usize,
    pooled: usize,
    buckets: Vec<Bucket>,
}

impl Pool {
    pub(crate) fn new(default_size: usize, max_pooled: usize) -> Pool {
        Pool {
            default_size,
            max_pooled,
            pooled: 0,
            buckets: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn default_size(&self) -> usize {
        self.default_size
    }

    #[inline]
    pub(crate) fn pooled(&self) -> usize {
        self.pooled
    }

    #[inline]
    pub(crate) fn max_pooled(&self) -> usize {
        self.max_pooled
    }

    /// A stack of `size` usable bytes (already page-rounded): from the pool
    /// if one is there, freshly mapped otherwise.
    #[inline]
    pub(crate) fn take(&mut self, size: usize) -> Result<Mapped, Error> {
        if let Some(bucket) = self.buckets.iter_mut().find(|b| b.size == size) {
            if let Some(stack) = bucket.stacks.pop() {
                self.pooled -= 1;
                return Ok(stack);
            }
        }
        self.map_fresh(size)
    }

    #[cold]
    fn map_fresh(&mut self, size: usize) -> Result<Mapped, Error> {
        match Mapped::map(size) {
            Err(err) if err.kind() == ErrorKind::StackLimit && self.pooled > 0 => {
                // Our own pool holds stacks of other sizes: give their maps
                // back and try once more.
                self.clear();
                Mapped::map(size)
            }
            other => other,
        }
    }

    /// Takes back the stack of a coroutine that completed and was dropped.
    #[inline]
    pub(crate) fn give(&mut self, stack: Mapped) {
        if self.pooled >= self.max_pooled {
            return; // dropped: unmapped
        }
        let size = stack.size;
        match self.buckets.iter_mut().find(|b| b.size == size) {
            Some(bucket) => bucket.stacks.push(stack),
            None => self.buckets.push(Bucket {
                size,
                stacks: vec![stack],
            }),
        }
        self.pooled += 1;
    }

    /// Unmaps every pooled stack.
    pub(crate) fn clear(&mut self) {
        self.buckets.clear();
        self.pooled = 0;
    }
}
