//! Shared helpers for the integration tests.
#![allow(dead_code)]

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
