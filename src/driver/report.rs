//! What the driver reports about its tasks: [`WaitOn`], [`TaskInfo`] and
//! [`Deadlock`].

use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use super::clock::Instant;
use crate::error::CoroutineId;

/// What a task waits on, as listed by [`Driver::tasks`](super::Driver::tasks)
/// and in a deadlock report.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitOn {
    /// Ready to run (spawned, woken, or yielded with `yield_now`).
    Ready,
    /// Running now (only seen from inside a task).
    Running,
    /// Sleeping until the instant.
    Sleep {
        /// When the sleep ends.
        until: Instant,
    },
    /// Waiting to receive on a channel.
    Recv {
        /// The channel.
        channel: u64,
    },
    /// Waiting for room to send on a full channel.
    Send {
        /// The channel.
        channel: u64,
        /// Its capacity.
        capacity: usize,
    },
    /// Waiting for another task to finish.
    Join {
        /// The task waited for.
        task: CoroutineId,
        /// Its name, if it has one.
        name: Option<Rc<str>>,
    },
    /// Waiting for a [`Notify`](super::Notify).
    Notify {
        /// The notify object.
        id: u64,
    },
    /// Waiting for an [`Event`](super::Event) to be set.
    Event {
        /// The event object.
        id: u64,
    },
    /// Waiting for the next tick of an [`Interval`](super::Interval).
    Tick {
        /// When the tick is due.
        at: Instant,
    },
    /// Waiting for a socket to become readable or writable.
    Io {
        /// What the socket is waiting for.
        what: &'static str,
        /// The registration token.
        token: usize,
    },
    /// Waiting for one of a set of Unix signals.
    Signal {
        /// The signal numbers, in ascending order.
        signals: Rc<[i32]>,
    },
    /// Waiting for the tasks of its task scope to finish.
    Scope {
        /// How many of them have not finished yet.
        children: usize,
    },
    /// Waiting for permits of a [`Semaphore`](super::Semaphore).
    Semaphore {
        /// The semaphore.
        id: u64,
        /// How many permits it waits for.
        permits: usize,
    },
    /// Waiting for several tasks to finish ([`wait::join_all`](super::wait::join_all),
    /// [`wait::try_join_all`](super::wait::try_join_all)).
    JoinAll {
        /// How many of them have not finished yet.
        tasks: usize,
    },
    /// Waiting for whichever of these comes first.
    Any(Vec<WaitOn>),
    /// Waiting on a source written outside this crate, which describes
    /// itself (see [`WaitOn::custom`]).
    Custom(Cow<'static, str>),
}

impl fmt::Display for WaitOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitOn::Ready => f.write_str("is ready to run"),
            WaitOn::Running => f.write_str("is running"),
            WaitOn::Sleep { until } => write!(f, "sleeps until {until}"),
            WaitOn::Recv { channel } => write!(f, "waits to receive on channel #{channel}"),
            WaitOn::Send { channel, capacity } => write!(
                f,
                "waits to send on channel #{channel} (full, capacity {capacity})"
            ),
            WaitOn::Join {
                task,
                name: Some(name),
            } => {
                write!(f, "waits for task `{name}` ({task}) to finish")
            }
            WaitOn::Join { task, name: None } => write!(f, "waits for task {task} to finish"),
            WaitOn::Notify { id } => write!(f, "waits on notify #{id}"),
            WaitOn::Event { id } => write!(f, "waits for event #{id}"),
            WaitOn::Tick { at } => write!(f, "waits for an interval tick at {at}"),
            WaitOn::Io { what, token } => write!(f, "waits for socket {token} to become {what}"),
            WaitOn::Signal { signals } => match &signals[..] {
                [one] => write!(f, "waits for signal {one}"),
                all => {
                    f.write_str("waits for one of the signals ")?;
                    for (i, signal) in all.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{signal}")?;
                    }
                    Ok(())
                }
            },
            WaitOn::Scope { children } => {
                write!(f, "waits for the {children} task(s) of its scope to finish")
            }
            WaitOn::Semaphore { id, permits } => {
                write!(f, "waits for {permits} permit(s) of semaphore #{id}")
            }
            WaitOn::JoinAll { tasks } => write!(f, "waits for {tasks} task(s) to finish"),
            WaitOn::Custom(what) => write!(f, "waits for {what}"),
            WaitOn::Any(all) => {
                f.write_str("waits for any of: ")?;
                for (i, w) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{w}")?;
                }
                Ok(())
            }
        }
    }
}

impl WaitOn {
    /// The description of a wait on a source of the caller's own, shown in
    /// task listings and deadlock reports as "waits for {what}".
    ///
    /// ```
    /// use coshare::driver::WaitOn;
    ///
    /// let wait = WaitOn::custom("the next sample of sensor 3");
    /// assert_eq!(wait.to_string(), "waits for the next sample of sensor 3");
    /// ```
    pub fn custom(what: impl Into<Cow<'static, str>>) -> WaitOn {
        WaitOn::Custom(what.into())
    }
}

/// A live task, what it waits on, and where.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's coroutine id.
    pub id: CoroutineId,
    /// Its name, if it was spawned with one.
    pub name: Option<Rc<str>>,
    /// What it waits on.
    pub wait: WaitOn,
    /// Where in the task's code it waits: the call of the waiting method
    /// (`recv`, `sleep`, `select!`, ...). `None` unless it is waiting.
    pub location: Option<&'static Location<'static>>,
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "task `{name}` ({}) {}", self.id, self.wait)?,
            None => write!(f, "task {} {}", self.id, self.wait)?,
        }
        match self.location {
            Some(at) => write!(f, " at {}:{}", at.file(), at.line()),
            None => Ok(()),
        }
    }
}

/// Why [`Driver::run`](super::Driver::run) could not finish: tasks wait and nothing can wake
/// them. Lists every live task and what it waits on.
#[derive(Clone, Debug)]
pub struct Deadlock {
    /// Every live task and what it waits on, in slot order.
    pub tasks: Vec<TaskInfo>,
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tasks.is_empty() {
            return f.write_str(
                "the driver stalled: no task is left and the condition it was run for is not met",
            );
        }
        write!(
            f,
            "deadlock: {} task(s) wait and nothing can wake them (no timer is pending):",
            self.tasks.len()
        )?;
        for task in &self.tasks {
            write!(f, "\n  {task}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Deadlock {}
