//! The timeline of a run: what each straight-line task did, in time.
//!
//! A small plant on the virtual clock: a sensor posts a reading every 40
//! ms, a logger writes each reading (taking 15 ms for it), and a watchdog
//! raises an alarm when no reading came for 100 ms; after six readings the
//! sensor fails, the watchdog raises its alarm, and an operator task,
//! woken by it, stops the plant. The driver records a timeline; this
//! example writes it in the Chrome trace-event format (open it in
//! `ui.perfetto.dev` or `chrome://tracing`), then draws that file as an
//! SVG picture, one row per task (the README's picture is this file).
//!
//! ```text
//! $ cargo run --example timeline -- target/timeline
//! wrote target/timeline/timeline.json (12 tasks steps ...) and target/timeline/timeline.svg
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use coshare::driver::{Driver, DriverBuilder, Task, wait};
use coshare::{SpawnOptions, select};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Default)]
struct Plant {
    logged: Vec<u32>,
    alarm: bool,
}

fn plant() -> Driver<Plant> {
    let mut driver = DriverBuilder::new()
        .virtual_clock()
        .timeline(1000)
        .build(Plant::default());
    let (readings_tx, mut readings) = driver.handle().channel::<u32>(4);
    let (to_logger, mut for_logger) = driver.handle().channel::<u32>(4);
    let alarm = driver.handle().event();
    let stop = driver.handle().event();
    let named = |name: &str| SpawnOptions::new().name(name);

    let stopping = stop.clone();
    driver
        .spawn_with(&named("sensor"), move |t: &mut Task<Plant>| {
            for reading in 1..=6 {
                t.sleep(ms(40))?;
                t.send(&readings_tx, reading)?.ok();
            }
            // The sensor fails: no more readings.
            t.wait_event(&stopping)
        })
        .unwrap();
    let (watchdog_alarm, stopping) = (alarm.clone(), stop.clone());
    driver
        .spawn_with(&named("watchdog"), move |t: &mut Task<Plant>| {
            loop {
                select!(t, {
                    reading = wait::recv(&mut readings) => match reading {
                        Ok(reading) => {
                            t.send(&to_logger, reading)?.ok();
                        }
                        Err(_closed) => return Ok(()),
                    },
                    () = wait::sleep(ms(100)) => {
                        t.state().alarm = true;
                        watchdog_alarm.set();
                    }
                    () = wait::event(&stopping) => return Ok(()),
                });
            }
        })
        .unwrap();
    driver
        .spawn_with(&named("logger"), move |t: &mut Task<Plant>| {
            while let Ok(reading) = t.recv(&mut for_logger)? {
                t.sleep(ms(15))?; // writing takes a while
                t.state().logged.push(reading);
            }
            Ok(())
        })
        .unwrap();
    driver
        .spawn_with(&named("operator"), move |t: &mut Task<Plant>| {
            t.wait_event(&alarm)?;
            t.sleep(ms(30))?; // walks over
            stop.set();
            Ok(())
        })
        .unwrap();
    driver
}

fn main() {
    let dir = std::env::args().nth(1).map_or_else(
        || std::env::temp_dir().join("coshare-timeline"),
        PathBuf::from,
    );
    write_timeline(&dir);
}

/// Runs the plant and writes its timeline and picture into `dir`.
fn write_timeline(dir: &Path) {
    std::fs::create_dir_all(dir).expect("an output directory");

    let mut driver = plant();
    driver.run().expect("the plant stops");
    assert_eq!(driver.state().logged, [1, 2, 3, 4, 5, 6]);
    assert!(driver.state().alarm);

    let timeline = driver.timeline().expect("recorded");
    let json_path = dir.join("timeline.json");
    std::fs::write(&json_path, timeline.to_chrome_json()).expect("write the timeline");
    let svg_path = dir.join("timeline.svg");
    let svg = draw(&json_path);
    std::fs::write(&svg_path, svg).expect("write the picture");
    println!(
        "wrote {} ({} steps) and {}",
        json_path.display(),
        timeline.steps().count(),
        svg_path.display()
    );
}

