//! An elevator bank: three cars, a dispatcher and a stream of passengers,
//! every one a task, all sharing one `Building` struct.
//!
//! Each task is straight-line code. A car waits for work, travels one floor
//! at a time (sleeping between floors), opens its doors, and starts over. A
//! passenger presses the call button, waits for a car, rides, and records
//! how long it all took. The dispatcher waits for a call and sends the best
//! car. Written with callbacks, each car would be a state machine (idle,
//! moving, doors open) fed by timer events, and each passenger another one;
//! here each is a loop or a few lines in a row. Nobody holds an `Rc<RefCell<_>>`: the floors, the cars and the
//! statistics live in one plain struct, and a task has it to itself between
//! two waits. The compiler checks that no borrow of it is held across a
//! wait, so no task can see another's half-done update.
//!
//! The main stack runs the driver until every passenger has arrived, then
//! sets a `closing` event that ends the loops of the cars and the
//! dispatcher. The driver's virtual clock makes the run deterministic: the
//! same passengers arrive at the same times, every run prints the same
//! trace, and it takes no wall time.
//!
//! Run it with `cargo run --example elevators`. It prints:
//!
//! ```text
//!     1s  F1        waits at 8 to go to 2
//!     1s  dispatch  floor 8: send car C
//!     2s  F2        waits at 6 to go to 3
//!     2s  dispatch  floor 6: send car B
//!     3s  car C     at 8: F1 in
//!     3s  F3        waits at 4 to go to 9
//!     3s  dispatch  floor 4: send car A
//!     4s  car B     at 6: F2 in
//!     8s  L1        waits at 0 to go to 8
//!     8s  dispatch  floor 0: send car A
//!    11s  car A     at 4: F3 in
//!    11s  F4        waits at 2 to go to 4
//!    11s  dispatch  floor 0: send car B (quicker than A)
//!    11s  dispatch  floor 2: send car C
//! ...
//!    66s  car A     at 4: L6 out
//!    66s  L6        arrives at 4 by car A: waited 12s, rode 17s
//!    66s  closing
//! delivered 14 passengers; waited 7.1s on average (18s at most), rode 15.1s on average
//! car A: 22 floors travelled, 6 door stops, now at 4
//! car B: 15 floors travelled, 7 door stops, now at 8
//! car C: 12 floors travelled, 4 door stops, now at 7
//! ```

use std::collections::BTreeSet;
use std::time::Duration;

use coshare::driver::{DriverBuilder, Event, Instant, Notify, Sender, Task, wait};
use coshare::{Eff, SpawnOptions, Yields};
use frunk::{Coproduct, hlist};

const FLOORS: usize = 10;
/// Riders per car.
const CAPACITY: usize = 6;
/// To travel one floor.
const FLOOR_TIME: Duration = Duration::from_secs(2);
/// Doors open, people step out and in, doors close.
const DOOR_TIME: Duration = Duration::from_secs(3);
/// Passengers arriving in the lobby, and between the other floors.
const FROM_LOBBY: u32 = 8;
const BETWEEN_FLOORS: u32 = 6;

/// Everything the tasks share.
struct Building {
    /// The landing of each floor.
    floors: Vec<Landing>,
    cars: Vec<Car>,
    stats: Stats,
}

#[derive(Default)]
struct Landing {
    /// Who waits here, in order of arrival.
    waiting: Vec<Rider>,
    /// The car the dispatcher sent, if any.
    coming: Option<usize>,
}

/// A passenger as the building sees them.
struct Rider {
    name: String,
    to: usize,
    /// The car sends its name on this when the rider steps in, and again
    /// when they step out. A channel end can live in the shared state: its
    /// `try_send` never waits, so a car may use it inside `with_state`.
    news: Sender<char>,
}

/// One car of the bank.
struct Car {
    name: char,
    floor: usize,
    going_up: bool,
    /// Floors to stop at: calls the dispatcher sent it to, and where its
    /// riders go.
    stops: BTreeSet<usize>,
    riders: Vec<Rider>,
    floors_travelled: u32,
    door_stops: u32,
}

/// Filled in by each passenger when they arrive.
#[derive(Default)]
struct Stats {
    delivered: u32,
    total_wait: Duration,
    longest_wait: Duration,
    total_ride: Duration,
}

/// Prints one line of the trace, after the driver time.
macro_rules! trace {
    ($t:expr, $($what:tt)*) => {
        println!("{}  {}", stamp($t.now()), format_args!($($what)*))
    };
}

