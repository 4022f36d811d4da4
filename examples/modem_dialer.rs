//! A modem dialer: a device controller with timeouts, retries, backoff and
//! unsolicited events, written as straight-line code.
//!
//! The dialer resets the modem, dials, stays online sending data until the
//! carrier drops, and dials again. Every command waits for its reply with a
//! timeout, is sent again after a backoff that doubles, and is given up after
//! three tries; on top of that, a whole call (dial, retries, backoffs, until
//! CONNECT) has twelve seconds. As a state machine this is a dozen states
//! (resetting, waiting for OK, backing off, dialing, waiting for CONNECT,
//! online, ...), each storing a timer id, a retry counter and the call's
//! deadline; here the state is the place in the code, the retry counter is a
//! local variable of a loop, and each deadline is a cancel scope
//! (`t.timeout`) around the code it bounds: the scopes nest, the earliest
//! deadline wins, and the interrupt reaches whatever wait the dialer is in.
//!
//! The modem is a second task that follows a script: it misses the first
//! command, rings while we dial, reports BUSY, connects, drops the carrier,
//! then goes silent, so the third call runs out of time during its third
//! try. Both run on the driver's virtual clock, so the run is
//! deterministic and takes no wall time. The main stack runs the driver five
//! seconds at a time and reads the dialer's shared `Line` state in between.
//!
//! Run it with `cargo run --example modem_dialer`. It prints:
//!
//! ```text
//!   0.000s  dialer  > ATZ
//!   0.000s  modem   (still booting: misses ATZ)
//!   1.000s  dialer  no answer to ATZ (try 1 of 3), again in 250ms
//!   1.250s  dialer  > ATZ
//!   1.300s  dialer  < OK
//!   1.300s  dialer  > ATDT5551234
//!   2.100s  dialer  < RING
//!   2.100s  dialer  (a call comes in: not our answer, keep waiting)
//!   3.600s  dialer  < BUSY
//!   3.600s  dialer  busy, call again in 2s
//!   5.000s  main    backing off; commands 3, timeouts 1, rings 1, busy 1, connects 0, sent 0 B
//!   5.600s  dialer  > ATDT5551234
//!   8.600s  dialer  < CONNECT 14400
//!   8.600s  dialer  > DATA block 1
//!   9.600s  dialer  > DATA block 2
//!  10.000s  main    online; commands 4, timeouts 1, rings 1, busy 1, connects 1, sent 1024 B
//!  10.600s  dialer  > DATA block 3
//!  11.600s  dialer  > DATA block 4
//!  12.100s  modem   (line noise after 4 blocks)
//!  12.100s  dialer  < NO CARRIER
//!  12.100s  dialer  carrier lost, dial again
//!  12.100s  dialer  > ATDT5551234
//!  12.100s  modem   (hangs: ignores ATDT5551234 and all that follows)
//!  15.000s  main    dialing (call 3); commands 5, timeouts 1, rings 1, busy 1, connects 1, sent 2048 B
//!  17.100s  dialer  no answer to ATDT5551234 (try 1 of 3), again in 250ms
//!  17.350s  dialer  > ATDT5551234
//!  20.000s  main    dialing (call 3); commands 6, timeouts 2, rings 1, busy 1, connects 1, sent 2048 B
//!  22.350s  dialer  no answer to ATDT5551234 (try 2 of 3), again in 500ms
//!  22.850s  dialer  > ATDT5551234
//!  24.100s  dialer  no connection within 12s
//!  24.100s  dialer  gave up: the call did not connect in time
//!  25.000s  main    gave up; commands 7, timeouts 3, rings 1, busy 1, connects 1, sent 2048 B
//! the dialer returned "the call did not connect in time"
//! ```

use std::fmt;
use std::time::Duration;

use coshare::driver::{DriverBuilder, Instant, Receiver, RecvError, Sender, Task, wait};
use coshare::{Eff, SpawnOptions, Yields};
use frunk::{Coproduct, hlist};

/// Tries per command before the dialer gives up on the modem.
const TRIES: u32 = 3;
/// Calls before the dialer gives up on the number.
const CALLS: u32 = 4;
/// How long one call may take to connect, retries included.
const DIAL_DEADLINE: Duration = Duration::from_secs(12);
/// The first wait before a command is sent again; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Bytes in one block of data sent while online.
const BLOCK: u64 = 512;

/// What the dialer shares with the rest of the program (here the main
/// stack, which prints it between runs).
#[derive(Default)]
struct Line {
    status: Status,
    commands: u32,
    timeouts: u32,
    rings: u32,
    busy: u32,
    connects: u32,
    bytes_sent: u64,
}

/// What the dialer is doing.
#[derive(Default)]
enum Status {
    #[default]
    Resetting,
    Dialing {
        call: u32,
    },
    BackingOff,
    Online,
    GaveUp,
}

/// The dialer's two ends of the serial line.
struct Link {
    to_modem: Sender<String>,
    from_modem: Receiver<String>,
}

/// Why a command got no final answer.
enum Failure {
    /// No answer after [`TRIES`] tries.
    Silent,
    /// The modem task is gone.
    Unplugged,
}

