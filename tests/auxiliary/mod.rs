//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod driver;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Counts how many times values made by it were dropped.
#[derive(Clone, Default)]
pub struct DropCounter(Rc<Cell<usize>>);

impl DropCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A value whose drop is counted.
    pub fn token(&self) -> Token {
        Token(self.0.clone())
    }

    pub fn drops(&self) -> usize {
        self.0.get()
    }
}

/// Increments its counter when dropped.
pub struct Token(Rc<Cell<usize>>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// An event log shared between the test and its coroutines.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&self, entry: impl Into<String>) {
        self.0.borrow_mut().push(entry.into());
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

/// Pushes its label to a log when dropped.
pub struct LogOnDrop(pub Log, pub &'static str);

impl Drop for LogOnDrop {
    fn drop(&mut self) {
        self.0.push(self.1);
    }
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// Whether this process is a child started by [`run_child`].
pub fn in_child() -> bool {
    std::env::var_os("COSHARE_CHILD").is_some()
}

/// Runs the test named `test` of this test binary in a child process (with
/// `COSHARE_CHILD` set, so the test knows to do its real work) and returns
/// its output. For tests that abort, exhaust process limits, or change
/// process-wide settings.
pub fn run_child(test: &str) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().expect("test binary path"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("COSHARE_CHILD", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("start the child process")
}

/// Runs `test` in a child process and checks that it succeeded and printed
/// `CHILD OK`.
pub fn run_child_ok(test: &str) {
    let out = run_child(test);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("CHILD OK"), "{stdout}");
}

/// Runs `f` on a thread of its own and fails if it has not finished
/// within `limit`: a hang fails the test instead of stalling the suite.
/// A driver is `!Send`, so `f` makes its own.
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            worker.join().expect("the worker finished");
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: report its panic.
            match worker.join() {
                Err(payload) => std::panic::resume_unwind(payload),
                Ok(()) => unreachable!("a worker that sent nothing panicked"),
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}")
        }
    }
}

/// A unique path under the temporary directory for a Unix socket, removed
/// (if anything is there) when dropped.
pub struct TempPath(pub std::path::PathBuf);

impl TempPath {
    pub fn new(name: &str) -> TempPath {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "coshare-{name}-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        TempPath(path)
    }
}

impl std::ops::Deref for TempPath {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Checks that no wait on a socket or a signal is left registered with the
/// driver, which must have no live task: a task that waits on a channel
/// nobody sends to is then a deadlock, which `run` reports at once. (A
/// wait left behind would make `run` wait for I/O for ever instead: call
/// this under [`within`].)
pub fn assert_no_io_wait_left<S: 'static>(d: &mut coshare::driver::Driver<S>) {
    use coshare::driver::Task;
    use coshare::{Eff, Yields};
    assert!(d.tasks().is_empty(), "live tasks: {:?}", d.tasks());
    let (tx, mut rx) = d.handle().channel::<()>(1);
    let h = d
        .spawn(move |t: &mut Task<S>| -> Eff<Yields, ()> {
            let _ = t.recv(&mut rx)?;
            Ok(())
        })
        .unwrap();
    let deadlock = d.run().expect_err("a task waits on nothing that can come");
    assert_eq!(deadlock.tasks.len(), 1, "{deadlock}");
    d.cancel(&h).unwrap();
    drop(tx);
}