fn stamp(at: Instant) -> String {
    format!("{:5}s", at.since_start().as_secs())
}

impl Car {
    /// The next floor to stop at: keep going the way the car goes while
    /// there is a stop ahead, else turn round. `None` when idle.
    fn next_stop(&mut self) -> Option<usize> {
        if self.stops.is_empty() {
            return None;
        }
        let ahead = if self.going_up {
            self.stops.range(self.floor..).next()
        } else {
            self.stops.range(..=self.floor).next_back()
        };
        if let Some(&floor) = ahead {
            return Some(floor);
        }
        self.going_up = !self.going_up;
        self.next_stop()
    }

    /// How many floors the car travels before it reaches `floor`: straight
    /// there if it is on the way, else via the last stop it has that way.
    fn route_to(&self, floor: usize) -> usize {
        let last = if self.going_up {
            self.stops.last()
        } else {
            self.stops.first()
        };
        let on_the_way = if self.going_up {
            floor >= self.floor
        } else {
            floor <= self.floor
        };
        match last {
            Some(&last) if !on_the_way => self.floor.abs_diff(last) + last.abs_diff(floor),
            _ => self.floor.abs_diff(floor),
        }
    }

    /// Drops the stop at `floor`, unless a rider gets out there.
    fn call_off(&mut self, floor: usize) {
        if self.riders.iter().all(|r| r.to != floor) {
            self.stops.remove(&floor);
        }
    }

    /// Moves one floor towards `target`; returns the next stop from there.
    fn step_towards(&mut self, target: usize) -> Option<usize> {
        self.floor = if target > self.floor {
            self.floor + 1
        } else {
            self.floor - 1
        };
        self.floors_travelled += 1;
        self.next_stop()
    }
}

impl Building {
    /// Sends a car to each floor where people wait: the one with room that
    /// gets there first, counting each other stop it makes as two floors. A
    /// call already sent moves to another car only if that one is clearly
    /// quicker (it may have just become idle). Returns, for each call sent,
    /// the floor, the car, and the car it was taken from.
    fn dispatch(&mut self) -> Vec<(usize, usize, Option<usize>)> {
        let mut sent = Vec::new();
        for floor in 0..self.floors.len() {
            if self.floors[floor].waiting.is_empty() {
                continue;
            }
            let cost = |car: &Car| {
                let other_stops = car.stops.iter().filter(|&&s| s != floor).count();
                car.route_to(floor) + 2 * other_stops
            };
            let Some((best, best_cost)) = self
                .cars
                .iter()
                .enumerate()
                .filter(|(_, car)| car.riders.len() < CAPACITY)
                .map(|(c, car)| (c, cost(car)))
                .min_by_key(|&(_, cost)| cost)
            else {
                continue; // every car is full; ask again when one has room
            };
            let coming = self.floors[floor].coming;
            match coming {
                Some(c) if c == best || cost(&self.cars[c]) <= best_cost + 4 => continue,
                Some(c) => self.cars[c].call_off(floor),
                None => {}
            }
            self.cars[best].stops.insert(floor);
            self.floors[floor].coming = Some(best);
            sent.push((floor, best, coming));
        }
        sent
    }

    /// Car `c` opens its doors: its riders for this floor step out, and
    /// people waiting here step in, as many as fit. Returns who went out and
    /// who came in.
    fn open_doors(&mut self, c: usize) -> (Vec<String>, Vec<String>) {
        let car = &mut self.cars[c];
        let floor = car.floor;
        car.stops.remove(&floor);
        car.door_stops += 1;
        let (out, staying): (Vec<Rider>, Vec<Rider>) =
            car.riders.drain(..).partition(|r| r.to == floor);
        car.riders = staying;
        for rider in &out {
            // Wakes the rider's task; it runs after this one waits.
            let _ = rider.news.try_send(car.name);
        }

        let landing = &mut self.floors[floor];
        let coming = landing.coming.take();
        let room = CAPACITY - car.riders.len();
        let boarding: Vec<Rider> = landing
            .waiting
            .drain(..room.min(landing.waiting.len()))
            .collect();
        for rider in &boarding {
            let _ = rider.news.try_send(car.name);
            car.stops.insert(rider.to);
        }
        let names = |riders: &[Rider]| riders.iter().map(|r| r.name.clone()).collect();
        let (out, boarded) = (names(&out), names(&boarding));
        car.riders.extend(boarding);

        // If another car is on its way for these people and nobody is
        // left, call it off.
        if let Some(other) = coming.filter(|&other| other != c) {
            if landing.waiting.is_empty() {
                self.cars[other].call_off(floor);
            }
        }
        // Which way now? (Turns the car round if nothing is left ahead.)
        self.cars[c].next_stop();
        (out, boarded)
    }
}