/// Prints one line of the trace, after the driver time.
macro_rules! trace {
    ($t:expr, $($what:tt)*) => {
        println!("{}  {}", stamp($t.now()), format_args!($($what)*))
    };
}

fn stamp(at: Instant) -> String {
    format!("{:7.3}s", at.since_start().as_secs_f64())
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Sends `cmd` and returns the modem's final result code ("OK", "BUSY",
/// "CONNECT 14400", ...). Waits at most `timeout` for it; on silence, sends
/// the command again after a backoff, and gives up after [`TRIES`] tries.
fn command(
    t: &mut Task<Line>,
    link: &mut Link,
    cmd: &str,
    timeout: Duration,
) -> Eff<Yields, Result<String, Failure>> {
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=TRIES {
        trace!(t, "dialer  > {cmd}");
        t.state().commands += 1;
        if t.send(&link.to_modem, cmd.to_owned())?.is_err() {
            return Ok(Err(Failure::Unplugged));
        }
        // One deadline for the answer, however many unsolicited lines
        // come first: a cancel scope covers every wait of the block.
        match t.timeout(timeout, |t| final_answer(t, link))? {
            Ok(Ok(reply)) => return Ok(Ok(reply)),
            Ok(Err(RecvError)) => return Ok(Err(Failure::Unplugged)),
            Err(_elapsed) => {}
        }
        t.state().timeouts += 1;
        if attempt < TRIES {
            trace!(
                t,
                "dialer  no answer to {cmd} (try {attempt} of {TRIES}), again in {backoff:?}"
            );
            t.sleep(backoff)?;
            backoff *= 2;
        }
    }
    trace!(t, "dialer  no answer to {cmd} after {TRIES} tries");
    Ok(Err(Failure::Silent))
}

/// The next line from the modem that answers a command: an unsolicited
/// "RING" is counted and skipped. `Err` if the modem is unplugged.
fn final_answer(t: &mut Task<Line>, link: &mut Link) -> Eff<Yields, Result<String, RecvError>> {
    loop {
        let reply = match t.recv(&mut link.from_modem)? {
            Ok(reply) => reply,
            Err(unplugged) => return Ok(Err(unplugged)),
        };
        trace!(t, "dialer  < {reply}");
        if reply != "RING" {
            return Ok(Ok(reply));
        }
        trace!(t, "dialer  (a call comes in: not our answer, keep waiting)");
        t.state().rings += 1;
    }
}

/// Online: sends a block of data every second until the carrier drops.
/// `Err` if the modem is unplugged.
fn online(t: &mut Task<Line>, link: &mut Link) -> Eff<Yields, Result<(), RecvError>> {
    let mut every_second = t.handle().interval(secs(1.0));
    let mut block = 0;
    loop {
        // The modem may speak at any time ("NO CARRIER"): wait for that and
        // for the next tick at once. A state machine would need an "online"
        // state with two event handlers; here it is one `match`.
        match t.select(hlist![
            wait::recv(&mut link.from_modem),
            wait::tick(&mut every_second),
        ])? {
            Coproduct::Inl(Ok(line)) => {
                trace!(t, "dialer  < {line}");
                if line == "NO CARRIER" {
                    return Ok(Ok(()));
                }
            }
            Coproduct::Inl(Err(RecvError)) => return Ok(Err(RecvError)),
            Coproduct::Inr(Coproduct::Inl(_tick)) => {
                block += 1;
                trace!(t, "dialer  > DATA block {block}");
                if t.send(&link.to_modem, format!("DATA {block}"))?.is_err() {
                    return Ok(Err(RecvError));
                }
                t.state().bytes_sent += BLOCK;
            }
        }
    }
}

/// The dialer's whole job, in the order it happens.
fn dialer(t: &mut Task<Line>, mut link: Link) -> Eff<Yields, &'static str> {
    // 1. Reset the modem.
    t.state().status = Status::Resetting;
    match command(t, &mut link, "ATZ", secs(1.0))? {
        Ok(reply) if reply == "OK" => {}
        _ => return give_up(t, "the modem does not reset"),
    }

    // 2. Call until it works; redial when the carrier drops. Each call,
    //    with its retries, has DIAL_DEADLINE to connect, whatever the
    //    individual commands' timeouts add up to.
    for call in 1..=CALLS {
        t.state().status = Status::Dialing { call };
        let dialed = t.timeout(DIAL_DEADLINE, |t| {
            command(t, &mut link, "ATDT5551234", secs(5.0))
        })?;
        let reply = match dialed {
            Ok(Ok(reply)) => reply,
            Ok(Err(Failure::Silent)) => return give_up(t, "the modem stopped answering"),
            Ok(Err(Failure::Unplugged)) => return give_up(t, "the modem is unplugged"),
            Err(_elapsed) => {
                trace!(t, "dialer  no connection within {DIAL_DEADLINE:?}");
                return give_up(t, "the call did not connect in time");
            }
        };
        if reply.starts_with("CONNECT") {
            // `t.state()` borrows the state only until the next use of `t`,
            // so this borrow ends before `online` waits. Holding
            // `let s = t.state();` across that call would not compile
            // (error[E0499]): no borrow of the state survives a yield point.
            let s = t.state();
            s.status = Status::Online;
            s.connects += 1;
            if online(t, &mut link)?.is_err() {
                return give_up(t, "the modem is unplugged");
            }
            trace!(t, "dialer  carrier lost, dial again");
        } else {
            trace!(t, "dialer  {}, call again in 2s", reply.to_lowercase());
            t.with_state(|s| {
                s.busy += 1;
                s.status = Status::BackingOff;
            });
            t.sleep(secs(2.0))?;
        }
    }
    give_up(t, "too many calls")
}

