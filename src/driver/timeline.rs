//! [`Timeline`]: a bounded record of when each task ran and what it waited
//! on, exported in the Chrome trace-event format.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::panic::Location;
use std::rc::Rc;

use super::clock::Instant;
use super::report::WaitOn;
use crate::error::CoroutineId;

/// What a task did after one of its steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepEnd {
    /// It parked in a wait.
    Waits {
        /// What it waits on.
        wait: WaitOn,
        /// Where in its code.
        at: Option<&'static Location<'static>>,
    },
    /// It yielded (`yield_now`) and is ready again.
    Ready,
    /// It returned, was cancelled or panicked.
    Ends,
}

/// One step of one task: the driver resumed it at `start` and got control
/// back at `end` (driver time: equal under a virtual clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The task.
    pub task: CoroutineId,
    /// Its name, if it has one.
    pub name: Option<Rc<str>>,
    /// When the driver resumed it.
    pub start: Instant,
    /// When it gave control back.
    pub end: Instant,
    /// What it did then.
    pub then: StepEnd,
}

/// The steps of a run, oldest first, up to a capacity: when full, the
/// oldest step is dropped (and counted), so a long run keeps its last
/// stretch. Enabled with [`DriverBuilder::timeline`](super::DriverBuilder::timeline),
/// read with [`Driver::timeline`](super::Driver::timeline).
///
/// [`to_chrome_json`](Timeline::to_chrome_json) writes it in the Chrome
/// trace-event format, which Perfetto (`ui.perfetto.dev`) and
/// `chrome://tracing` open: one row per task, a slice for each step it ran
/// and one for each wait, named by what it waited on, with the wait's
/// location in the task's code.
///
/// ```
/// use std::time::Duration;
///
/// use coshare::driver::{DriverBuilder, Task};
/// use coshare::{Eff, Yields};
///
/// let mut driver = DriverBuilder::new().virtual_clock().timeline(1000).build(());
/// driver
///     .spawn(|t: &mut Task<()>| -> Eff<Yields, ()> {
///         t.sleep(Duration::from_millis(5))?;
///         t.sleep(Duration::from_millis(10))
///     })
///     .unwrap();
/// driver.run().unwrap();
/// let timeline = driver.timeline().unwrap();
/// assert_eq!(timeline.steps().count(), 3); // started, woke at 5 ms, woke at 15 ms
/// let json = timeline.to_chrome_json();
/// assert!(json.contains(r#""name":"sleeps until 5ms""#));
/// ```
#[derive(Clone, Debug)]
pub struct Timeline {
    capacity: usize,
    steps: VecDeque<Step>,
    dropped: u64,
}

impl Timeline {
    pub(crate) fn new(capacity: usize) -> Timeline {
        Timeline {
            capacity: capacity.max(1),
            steps: VecDeque::new(),
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, step: Step) {
        if self.steps.len() == self.capacity {
            self.steps.pop_front();
            self.dropped += 1;
        }
        self.steps.push_back(step);
    }

    /// The recorded steps, oldest first.
    pub fn steps(&self) -> impl ExactSizeIterator<Item = &Step> {
        self.steps.iter()
    }

    /// How many of the oldest steps were dropped to stay within capacity.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The timeline in the Chrome trace-event format (JSON): a row per
    /// task, a slice per step it ran (`run`, with the location it resumed
    /// from), a slice per wait (named by what it waited on, with its
    /// location), times in microseconds of driver time. A wait that had not
    /// ended when the record stops is drawn up to the last recorded time.
    pub fn to_chrome_json(&self) -> String {
        let last = self.steps.iter().map(|s| s.end).max().unwrap_or_default();
        let mut out = String::from("{\"traceEvents\":[");
        let mut first = true;
        let mut event = |out: &mut String, json: String| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&json);
        };
        // A row per task, named once.
        let mut named: Vec<CoroutineId> = Vec::new();
        for step in &self.steps {
            if !named.contains(&step.task) {
                named.push(step.task);
                let label = match &step.name {
                    Some(name) => format!("task `{name}` ({})", step.task),
                    None => format!("task {}", step.task),
                };
                event(
                    &mut out,
                    format!(
                        r#"{{"name":"thread_name","ph":"M","pid":1,"tid":{},"args":{{"name":{}}}}}"#,
                        tid(step.task),
                        json_string(&label)
                    ),
                );
            }
        }
        for (at, step) in self.steps.iter().enumerate() {
            event(
                &mut out,
                format!(
                    r#"{{"name":"run","cat":"run","ph":"X","pid":1,"tid":{},"ts":{},"dur":{}}}"#,
                    tid(step.task),
                    micros(step.start),
                    micros_between(step.start, step.end)
                ),
            );
            if let StepEnd::Waits { wait, at: location } = &step.then {
                // Until the task's next step, or the end of the record.
                let until = self
                    .steps
                    .iter()
                    .skip(at + 1)
                    .find(|next| next.task == step.task)
                    .map_or(last, |next| next.start);
                let location = match location {
                    Some(l) => format!("{}:{}", l.file(), l.line()),
                    None => String::new(),
                };
                event(
                    &mut out,
                    format!(
                        r#"{{"name":{},"cat":"wait","ph":"X","pid":1,"tid":{},"ts":{},"dur":{},"args":{{"at":{}}}}}"#,
                        json_string(&wait.to_string().replacen("waits ", "", 1)),
                        tid(step.task),
                        micros(step.end),
                        micros_between(step.end, until),
                        json_string(&location)
                    ),
                );
            }
        }
        let _ = write!(
            out,
            r#"],"displayTimeUnit":"ms","otherData":{{"dropped_steps":{}}}}}"#,
            self.dropped
        );
        out
    }
}

