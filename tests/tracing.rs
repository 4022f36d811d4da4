//! The `tracing` feature: a span per task, entered while the task runs, and
//! an event when a wait starts and when it ends, with where the task waits.
//! Run with `cargo test --features tracing --test tracing`.
#![cfg(feature = "tracing")]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coshare::driver::{DriverBuilder, Task};
use coshare::{Eff, SpawnOptions, Yields};

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[test]
fn events_of_a_task_are_inside_its_span_and_waits_say_where() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .finish();
    let sleep_line = line!() + 9;
    tracing::subscriber::with_default(subscriber, || {
        let mut driver = DriverBuilder::new().virtual_clock().build(());
        for name in ["alice", "bob"] {
            driver
                .spawn_with(
                    &SpawnOptions::new().name(name),
                    move |t: &mut Task<()>| -> Eff<Yields, ()> {
                        tracing::info!("hello from {name}");
                        t.sleep(Duration::from_millis(5))?;
                        tracing::info!("{name} woke");
                        Ok(())
                    },
                )
                .unwrap();
        }
        driver.run().unwrap();
        tracing::info!("outside any task");
    });
    let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let find = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{out}"))
    };
    // Each task's events carry its span, with its id and name.
    assert!(find("hello from alice").contains("task{id=#0.0 name=\"alice\"}"));
    assert!(find("bob woke").contains("task{id=#1.0 name=\"bob\"}"));
    // Waits start and end, with where they are in the task's code.
    let starts = find("wait starts");
    assert!(starts.contains("sleeps until 5ms"), "{starts}");
    assert!(
        starts.contains(&format!("at={}:{sleep_line}", file!())),
        "{starts}"
    );
    assert!(find("wait ends").contains("interrupted=false"));
    // Outside a task, no task span.
    assert!(!find("outside any task").contains("task{"));
}

#[test]
fn a_shards_tasks_name_their_shard() {
    use coshare::driver::shards::{Shard, ShardsBuilder};

    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut shards = ShardsBuilder::new()
            .shards(2)
            .local(
                |_, _| (),
                |t: &mut Task<()>, shard: Shard<(), ()>| -> Eff<Yields, ()> {
                    let index = shard.index();
                    t.spawn_with(
                        &SpawnOptions::new().name("worker"),
                        move |_: &mut Task<()>| -> Eff<Yields, ()> {
                            tracing::info!("worker of shard {index}");
                            Ok(())
                        },
                    )
                    .unwrap();
                    Ok(())
                },
            )
            .unwrap();
        shards.run_until_idle();
        shards.shutdown();
        drop(shards.finish());
        // A plain driver's tasks name no shard.
        let mut driver = DriverBuilder::new().virtual_clock().build(());
        driver
            .spawn(|_: &mut Task<()>| -> Eff<Yields, ()> {
                tracing::info!("not on a shard");
                Ok(())
            })
            .unwrap();
        driver.run().unwrap();
    });
    let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{out}"))
            .to_owned()
    };
    for index in 0..2 {
        let worker = line(&format!("worker of shard {index}"));
        assert!(
            worker.contains(&format!("name=\"worker\" shard={index}}}")),
            "{worker}"
        );
    }
    assert!(!line("not on a shard").contains("shard="));
}
