//! Stack overflow reports.
//!
//! A coroutine that overflows its stack touches the guard page below it and
//! the kernel raises `SIGSEGV`. Memory is never corrupted (that is what the
//! guard page is for), but the default outcome is a bare "Segmentation
//! fault". This module turns it into a message that says which coroutine
//! overflowed, how large its stack was, and how to raise it, and then aborts.
//!
//! ```text
//!   guard registry (process-wide, append-only chunks, never freed)
//!   +-------------------------------------------+
//!   | Entry { guard: lo..hi, size, slot, gen,    |  <- one per mapped stack,
//!   |         name (first 64 bytes) }            |     reused after unmap
//!   +-------------------------------------------+
//! ```
//!
//! * Each mapped stack registers its guard page range in the registry when
//!   it is mapped and clears it when unmapped; each spawn records the
//!   coroutine that now runs on it. No work happens on resume or suspend.
//! * The `SIGSEGV`/`SIGBUS` handler (installed once, with `SA_ONSTACK` so it
//!   runs on the thread's alternate signal stack) looks the fault address up
//!   with atomic loads only, formats the message into a buffer on its own
//!   stack, writes it to standard error with `write(2)` and calls `abort()`.
//!   All of that is async-signal-safe: no allocation, no lock.
//! * A fault that is not in a coroutine guard page is passed to the handler
//!   that was installed before (the standard library's, which reports
//!   overflows of thread stacks), or to the default action.
//! * Rust threads get an alternate signal stack from the standard library.
//!   For other threads, [`ensure_alt_stack`] installs one the first time the
//!   thread creates a stage.

use std::cell::Cell;
use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use crate::error::CoroutineId;

const NAME_BYTES: usize = 64;
const CHUNK: usize = 256;

/// The registry record of one mapped stack.
pub(crate) struct Entry {
    /// Guard page range `lo..hi`; `lo == 0` means the entry is free.
    lo: AtomicUsize,
    hi: AtomicUsize,
    /// Usable stack size in bytes.
    size: AtomicUsize,
    /// The coroutine on the stack: slot index and generation (+1, so that
    /// zero means "none").
    index: AtomicU32,
    generation: AtomicU32,
    name_len: AtomicUsize,
    name: [AtomicU8; NAME_BYTES],
}

impl Entry {
    const fn new() -> Entry {
        Entry {
            lo: AtomicUsize::new(0),
            hi: AtomicUsize::new(0),
            size: AtomicUsize::new(0),
            index: AtomicU32::new(0),
            generation: AtomicU32::new(0),
            name_len: AtomicUsize::new(0),
            name: [const { AtomicU8::new(0) }; NAME_BYTES],
        }
    }

    /// Records the coroutine that now runs on this stack.
    #[inline]
    pub(crate) fn set_occupant(&self, id: CoroutineId, name: Option<&str>) {
        self.index
            .store(id.index.wrapping_add(1), Ordering::Relaxed);
        self.generation.store(id.generation, Ordering::Relaxed);
        let name = name.map_or(&[][..], str::as_bytes);
        let len = floor_char_boundary(name, NAME_BYTES);
        for (dst, &src) in self.name.iter().zip(&name[..len]) {
            dst.store(src, Ordering::Relaxed);
        }
        self.name_len.store(len, Ordering::Relaxed);
    }
}

fn floor_char_boundary(bytes: &[u8], max: usize) -> usize {
    if bytes.len() <= max {
        return bytes.len();
    }
    let mut len = max;
    // Back off over UTF-8 continuation bytes.
    while len > 0 && bytes[len] & 0xC0 == 0x80 {
        len -= 1;
    }
    len
}

struct Chunk {
    entries: [Entry; CHUNK],
    next: AtomicPtr<Chunk>,
}

/// The newest chunk; chunks link to older ones. Chunks are leaked: a signal
/// handler may be reading them at any time.
static HEAD: AtomicPtr<Chunk> = AtomicPtr::new(ptr::null_mut());

struct Allocator {
    /// Entries freed by unmapped stacks.
    free: Vec<&'static Entry>,
    /// Unused entries left in the newest chunk.
    unused: usize,
}