fn give_up(t: &mut Task<Line>, why: &'static str) -> Eff<Yields, &'static str> {
    trace!(t, "dialer  gave up: {why}");
    t.state().status = Status::GaveUp;
    Ok(why)
}

/// The simulated modem: a script of what it does with each line it gets.
fn modem(
    t: &mut Task<Line>,
    mut commands: Receiver<String>,
    lines: Sender<String>,
) -> Eff<Yields, ()> {
    // Still booting: the first reset is lost.
    let cmd = expect(t, &mut commands, "ATZ")?;
    trace!(t, "modem   (still booting: misses {cmd})");
    expect(t, &mut commands, "ATZ")?;
    answer(t, &lines, secs(0.05), "OK")?;

    // First call: someone rings us while we dial out; the number is busy.
    expect(t, &mut commands, "ATDT")?;
    answer(t, &lines, secs(0.8), "RING")?;
    answer(t, &lines, secs(1.5), "BUSY")?;

    // Second call connects; the carrier drops 3.5 s later.
    expect(t, &mut commands, "ATDT")?;
    answer(t, &lines, secs(3.0), "CONNECT 14400")?;
    let drop_at = t.now() + secs(3.5);
    let mut blocks = 0;
    while let Coproduct::Inl(Ok(_data)) =
        t.select(hlist![wait::recv(&mut commands), wait::until(drop_at)])?
    {
        blocks += 1;
    }
    trace!(t, "modem   (line noise after {blocks} blocks)");
    answer(t, &lines, Duration::ZERO, "NO CARRIER")?;

    // Then it hangs: it reads every command and answers none.
    let cmd = expect(t, &mut commands, "ATDT")?;
    trace!(t, "modem   (hangs: ignores {cmd} and all that follows)");
    while t.recv(&mut commands)?.is_ok() {}
    Ok(())
}

/// Receives the next command, which the script says starts with `prefix`.
fn expect(
    t: &mut Task<Line>,
    commands: &mut Receiver<String>,
    prefix: &str,
) -> Eff<Yields, String> {
    let cmd = t.recv(commands)?.expect("the dialer is still there");
    assert!(
        cmd.starts_with(prefix),
        "the script expects {prefix}, got {cmd}"
    );
    Ok(cmd)
}

/// Sends `line` to the dialer after `delay`.
fn answer(
    t: &mut Task<Line>,
    lines: &Sender<String>,
    delay: Duration,
    line: &str,
) -> Eff<Yields, ()> {
    t.sleep(delay)?;
    t.send(lines, line.to_owned())?
        .expect("the dialer is still there");
    Ok(())
}

fn main() {
    let mut driver = DriverBuilder::new().virtual_clock().build(Line::default());
    let (to_modem, commands) = driver.handle().channel(4);
    let (lines, from_modem) = driver.handle().channel(4);
    driver
        .spawn_with(
            &SpawnOptions::new().name("modem"),
            move |t: &mut Task<Line>| modem(t, commands, lines),
        )
        .expect("spawn the modem");
    let link = Link {
        to_modem,
        from_modem,
    };
    let mut dialer = driver
        .spawn_with(
            &SpawnOptions::new().name("dialer"),
            move |t: &mut Task<Line>| dialer(t, link),
        )
        .expect("spawn the dialer");

    // The main stack owns the clock. It runs the driver five (virtual)
    // seconds at a time, and reads the shared state in between.
    while !dialer.is_finished() {
        driver.run_for(secs(5.0)).expect("no deadlock");
        let now = driver.now();
        println!("{}  main    {}", stamp(now), driver.state());
    }
    let why = dialer.try_join().expect("finished").expect("no panic");
    driver
        .run()
        .expect("the modem ends when the dialer is gone");
    println!("the dialer returned {why:?}");
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Resetting => f.write_str("resetting"),
            Status::Dialing { call } => write!(f, "dialing (call {call})"),
            Status::BackingOff => f.write_str("backing off"),
            Status::Online => f.write_str("online"),
            Status::GaveUp => f.write_str("gave up"),
        }
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; commands {}, timeouts {}, rings {}, busy {}, connects {}, sent {} B",
            self.status,
            self.commands,
            self.timeouts,
            self.rings,
            self.busy,
            self.connects,
            self.bytes_sent
        )
    }
}

#[test]
fn run() {
    main();
}