/// A task's row: its slot index (ids of one slot share a row).
fn tid(task: CoroutineId) -> u32 {
    task.index()
}

fn micros(at: Instant) -> String {
    format!("{:.3}", at.since_start().as_nanos() as f64 / 1000.0)
}

fn micros_between(from: Instant, to: Instant) -> String {
    format!("{:.3}", (to - from).as_nanos() as f64 / 1000.0)
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn step(index: u32, start_ms: u64, end_ms: u64, then: StepEnd) -> Step {
        Step {
            task: CoroutineId {
                index,
                generation: 0,
            },
            name: (index == 0).then(|| Rc::from("first \"quoted\"")),
            start: Instant::ZERO + Duration::from_millis(start_ms),
            end: Instant::ZERO + Duration::from_millis(end_ms),
            then,
        }
    }

    #[test]
    fn a_full_timeline_drops_its_oldest_steps_and_counts_them() {
        let mut timeline = Timeline::new(2);
        for i in 0..5 {
            timeline.push(step(0, i, i, StepEnd::Ready));
        }
        assert_eq!(timeline.dropped(), 3);
        let starts: Vec<_> = timeline.steps().map(|s| s.start).collect();
        assert_eq!(
            starts,
            [
                Instant::ZERO + Duration::from_millis(3),
                Instant::ZERO + Duration::from_millis(4)
            ]
        );
    }

    #[test]
    fn the_chrome_export_has_a_row_per_task_and_a_slice_per_wait() {
        let mut timeline = Timeline::new(10);
        let sleeping = StepEnd::Waits {
            wait: WaitOn::Sleep {
                until: Instant::ZERO + Duration::from_millis(5),
            },
            at: Some(Location::caller()),
        };
        timeline.push(step(0, 0, 1, sleeping));
        timeline.push(step(1, 1, 1, StepEnd::Ends));
        timeline.push(step(0, 5, 5, StepEnd::Ends));
        let json = timeline.to_chrome_json();
        assert!(json.starts_with(r#"{"traceEvents":["#));
        assert!(json.contains(r#""args":{"name":"task `first \"quoted\"` (#0.0)"}"#));
        assert!(json.contains(r#""args":{"name":"task #1.0"}"#));
        // The wait runs from the end of the first step to the next one.
        assert!(
            json.contains(r#""name":"sleeps until 5ms","cat":"wait","ph":"X","pid":1,"tid":0,"ts":1000.000,"dur":4000.000"#),
            "{json}"
        );
        assert!(json.contains(&format!(r#""at":"{}:"#, file!())));
        assert!(json.ends_with(r#"],"displayTimeUnit":"ms","otherData":{"dropped_steps":0}}"#));
        assert_eq!(json.matches(r#""cat":"run""#).count(), 3);
    }

    #[test]
    fn strings_are_escaped_for_json() {
        assert_eq!(json_string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    }
}