static ALLOCATOR: Mutex<Allocator> = Mutex::new(Allocator {
    free: Vec::new(),
    unused: 0,
});

/// Registers the guard page `lo..hi` of a stack of `size` usable bytes.
pub(crate) fn register(lo: usize, hi: usize, size: usize) -> &'static Entry {
    install_handler();
    let mut alloc = ALLOCATOR.lock().unwrap_or_else(|e| e.into_inner());
    let entry = match alloc.free.pop() {
        Some(entry) => entry,
        None => {
            if alloc.unused == 0 {
                let chunk: &'static Chunk = Box::leak(Box::new(Chunk {
                    entries: [const { Entry::new() }; CHUNK],
                    next: AtomicPtr::new(HEAD.load(Ordering::Acquire)),
                }));
                HEAD.store(ptr::from_ref(chunk).cast_mut(), Ordering::Release);
                alloc.unused = CHUNK;
            }
            alloc.unused -= 1;
            let head = HEAD.load(Ordering::Acquire);
            // SAFETY: `head` was stored above or earlier from a leaked
            // `&'static Chunk`, and chunks are never freed.
            let chunk: &'static Chunk = unsafe { &*head };
            &chunk.entries[alloc.unused]
        }
    };
    entry.hi.store(hi, Ordering::Relaxed);
    entry.size.store(size, Ordering::Relaxed);
    entry.index.store(0, Ordering::Relaxed);
    entry.name_len.store(0, Ordering::Relaxed);
    entry.lo.store(lo, Ordering::Release);
    entry
}

/// Clears an entry when its stack is unmapped.
pub(crate) fn unregister(entry: &'static Entry) {
    entry.lo.store(0, Ordering::Release);
    ALLOCATOR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .free
        .push(entry);
}

/// Finds the entry whose guard page holds `addr`. Async-signal-safe.
fn lookup(addr: usize) -> Option<&'static Entry> {
    let mut chunk = HEAD.load(Ordering::Acquire);
    while !chunk.is_null() {
        // SAFETY: chunks are leaked `&'static Chunk`s (see `register`).
        let c: &'static Chunk = unsafe { &*chunk };
        for entry in &c.entries {
            let lo = entry.lo.load(Ordering::Acquire);
            if lo != 0 && lo <= addr && addr < entry.hi.load(Ordering::Relaxed) {
                return Some(entry);
            }
        }
        chunk = c.next.load(Ordering::Acquire);
    }
    None
}

/// The handlers that were installed before ours, for chaining.
struct Previous {
    segv: MaybeUninit<libc::sigaction>,
    bus: MaybeUninit<libc::sigaction>,
}

struct PreviousCell(std::cell::UnsafeCell<Previous>);

// SAFETY: written once inside `INSTALL.call_once`, before our handler can
// run (it is installed after the write), and only read afterwards.
unsafe impl Sync for PreviousCell {}

static PREVIOUS: PreviousCell = PreviousCell(std::cell::UnsafeCell::new(Previous {
    segv: MaybeUninit::uninit(),
    bus: MaybeUninit::uninit(),
}));

static INSTALL: Once = Once::new();

fn install_handler() {
    INSTALL.call_once(|| {
        for (signal, slot) in [(libc::SIGSEGV, 0), (libc::SIGBUS, 1)] {
            // SAFETY: plain sigaction calls with valid pointers. The
            // previous action is stored before ours becomes active, and
            // `PREVIOUS` is not read before that (see `PreviousCell`).
            unsafe {
                let previous = &mut *PREVIOUS.0.get();
                let old = if slot == 0 {
                    previous.segv.as_mut_ptr()
                } else {
                    previous.bus.as_mut_ptr()
                };
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler
                    as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                    as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(signal, &action, old) != 0 {
                    // Could not install: keep the default behaviour.
                    ptr::write(old, std::mem::zeroed());
                }
            }
        }
    });
}

thread_local! {
    static ALT_STACK_CHECKED: Cell<bool> = const { Cell::new(false) };
}

