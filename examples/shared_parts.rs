//! Two unrelated shared states, a game server and a job scheduler, reuse the
//! same part-generic code: a `JobQueue` part found by type, a `log` part
//! found by name, both borrowed at once to queue a job, and one worker
//! coroutine written once for both states.
//!
//! Run with `cargo run --example shared_parts`. It prints:
//!
//! ```text
//! [game] ann joined
//! [game] bob joined
//! [game] queued #1: start a match for ann and bob
//! [game] worker ran #1: start a match for ann and bob
//! [game] worker idle after 1 job(s)
//! [sched] queued #1: rotate logs
//! [sched] queued #2: back up saves
//! [sched] worker ran #1: rotate logs
//! [sched] worker ran #2: back up saves
//! [sched] worker idle after 2 job(s)
//! game: 1 match(es), scheduler: 2 job(s) done
//! ```

use std::collections::VecDeque;

use coshare::prelude::*;
use coshare::{
    Co, CoroutineShareable, Eff, HList, HasField, HasFields, HasPart, Label, Stage, StateAccess,
    Yields, hlist_pat,
};

/// Jobs waiting to run: a part any state can have.
#[derive(Default)]
struct JobQueue {
    next_id: u32,
    waiting: VecDeque<(u32, String)>,
}

/// The name under which the helpers find a state's log.
type LogName = Label!(log);

/// Appends to the part named `log`, whatever the state. By name, because a
/// state may have other `Vec<String>` parts (the game has `players`).
fn note<I>(
    access: &mut impl StateAccess<State: HasField<LogName, I, Value = Vec<String>>>,
    line: String,
) {
    access.field::<LogName>().push(line);
}

/// The parts `submit` borrows together, by name.
type QueueAndLog = HList![Label!(jobs), LogName];

/// Queues a job and logs it, borrowing the `jobs` and `log` parts at once;
/// works from the main stack and from coroutines.
fn submit<I>(
    access: &mut impl StateAccess<
        State: HasFields<QueueAndLog, I, Values = HList![JobQueue, Vec<String>]>,
    >,
    what: &str,
) {
    let hlist_pat![queue, log] = access.fields::<QueueAndLog>();
    queue.next_id += 1;
    queue.waiting.push_back((queue.next_id, what.to_owned()));
    log.push(format!("queued #{}: {what}", queue.next_id));
}

/// A worker for any state with a `JobQueue` and a `log`: runs the queued
/// jobs, suspends when there are none, and stops after an idle turn.
fn worker<S, Q, L>(co: &mut Co<S>, (): ()) -> Eff<Yields, u32>
where
    S: HasPart<JobQueue, Q> + HasField<LogName, L, Value = Vec<String>>,
{
    let mut ran = 0;
    loop {
        // The queue borrow ends on this line, before any yield point.
        let next = co.part::<JobQueue>().waiting.pop_front();
        match next {
            Some((id, what)) => {
                note(co, format!("worker ran #{id}: {what}"));
                ran += 1;
            }
            None if ran > 0 => {
                note(co, format!("worker idle after {ran} job(s)"));
                return Ok(ran);
            }
            None => co.suspend(())?,
        }
    }
}

/// The game server's state. The log is the second `Vec<String>` part.
#[derive(Default, CoroutineShareable)]
struct GameServer {
    players: Vec<String>,
    jobs: JobQueue,
    log: Vec<String>,
}

/// The scheduler's state: different fields, different order.
#[derive(Default, CoroutineShareable)]
struct Scheduler {
    log: Vec<String>,
    jobs: JobQueue,
    done: u32,
}

fn print_log<I>(
    access: &mut impl StateAccess<State: HasField<LogName, I, Value = Vec<String>>>,
    tag: &str,
) {
    for line in access.field::<LogName>().drain(..) {
        println!("[{tag}] {line}");
    }
}

fn main() {
    // The game: a lobby coroutine queues a match once two players joined.
    let mut game = Stage::new(GameServer::default());
    let lobby = game
        .spawn(
            |co: &mut Co<GameServer, String>, first: String| -> Eff<Yields, ()> {
                let mut name = first;
                loop {
                    co.field::<Label!(players)>().push(name.clone());
                    note(co, format!("{name} joined"));
                    if let [a, b] = co.field::<Label!(players)>().as_slice() {
                        let what = format!("start a match for {a} and {b}");
                        submit(co, &what);
                        return Ok(());
                    }
                    name = co.suspend(())?;
                }
            },
        )
        .unwrap();
    let game_worker = game.spawn(worker).unwrap();
    game.resume(game_worker, ()).unwrap(); // nothing queued yet: it waits
    game.resume(lobby, "ann".to_owned()).unwrap();
    game.resume(lobby, "bob".to_owned()).unwrap();
    game.resume(game_worker, ()).unwrap();
    print_log(&mut game, "game");

    // The scheduler: the main stack queues, the same worker runs.
    let mut sched = Stage::new(Scheduler::default());
    submit(&mut sched, "rotate logs");
    submit(&mut sched, "back up saves");
    let sched_worker = sched.spawn(worker).unwrap();
    let done = sched.resume(sched_worker, ()).unwrap().returned();
    *sched.part::<u32>() += done.unwrap_or(0);
    print_log(&mut sched, "sched");

    let matches = game.state().jobs.next_id;
    println!(
        "game: {matches} match(es), scheduler: {} job(s) done",
        sched.state().done
    );
}

#[test]
fn run() {
    main();
}