/// A car: wait for work, go there one floor at a time, open the doors.
fn car(
    t: &mut Task<Building>,
    me: usize,
    bell: Notify,
    dispatcher: Notify,
    closing: Event,
) -> Eff<Yields, ()> {
    let name = format!("car {}", t.with_state(|b| b.cars[me].name));
    'work: loop {
        // Idle until the dispatcher rings our bell, or the building closes.
        let Some(mut target) = t.with_state(|b| b.cars[me].next_stop()) else {
            match t.select(hlist![wait::notified(&bell), wait::event(&closing)])? {
                Coproduct::Inl(()) => continue,
                Coproduct::Inr(_closing) => return Ok(()),
            }
        };

        // Travel, one floor per sleep. No `&Car` is kept across a sleep (the
        // compiler would refuse: a sleep is a yield point); we look again
        // at every floor, which is right anyway: the others ran meanwhile,
        // and a new call may give us a nearer stop, or another car may have
        // answered ours.
        while t.with_state(|b| b.cars[me].floor) != target {
            t.sleep(FLOOR_TIME)?;
            match t.with_state(|b| b.cars[me].step_towards(target)) {
                Some(next) => target = next,
                None => continue 'work, // nothing left to do: idle
            }
        }

        // Doors open. Everything happens in one stretch without a wait, so
        // no passenger or other car sees the landing half-updated.
        let (out, boarded) = t.with_state(|b| b.open_doors(me));
        trace!(t, "{name:<8}  at {target}: {}", who_moved(&out, &boarded));
        t.sleep(DOOR_TIME)?;
        // We may have room again for someone left behind.
        dispatcher.notify_one();
    }
}

/// "F2 out, L1 L3 in", for the trace.
fn who_moved(out: &[String], boarded: &[String]) -> String {
    let mut parts = Vec::new();
    if !out.is_empty() {
        parts.push(format!("{} out", out.join(" ")));
    }
    if !boarded.is_empty() {
        parts.push(format!("{} in", boarded.join(" ")));
    }
    if parts.is_empty() {
        parts.push("nobody in or out".to_owned());
    }
    parts.join(", ")
}

/// The dispatcher: each time a call button is pressed (or a car has room
/// again), send cars to the floors that wait for one.
fn dispatcher(
    t: &mut Task<Building>,
    calls: Notify,
    bells: Vec<Notify>,
    closing: Event,
) -> Eff<Yields, ()> {
    loop {
        match t.select(hlist![wait::notified(&calls), wait::event(&closing)])? {
            Coproduct::Inl(()) => {}
            Coproduct::Inr(_closing) => return Ok(()),
        }
        let sent = t.with_state(Building::dispatch);
        for (floor, car, instead_of) in sent {
            let (name, was) = t.with_state(|b| {
                let was = instead_of.map(|o| format!(" (quicker than {})", b.cars[o].name));
                (b.cars[car].name, was.unwrap_or_default())
            });
            trace!(t, "dispatch  floor {floor}: send car {name}{was}");
            bells[car].notify_one();
        }
    }
}

/// One passenger's trip, start to end.
fn passenger(
    t: &mut Task<Building>,
    name: String,
    from: usize,
    to: usize,
    calls: Notify,
) -> Eff<Yields, ()> {
    let (news, mut car_says) = t.handle().channel(2);
    let called = t.now();
    trace!(t, "{name:<8}  waits at {from} to go to {to}");
    t.state().floors[from].waiting.push(Rider {
        name: name.clone(),
        to,
        news,
    });
    calls.notify_one(); // press the call button

    // Each `recv` is a wait: other tasks use the state meanwhile, so no
    // borrow of it may live across (the compiler checks). Our own locals,
    // like `name` and `called`, live on our stack and simply stay.
    let car = t.recv(&mut car_says)?.expect("a car takes us");
    let boarded = t.now();
    t.recv(&mut car_says)?.expect("the car lets us out");
    let arrived = t.now();

    let (waited, rode) = (boarded - called, arrived - boarded);
    t.with_state(|b| {
        let s = &mut b.stats;
        s.delivered += 1;
        s.total_wait += waited;
        s.longest_wait = s.longest_wait.max(waited);
        s.total_ride += rode;
    });
    trace!(
        t,
        "{name:<8}  arrives at {to} by car {car}: waited {waited:?}, rode {rode:?}"
    );
    Ok(())
}

