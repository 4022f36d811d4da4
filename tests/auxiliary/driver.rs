//! Shared helpers for the driver's tests.

use std::time::Duration;

use coshare::driver::{Driver, DriverBuilder, Instant, Task};

/// A state of log lines.
pub type Log = Vec<String>;

/// A driver on the virtual clock over an empty log.
pub fn virtual_driver() -> Driver<Log> {
    DriverBuilder::new().virtual_clock().build(Vec::new())
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The driver instant `n` milliseconds after its start.
pub fn at(n: u64) -> Instant {
    Instant::ZERO + ms(n)
}

/// Appends a line to the task's log.
pub fn log(t: &mut Task<Log>, line: impl Into<String>) {
    t.state().push(line.into());
}
