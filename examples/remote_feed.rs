//! A worker thread feeds a driver through its remote handle.
//!
//! Two device threads read "sensors" with blocking calls (here: a sleep
//! and a counter) and send each reading into the driver over a remote
//! channel. On the driver's thread, one task files every reading into the
//! shared state and raises an alarm when a sensor goes quiet for too long;
//! another prints a summary every 50 ms. When the devices are done, the
//! first thread sets a remote event that ends the tasks.
//!
//! ```text
//! $ cargo run --example remote_feed
//! sensor a: 40 readings, in order, last 39
//! sensor b: 40 readings, in order, last 39
//! alarms: 1 (sensor b went quiet)
//! summaries printed while the devices ran: at least 1
//! shutdown: set from the device thread
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use coshare::driver::{Driver, Task, wait};
use coshare::{Eff, Yields, select};

/// One reading of one sensor.
struct Reading {
    sensor: &'static str,
    seq: u32,
}

#[derive(Default)]
struct Plant {
    /// Readings per sensor, in the order they arrived.
    readings: BTreeMap<&'static str, Vec<u32>>,
    alarms: Vec<String>,
    /// The sensor alarmed about, until it sends again.
    alarmed: Option<&'static str>,
    summaries: u32,
}

const READINGS: u32 = 40;
/// Silence longer than this is an alarm.
const QUIET: Duration = Duration::from_millis(60);

fn main() {
    let mut driver = Driver::new(Plant::default());
    let (tx, mut readings) = driver.handle().remote_channel::<Reading>();
    let shutdown = driver.handle().event();
    let shutdown_from_device = shutdown.remote();

    // The devices: plain threads with blocking reads.
    let devices: Vec<_> = [("a", 2u64), ("b", 3u64)]
        .into_iter()
        .map(|(sensor, period_ms)| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for seq in 0..READINGS {
                    std::thread::sleep(Duration::from_millis(period_ms));
                    if sensor == "b" && seq == 20 {
                        // The sensor stalls once: the driver notices.
                        std::thread::sleep(QUIET * 3);
                    }
                    tx.send(Reading { sensor, seq })
                        .unwrap_or_else(|_| panic!("the driver went away"));
                }
            })
        })
        .collect();
    drop(tx);

    let stop = shutdown.clone();
    driver
        .spawn(move |t: &mut Task<Plant>| -> Eff<Yields, ()> {
            loop {
                select!(t, {
                    reading = wait::recv(&mut readings) => match reading {
                        Ok(Reading { sensor, seq }) => {
                            let plant = t.state();
                            plant.readings.entry(sensor).or_default().push(seq);
                            if plant.alarmed == Some(sensor) {
                                plant.alarmed = None;
                            }
                        }
                        Err(_every_device_is_done) => break,
                    },
                    () = wait::sleep(QUIET) => {
                        let plant = t.state();
                        let quiet = quiet_sensor(plant);
                        if plant.alarmed != Some(quiet) {
                            plant.alarmed = Some(quiet);
                            plant.alarms.push(format!("sensor {quiet} went quiet"));
                        }
                    },
                    () = wait::event(&stop) => break,
                });
            }
            Ok(())
        })
        .unwrap();
    driver
        .spawn(move |t: &mut Task<Plant>| -> Eff<Yields, ()> {
            loop {
                select!(t, {
                    () = wait::sleep(Duration::from_millis(50)) => {
                        t.state().summaries += 1;
                    },
                    () = wait::event(&shutdown) => return Ok(()),
                });
            }
        })
        .unwrap();

    // The first device thread, once every device is done, sets the event.
    let waiter = std::thread::spawn(move || {
        for device in devices {
            device.join().unwrap();
        }
        shutdown_from_device.set().unwrap();
    });
    driver.run().unwrap();
    waiter.join().unwrap();

    let plant = driver.state();
    for (sensor, seqs) in &plant.readings {
        let in_order = seqs.iter().copied().eq(0..READINGS);
        println!(
            "sensor {sensor}: {} readings, {}, last {}",
            seqs.len(),
            if in_order { "in order" } else { "OUT OF ORDER" },
            seqs.last().unwrap()
        );
        assert!(in_order);
    }
    println!(
        "alarms: {} ({})",
        plant.alarms.len(),
        plant.alarms.first().map_or("none", String::as_str)
    );
    println!(
        "summaries printed while the devices ran: {}",
        if plant.summaries > 0 {
            "at least 1"
        } else {
            "none"
        }
    );
    println!("shutdown: set from the device thread");
    assert!(plant.alarms.iter().any(|a| a.contains('b')));
}

/// The sensor with the fewest readings: the one that stalled.
fn quiet_sensor(plant: &Plant) -> &'static str {
    plant
        .readings
        .iter()
        .min_by_key(|(_, seqs)| seqs.len())
        .map_or("?", |(sensor, _)| sensor)
}

#[test]
fn runs() {
    main();
}