/// A tiny deterministic random number generator (xorshift).
struct Rng(u32);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as usize % n
    }
}

fn from_lobby(rng: &mut Rng) -> (usize, usize) {
    (0, 1 + rng.below(FLOORS - 1))
}

fn between_floors(rng: &mut Rng) -> (usize, usize) {
    let from = rng.below(FLOORS);
    (from, (from + 1 + rng.below(FLOORS - 1)) % FLOORS)
}

/// Spawns `count` passengers, a few seconds apart, each with a trip from
/// `trip`.
fn arrivals(
    t: &mut Task<Building>,
    prefix: &'static str,
    count: u32,
    mut rng: Rng,
    trip: fn(&mut Rng) -> (usize, usize),
    calls: Notify,
) -> Eff<Yields, ()> {
    for n in 1..=count {
        t.sleep(Duration::from_secs(1 + rng.below(8) as u64))?;
        let (from, to) = trip(&mut rng);
        let name = format!("{prefix}{n}");
        let calls = calls.clone();
        t.spawn_with(
            &SpawnOptions::new().name(name.clone()),
            move |t: &mut Task<Building>| passenger(t, name, from, to, calls),
        )
        .expect("spawn a passenger");
    }
    Ok(())
}

fn main() {
    let building = Building {
        floors: (0..FLOORS).map(|_| Landing::default()).collect(),
        cars: Vec::new(),
        stats: Stats::default(),
    };
    let mut driver = DriverBuilder::new().virtual_clock().build(building);
    let calls = driver.handle().notify(); // every call button rings the dispatcher
    let closing = driver.handle().event();

    let mut bells = Vec::new();
    for (me, (name, floor)) in [('A', 0), ('B', 5), ('C', 9)].into_iter().enumerate() {
        driver.state().cars.push(Car {
            name,
            floor,
            going_up: true,
            stops: BTreeSet::new(),
            riders: Vec::new(),
            floors_travelled: 0,
            door_stops: 0,
        });
        let bell = driver.handle().notify();
        bells.push(bell.clone());
        let (calls, closing) = (calls.clone(), closing.clone());
        driver
            .spawn_with(
                &SpawnOptions::new().name(format!("car {name}")),
                move |t: &mut Task<Building>| car(t, me, bell, calls, closing),
            )
            .expect("spawn a car");
    }
    let (c, e) = (calls.clone(), closing.clone());
    driver
        .spawn_with(
            &SpawnOptions::new().name("dispatcher"),
            move |t: &mut Task<Building>| dispatcher(t, c, bells, e),
        )
        .expect("spawn the dispatcher");

    // The morning rush: people come in at the lobby and go up, and some
    // go from floor to floor.
    let c = calls.clone();
    let lobby = move |t: &mut Task<Building>| arrivals(t, "L", FROM_LOBBY, Rng(7), from_lobby, c);
    let floors = move |t: &mut Task<Building>| {
        arrivals(t, "F", BETWEEN_FLOORS, Rng(42), between_floors, calls)
    };
    driver.spawn(lobby).expect("spawn the lobby");
    driver.spawn(floors).expect("spawn the floors");

    // Run until everyone has arrived, then close: idle cars and the
    // dispatcher see the event and end their loops.
    let everyone = FROM_LOBBY + BETWEEN_FLOORS;
    driver
        .run_until_state(|b| b.stats.delivered == everyone)
        .expect("no deadlock");
    println!("{}  closing", stamp(driver.now()));
    closing.set();
    driver.run().expect("every task ends");

    let b = driver.state();
    let s = &b.stats;
    println!(
        "delivered {} passengers; waited {:.1?} on average ({:?} at most), rode {:.1?} on average",
        s.delivered,
        s.total_wait / s.delivered,
        s.longest_wait,
        s.total_ride / s.delivered,
    );
    for car in &b.cars {
        println!(
            "car {}: {} floors travelled, {} door stops, now at {}",
            car.name, car.floors_travelled, car.door_stops, car.floor
        );
    }
}

#[test]
fn run() {
    main();
}