/// Makes sure this thread has an alternate signal stack, so the handler can
/// run while the coroutine stack is exhausted. Rust threads have one; for
/// others a small stack is mapped once per thread and never freed.
pub(crate) fn ensure_alt_stack() {
    if ALT_STACK_CHECKED.with(|c| c.replace(true)) {
        return;
    }
    // SAFETY: sigaltstack with a null new stack only reads the current one.
    let enabled = unsafe {
        let mut current: libc::stack_t = std::mem::zeroed();
        libc::sigaltstack(ptr::null(), &mut current) == 0
            && current.ss_flags & libc::SS_DISABLE == 0
    };
    if enabled {
        return;
    }
    let size = (libc::SIGSTKSZ).max(64 * 1024);
    // SAFETY: a fresh anonymous mapping; on success it is handed to the
    // kernel as this thread's signal stack and never unmapped (the thread
    // may take a signal at any time until it exits).
    unsafe {
        let stack = libc::mmap(
            ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if stack == libc::MAP_FAILED {
            return;
        }
        let alt = libc::stack_t {
            ss_sp: stack,
            ss_flags: 0,
            ss_size: size,
        };
        if libc::sigaltstack(&alt, ptr::null_mut()) != 0 {
            libc::munmap(stack, size);
        }
    }
}

/// A message buffer on the handler's stack.
struct Buffer {
    bytes: [u8; 512],
    len: usize,
}

impl std::fmt::Write for Buffer {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.bytes.len() - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(entry) = lookup(addr) {
        report(entry, addr);
    }
    chain(signal, info, context);
}

/// Writes the overflow report and aborts. Async-signal-safe.
fn report(entry: &Entry, addr: usize) -> ! {
    let mut buf = Buffer {
        bytes: [0; 512],
        len: 0,
    };
    let size = entry.size.load(Ordering::Relaxed);
    let index = entry.index.load(Ordering::Relaxed);
    let name_len = entry.name_len.load(Ordering::Relaxed).min(NAME_BYTES);
    let mut name = [0u8; NAME_BYTES];
    for (dst, src) in name.iter_mut().zip(&entry.name[..name_len]) {
        *dst = src.load(Ordering::Relaxed);
    }
    let name = std::str::from_utf8(&name[..name_len]).unwrap_or("");
    let _ = buf.write_str("\ncoshare: stack overflow: ");
    if index == 0 {
        let _ = buf.write_str("a coroutine");
    } else {
        let id = CoroutineId {
            index: index - 1,
            generation: entry.generation.load(Ordering::Relaxed),
        };
        if name.is_empty() {
            let _ = write!(buf, "coroutine {id}");
        } else {
            let _ = write!(buf, "coroutine `{name}` ({id})");
        }
    }
    let _ = write!(
        buf,
        " overflowed its stack of {size} bytes (it touched the guard page at {addr:#x}).\n\
         coshare: give it a larger stack with SpawnOptions::stack_size or \
         StageBuilder::stack_size (at most 1 GiB), or move large locals to the heap.\n\
         coshare: aborting.\n"
    );
    // SAFETY: write(2) and abort(3) are async-signal-safe; the buffer is
    // valid for `len` bytes.
    unsafe {
        libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
        libc::abort();
    }
}

/// Passes a fault that is not ours to the previous handler.
fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: `PREVIOUS` was fully written before our handler was
    // installed (see `install_handler`).
    let previous = unsafe {
        let previous = &*PREVIOUS.0.get();
        if signal == libc::SIGBUS {
            previous.bus.assume_init_ref()
        } else {
            previous.segv.assume_init_ref()
        }
    };
    let action = previous.sa_sigaction;
    if action == libc::SIG_DFL || action == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction
        // runs again and the default action (a core dump) happens.
        // SAFETY: resetting a signal's disposition is async-signal-safe.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &dfl, ptr::null_mut());
        }
        return;
    }
    // SAFETY: the previous action is a handler function of the kind its
    // flags say; calling it with the arguments the kernel gave us is what
    // the kernel would have done.
    unsafe {
        if previous.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(action);
            f(signal, info, context);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(action);
            f(signal);
        }
    }
}
