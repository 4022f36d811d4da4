//! A check-then-act bug split by a wait, which every test in the default
//! order misses and schedule exploration finds.
//!
//! A booking desk sells the last seat of a flight. Each customer task
//! checks that a seat is left, waits for the payment service to accept the
//! payment, then books the seat. Read top to bottom, each task is correct;
//! but the payment is a wait, and while one customer waits another may run
//! and see the same free seat. The fix is the one the types make easy: do
//! the check and the act in one `with_state` block, with no wait between,
//! by reserving the seat before paying (and releasing it if the payment
//! fails).
//!
//! ```text
//! $ cargo run --example reservations
//! the default order: alice books the seat, bob finds it sold out
//! exploring 200 seeds:
//! a schedule breaks the check: the seat was sold twice: ["alice", "bob"]
//!   found with seed 0 (replay: DriverBuilder::new().explore(0))
//!   shrunk to 2 reordered round(s): "0:1,0,2;1:1,0" (replay exactly: DriverBuilder::new().replay("0:1,0,2;1:1,0".parse().unwrap()))
//!   the steps of that run:
//!      0. at 0ns: task `payments` (#1.0) runs, then waits to receive on channel #1 at examples/reservations.rs:52
//!      1. at 0ns: task `alice` (#0.0) runs, then waits to receive on channel #2 at examples/reservations.rs:64
//!      2. at 0ns: task `bob` (#2.0) runs, then yields
//!      3. at 0ns: task `bob` (#2.0) runs, then yields
//!      4. at 0ns: task `payments` (#1.0) runs, then waits to receive on channel #1 at examples/reservations.rs:52
//!      5. at 0ns: task `bob` (#2.0) runs, then waits to receive on channel #3 at examples/reservations.rs:64
//!      6. at 0ns: task `alice` (#0.0) runs to its end
//!      7. at 0ns: task `payments` (#1.0) runs, then waits to receive on channel #1 at examples/reservations.rs:52
//!      8. at 0ns: task `bob` (#2.0) runs to its end
//!      9. at 0ns: task `payments` (#1.0) runs to its end
//! with the seat reserved before paying: 200 seeds pass, and all 18 orders of the scenario
//! ```

use coshare::driver::{Driver, DriverBuilder, Explore, Receiver, Sender, Task};
use coshare::{Eff, SpawnOptions, Yields};

/// The flight: one seat, and who booked it.
#[derive(Debug, Default)]
struct Flight {
    seats_left: u32,
    booked: Vec<&'static str>,
}

/// A payment request: who pays, and where the answer goes.
struct Payment {
    reply: Sender<bool>,
}

/// The payment service: accepts every payment (it is the wait that
/// matters, not the answer).
fn payments(t: &mut Task<Flight>, mut requests: Receiver<Payment>) -> Eff<Yields, ()> {
    while let Ok(payment) = t.recv(&mut requests)? {
        let _ = t.send(&payment.reply, true)?;
    }
    Ok(())
}

/// Pays and waits for the answer.
fn pay(t: &mut Task<Flight>, service: &Sender<Payment>) -> Eff<Yields, bool> {
    let (reply, mut answer) = t.handle().channel(1);
    if t.send(service, Payment { reply })?.is_err() {
        return Ok(false);
    }
    Ok(t.recv(&mut answer)?.unwrap_or(false))
}

/// The customer as first written: check, pay, book.
fn customer_buggy(
    t: &mut Task<Flight>,
    name: &'static str,
    service: Sender<Payment>,
) -> Eff<Yields, bool> {
    if t.state().seats_left == 0 {
        return Ok(false); // sold out
    }
    // A wait: other tasks run here, and may see the same free seat.
    if !pay(t, &service)? {
        return Ok(false);
    }
    t.with_state(|flight| {
        flight.seats_left = flight.seats_left.saturating_sub(1);
        flight.booked.push(name);
    });
    Ok(true)
}

/// The customer fixed: the check and the reservation in one block with no
/// wait between, so no other task can run in the middle; then pay.
fn customer_fixed(
    t: &mut Task<Flight>,
    name: &'static str,
    service: Sender<Payment>,
) -> Eff<Yields, bool> {
    let reserved = t.with_state(|flight| {
        if flight.seats_left == 0 {
            return false;
        }
        flight.seats_left -= 1;
        true
    });
    if !reserved {
        return Ok(false);
    }
    if pay(t, &service)? {
        t.state().booked.push(name);
        Ok(true)
    } else {
        t.state().seats_left += 1; // release the reservation
        Ok(false)
    }
}

type Customer = fn(&mut Task<Flight>, &'static str, Sender<Payment>) -> Eff<Yields, bool>;

/// The scenario: alice comes first; bob comes a little later (he looks
/// around for two turns before he asks).
fn scenario(builder: DriverBuilder, customer: Customer) -> Driver<Flight> {
    let mut driver = builder.build(Flight {
        seats_left: 1,
        booked: Vec::new(),
    });
    let (service, requests) = driver.handle().channel(8);
    let named = |name: &str| SpawnOptions::new().name(name);
    let to_service = service.clone();
    driver
        .spawn_with(&named("alice"), move |t| customer(t, "alice", to_service))
        .unwrap();
    driver
        .spawn_with(&named("payments"), move |t| payments(t, requests))
        .unwrap();
    driver
        .spawn_with(&named("bob"), move |t| {
            t.yield_now()?;
            t.yield_now()?;
            customer(t, "bob", service)
        })
        .unwrap();
    driver
}

/// The invariant: never more bookings than seats.
fn check(driver: &mut Driver<Flight>) -> Result<(), String> {
    driver.run().map_err(|deadlock| deadlock.to_string())?;
    let flight = driver.state();
    if flight.booked.len() > 1 {
        return Err(format!("the seat was sold twice: {:?}", flight.booked));
    }
    Ok(())
}

fn main() {
    // 1. The default order, as a plain test would run it.
    let mut driver = scenario(DriverBuilder::new().virtual_clock(), customer_buggy);
    check(&mut driver).expect("the default order passes");
    println!(
        "the default order: {} books the seat, bob finds it sold out",
        driver.state().booked[0]
    );

    // 2. Exploring other orders of the same scenario finds the bug.
    println!("exploring 200 seeds:");
    let explore = Explore::new().seeds(0..200);
    let failure = explore
        .run(|builder| scenario(builder, customer_buggy), check)
        .expect_err("exploration finds the double booking");
    print!("{failure}");
    // The failing run replays exactly from its shrunk schedule.
    let mut replayed = scenario(
        DriverBuilder::new().replay(failure.schedule().clone()),
        customer_buggy,
    );
    assert!(check(&mut replayed).is_err());

    // 3. The fix passes every seed, and every order of the scenario.
    let seeds = explore
        .run(|builder| scenario(builder, customer_fixed), check)
        .expect("the fix holds under every explored schedule");
    let all = explore
        .all_orders(10_000, |builder| scenario(builder, customer_fixed), check)
        .expect("the fix holds under every order");
    assert!(all.exhaustive);
    println!(
        "with the seat reserved before paying: {} seeds pass, and all {} orders of the scenario",
        seeds.runs, all.runs
    );
}

#[test]
fn the_example_runs() {
    main();
}