/// One slice of a row.
struct Slice {
    start: f64,
    dur: f64,
    label: String,
    wait: bool,
}

/// Draws a Chrome trace-event file as an SVG picture: a row per task, a
/// bar per wait (labelled with what it waited on), a tick per step.
fn draw(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("the timeline file");
    let trace: serde_json::Value = serde_json::from_str(&text).expect("trace-event JSON");
    let events = trace["traceEvents"].as_array().expect("events");
    let mut rows: Vec<(u64, String, Vec<Slice>)> = Vec::new();
    for event in events {
        let tid = event["tid"].as_u64().unwrap_or(0);
        let row = match rows.iter().position(|(t, _, _)| *t == tid) {
            Some(at) => at,
            None => {
                rows.push((tid, format!("task {tid}"), Vec::new()));
                rows.len() - 1
            }
        };
        match event["ph"].as_str() {
            Some("M") => rows[row].1 = event["args"]["name"].as_str().unwrap_or("").to_owned(),
            Some("X") => rows[row].2.push(Slice {
                start: event["ts"].as_f64().unwrap_or(0.0),
                dur: event["dur"].as_f64().unwrap_or(0.0),
                label: event["name"].as_str().unwrap_or("").to_owned(),
                wait: event["cat"].as_str() == Some("wait"),
            }),
            _ => {}
        }
    }
    let end = rows
        .iter()
        .flat_map(|(_, _, slices)| slices.iter().map(|s| s.start + s.dur))
        .fold(1.0f64, f64::max);
    let (left, width, row_height) = (190.0, 760.0, 34.0);
    let x = |micros: f64| left + micros / end * width;
    let height = 40.0 + row_height * rows.len() as f64 + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" font-family="monospace" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="13">Each row is one task; a bar is a wait (what it waits on), a tick is a step it ran.</text>
"#,
        w = left + width + 20.0
    );
    for (i, (_, name, slices)) in rows.iter().enumerate() {
        let y = 40.0 + row_height * i as f64;
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{}">{}</text>"#,
            y + 20.0,
            escape(name)
        );
        for slice in slices {
            if slice.wait {
                let (x0, x1) = (x(slice.start), x(slice.start + slice.dur));
                let _ = writeln!(
                    svg,
                    r##"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="22" fill="#cfe3f7" stroke="#7aa7d6"/>"##,
                    y + 6.0,
                    (x1 - x0).max(1.0)
                );
                // A short label, where it fits.
                let room = ((x1 - x0) / 6.6) as usize;
                if room > 4 {
                    let label: String = short(&slice.label).chars().take(room).collect();
                    let _ = writeln!(
                        svg,
                        r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                        x0 + 3.0,
                        y + 21.0,
                        escape(&label)
                    );
                }
            } else {
                let _ = writeln!(
                    svg,
                    r##"<rect x="{:.1}" y="{:.1}" width="2" height="30" fill="#c0392b"/>"##,
                    x(slice.start) - 1.0,
                    y + 2.0
                );
            }
        }
    }
    let axis = 40.0 + row_height * rows.len() as f64 + 15.0;
    let step = 50_000.0; // a mark every 50 ms
    let mut mark = 0.0;
    while mark <= end {
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{axis}" fill="#555">{} ms</text>"##,
            x(mark) - 8.0,
            mark / 1000.0
        );
        mark += step;
    }
    svg.push_str("</svg>\n");
    svg
}

/// A wait's description, shortened for a bar.
fn short(label: &str) -> String {
    label
        .replace("for any of: ", "")
        .replace("waits to receive on channel ", "recv ")
        .replace("to receive on channel ", "recv ")
        .replace("waits for event ", "event ")
        .replace("for event ", "event ")
        .replace("sleeps until ", "sleep to ")
        .replace("; ", " | ")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn the_example_runs() {
    // Not `main`: under the test harness the first argument is the
    // harness's own (`--quiet`, a filter), not an output directory.
    write_timeline(&std::env::temp_dir().join("coshare-timeline-test"));
}
