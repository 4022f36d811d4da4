//! Shards: one driver per thread, typed messages between them. Most tests
//! run every shard on the test's thread (`ShardsBuilder::local`), in a
//! fixed order, so that the protocol is checked deterministically; the
//! rest run real threads and always join them.

use std::sync::mpsc;
use std::time::Duration;

use coshare::driver::shards::{
    CallError, Finished, NoReply, Reply, Shard, ShardFailure, ShardSendError, ShardsBuilder,
    StartError,
};
use coshare::driver::{Elapsed, Task};
use coshare::{Eff, Yields};

/// The messages of these tests.
#[derive(Debug)]
enum Msg {
    /// Keep this number.
    Put(u32),
    /// Keep this number, tagged with its sender.
    From(usize, u32),
    /// Answer with the number doubled.
    Double(u32, Reply<u32>),
    /// Keep the reply, unanswered.
    Hold(Reply<u32>),
    /// Panic (with the reply of a call, if it is one).
    Boom(Option<Reply<u32>>),
}

/// What a shard keeps.
#[derive(Debug, Default)]
struct Log {
    kept: Vec<u32>,
    tagged: Vec<(usize, u32)>,
    held: Vec<Reply<u32>>,
    notes: Vec<String>,
}

type T<'a> = Task<'a, Log>;

/// Serves the messages of the inbox until it closes.
fn serve(t: &mut T<'_>, shard: &mut Shard<Msg, Log>) -> Eff<Yields, ()> {
    while let Ok(msg) = t.recv(shard.inbox())? {
        match msg {
            Msg::Put(n) => t.state().kept.push(n),
            Msg::From(from, n) => t.state().tagged.push((from, n)),
            Msg::Double(n, reply) => {
                let _ = reply.send(n * 2);
            }
            Msg::Hold(reply) => t.state().held.push(reply),
            Msg::Boom(_reply) => panic!("boom"),
        }
    }
    Ok(())
}

fn log() -> impl Fn(usize, &coshare::driver::DriverHandle) -> Log + Clone {
    |_, _| Log::default()
}

fn state(end: &Result<Finished<Log, Msg>, ShardFailure>) -> &Log {
    &end.as_ref().expect("the shard ended without failing").state
}

#[test]
fn a_call_returns_the_answer_as_straight_line_code() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(log(), |t: &mut T<'_>, mut shard| {
            if shard.index() == 0 {
                for n in 1..=3 {
                    let doubled = shard.mesh().call(t, 1, |reply| Msg::Double(n, reply))?;
                    t.state().kept.push(doubled.unwrap());
                }
                return Ok(());
            }
            serve(t, &mut shard)
        })
        .unwrap();
    shards.run_until_idle();
    assert!(!shards.is_running(0), "shard 0's main task returned");
    let ends = shards.finish();
    assert_eq!(state(&ends[0]).kept, [2, 4, 6]);
}

#[test]
fn requests_to_several_shards_are_in_flight_at_once_and_gathered_in_any_order() {
    let mut shards = ShardsBuilder::new()
        .shards(3)
        .local(log(), |t: &mut T<'_>, mut shard| {
            if shard.index() == 0 {
                let mesh = shard.mesh().clone();
                let first = mesh.request(t, 1, |reply| Msg::Double(10, reply))?.unwrap();
                let second = mesh.request(t, 2, |reply| Msg::Double(20, reply))?.unwrap();
                assert_eq!((first.shard(), second.shard()), (1, 2));
                // Neither handler has run yet: shard 0 has not waited.
                t.state().notes.push(format!("{:?}", mesh.queued(1)));
                // Gathered in the other order than sent.
                let b = t.wait(second)?.unwrap();
                let a = t.wait(first)?.unwrap();
                t.state().kept.extend([a, b]);
                return Ok(());
            }
            serve(t, &mut shard)
        })
        .unwrap();
    shards.run_until_idle();
    let ends = shards.finish();
    assert_eq!(state(&ends[0]).notes, ["Some(1)"]);
    assert_eq!(state(&ends[0]).kept, [20, 40]);
}

#[test]
fn a_request_whose_reply_is_dropped_answers_no_reply_and_a_dropped_answer_closes_the_reply() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(log(), |t: &mut T<'_>, mut shard| {
            if shard.index() == 1 {
                // Forgets the first request, holds the second.
                let forgotten = t.recv(shard.inbox())?;
                drop(forgotten);
                return serve(t, &mut shard);
            }
            let mesh = shard.mesh().clone();
            let lost = mesh.request(t, 1, |reply| Msg::Double(1, reply))?.unwrap();
            assert_eq!(t.wait(lost)?, Err(NoReply { shard: 1 }));
            let given_up = mesh.request(t, 1, Msg::Hold)?.unwrap();
            drop(given_up);
            t.state().notes.push(NoReply { shard: 1 }.to_string());
            Ok(())
        })
        .unwrap();
    shards.run_until_idle();
    let ends = shards.finish();
    assert!(state(&ends[0]).notes[0].starts_with("shard 1 dropped the request's reply"));
    // The handler sees that nobody waits for the held reply any more, and
    // an answer sent now is given back.
    let mut ends = ends;
    let held = ends[1].as_mut().unwrap().state.held.pop().unwrap();
    assert!(held.is_closed());
    assert_eq!(held.send(7), Err(7));
}

#[test]
fn a_full_queue_makes_the_sender_wait_and_room_resumes_it_in_order() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .queue_capacity(2)
        .local(log(), |t: &mut T<'_>, mut shard| {
            if shard.index() == 0 {
                for n in 0..5 {
                    shard.mesh().send(t, 1, Msg::Put(n))?.unwrap();
                    t.state().notes.push(format!("sent {n}"));
                }
                return Ok(());
            }
            // Shard 1 starts receiving only after 10 ms.
            t.sleep(Duration::from_millis(10))?;
            serve(t, &mut shard)
        })
        .unwrap();
    shards.run_until_idle();
    // Two fit; the third send waits for room, nothing is dropped.
    assert_eq!(shards.mesh().queued(1), Some(2));
    let waits: Vec<String> = shards
        .driver(0)
        .unwrap()
        .tasks()
        .iter()
        .map(|task| task.wait.to_string())
        .collect();
    assert!(
        waits
            .iter()
            .any(|wait| wait.contains("room in another shard's queue")),
        "{waits:?}"
    );
    assert_eq!(
        shards.driver(0).unwrap().state().notes,
        ["sent 0", "sent 1"]
    );
    shards.run_for(Duration::from_millis(10));
    assert!(!shards.is_running(0), "every send went through");
    let ends = shards.finish();
    assert_eq!(state(&ends[1]).kept, [0, 1, 2, 3, 4]);
    assert_eq!(state(&ends[0]).notes.len(), 5);
}

#[test]
fn messages_from_one_sender_arrive_in_order() {
    let mut shards = ShardsBuilder::new()
        .shards(3)
        .queue_capacity(3)
        .local(log(), |t: &mut T<'_>, mut shard| {
            if shard.index() == 1 {
                return serve(t, &mut shard);
            }
            let me = shard.index();
            for n in 0..20 {
                shard.mesh().send(t, 1, Msg::From(me, n))?.unwrap();
            }
            Ok(())
        })
        .unwrap();
    shards.run_until_idle();
    let ends = shards.finish();
    let tagged = &state(&ends[1]).tagged;
    assert_eq!(tagged.len(), 40);
    for sender in [0, 2] {
        let from: Vec<u32> = tagged
            .iter()
            .filter(|(from, _)| *from == sender)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(from, (0..20).collect::<Vec<_>>());
    }
    // Both senders were interleaved, not one after the other.
    assert_ne!(
        tagged[..20].iter().filter(|(from, _)| *from == 0).count(),
        20
    );
}

#[test]
fn a_shard_that_does_not_exist_is_a_typed_error_with_the_message_given_back() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(log(), |t: &mut T<'_>, shard| {
            if shard.index() == 1 {
                return Ok(());
            }
            let mesh = shard.mesh();
            match mesh.send(t, 7, Msg::Put(1))? {
                Err(ShardSendError::NoSuchShard {
                    shard: 7,
                    shards: 2,
                    message: Msg::Put(1),
                }) => {}
                other => panic!("{other:?}"),
            }
            match mesh.call(t, 2, |reply| Msg::Double(1, reply))? {
                Err(CallError::Send(error)) => {
                    assert_eq!(error.shard(), 2);
                    assert!(matches!(error.into_message(), Msg::Double(1, _)));
                }
                other => panic!("{other:?}"),
            }
            let error = mesh.spawn_on(t, 9, |_: &mut T<'_>| Ok(()))?.unwrap_err();
            t.state().notes.push(error.to_string());
            Ok(())
        })
        .unwrap();
    shards.run_until_idle();
    let mesh = shards.mesh();
    let error = mesh.try_send(2, Msg::Put(3)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "there is no shard 2: the shards are numbered 0 to 1; the message is given back"
    );
    assert!(matches!(error.into_message(), Msg::Put(3)));
    let ends = shards.finish();
    assert_eq!(
        state(&ends[0]).notes,
        ["there is no shard 9: the shards are numbered 0 to 1; the message is given back"]
    );
}

#[test]
fn a_stopped_shard_gives_the_message_back_and_fails_pending_calls() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(log(), |t: &mut T<'_>, mut shard| {
            if shard.index() == 1 {
                // Holds the first request on its stack, unanswered.
                let _held = t.recv(shard.inbox())?;
                t.state().notes.push("holding".into());
                return t.sleep(Duration::from_secs(3600));
            }
            let mesh = shard.mesh().clone();
            // A call that shard 1 holds unanswered...
            let held = mesh.call(t, 1, Msg::Hold)?;
            assert!(
                matches!(held, Err(CallError::NoReply { shard: 1 })),
                "{held:?}"
            );
            t.state().notes.push(held.unwrap_err().to_string());
            // ...and a send after shard 1 stopped.
            match mesh.send(t, 1, Msg::Put(5))? {
                Err(ShardSendError::Stopped {
                    shard: 1,
                    message: Msg::Put(5),
                }) => {}
                other => panic!("{other:?}"),
            }
            t.state().notes.push("given back".into());
            Ok(())
        })
        .unwrap();
    shards.run_until_idle();
    assert_eq!(shards.driver(1).unwrap().state().notes, ["holding"]);
    shards.stop(1);
    assert!(!shards.is_running(1));
    shards.run_until_idle();
    let ends = shards.finish();
    assert_eq!(
        state(&ends[0]).notes,
        [
            "shard 1 dropped the request's reply without answering (its handler forgot it or panicked, or the shard stopped first)",
            "given back"
        ]
    );
}

#[test]
fn messages_queued_when_a_shard_ends_are_handed_back_with_its_state() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(log(), |t: &mut T<'_>, shard| {
            if shard.index() == 1 {
                // Never receives.
                return t.sleep(Duration::from_secs(3600));
            }
            for n in 0..3 {
                shard.mesh().send(t, 1, Msg::Put(n))?.unwrap();
            }
            Ok(())
        })
        .unwrap();
    shards.run_until_idle();
    let ends = shards.finish();
    let undelivered: Vec<u32> = ends[1]
        .as_ref()
        .unwrap()
        .undelivered
        .iter()
        .map(|msg| match msg {
            Msg::Put(n) => *n,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(undelivered, [0, 1, 2]);
    assert!(ends[0].as_ref().unwrap().undelivered.is_empty());
}

#[test]
fn a_panicking_main_task_is_reported_with_its_index_and_stops_the_others() {
    let mut shards = ShardsBuilder::new()
        .shards(3)
        .local(log(), |t: &mut T<'_>, mut shard| serve(t, &mut shard))
        .unwrap();
    shards.run_until_idle();
    shards.mesh().try_send(1, Msg::Boom(None)).unwrap();
    shards.run_until_idle();
    assert!((0..3).all(|index| !shards.is_running(index)));
    let ends = shards.finish();
    assert!(ends[0].is_ok() && ends[2].is_ok());
    let failure = ends[1].as_ref().unwrap_err();
    assert_eq!(failure.shard(), 1);
    assert_eq!(failure.panic_message(), Some("boom"));
    assert_eq!(failure.to_string(), "shard 1 panicked: boom");
}

#[test]
fn a_graceful_shutdown_lets_every_inbox_drain() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(log(), |t: &mut T<'_>, mut shard| serve(t, &mut shard))
        .unwrap();
    let mesh = shards.mesh();
    mesh.try_send(0, Msg::Put(1)).unwrap();
    mesh.try_send(1, Msg::Put(2)).unwrap();
    shards.shutdown();
    assert!(matches!(
        mesh.try_send(0, Msg::Put(3)),
        Err(ShardSendError::Stopped { shard: 0, .. })
    ));
    shards.run_until_idle();
    assert!(
        !shards.is_running(0) && !shards.is_running(1),
        "each main task ended by itself"
    );
    let ends = shards.finish();
    assert_eq!(state(&ends[0]).kept, [1]);
    assert_eq!(state(&ends[1]).kept, [2]);
}

#[test]
fn a_task_spawned_on_another_shard_runs_there_on_its_state() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(
            |index, _| Log {
                kept: vec![index as u32],
                ..Log::default()
            },
            |t: &mut T<'_>, mut shard| {
                if shard.index() == 0 {
                    let (reply, mut answer) = {
                        // The spawned task answers through a channel of its own.
                        let (tx, rx) = t.handle().remote_channel::<u32>();
                        (tx, rx)
                    };
                    shard
                        .mesh()
                        .spawn_on(t, 1, move |t: &mut T<'_>| {
                            t.state().kept.push(10);
                            let first = t.state().kept[0];
                            reply.send(first).unwrap();
                            Ok(())
                        })?
                        .unwrap();
                    let seen = t.recv(&mut answer)?.unwrap();
                    t.state().notes.push(format!("shard 1 starts with {seen}"));
                    return Ok(());
                }
                serve(t, &mut shard)
            },
        )
        .unwrap();
    shards.run_until_idle();
    let ends = shards.finish();
    assert_eq!(state(&ends[0]).notes, ["shard 1 starts with 1"]);
    assert_eq!(state(&ends[1]).kept, [1, 10]);
}

#[test]
fn a_timeout_covers_a_call_and_a_late_answer_is_given_back() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(log(), |t: &mut T<'_>, mut shard| {
            if shard.index() == 1 {
                return serve(t, &mut shard);
            }
            let mesh = shard.mesh().clone();
            let outcome = t.timeout(Duration::from_millis(10), |t| mesh.call(t, 1, Msg::Hold))?;
            let _: Elapsed = outcome.unwrap_err();
            let now = t.now();
            t.state().notes.push(format!("timed out at {now}"));
            Ok(())
        })
        .unwrap();
    shards.run_until_idle();
    assert!(shards.is_running(0), "the call waits");
    shards.run_for(Duration::from_millis(10));
    assert!(!shards.is_running(0));
    // The held reply's caller is gone: its answer comes back.
    let reply = shards.driver(1).unwrap().state().held.pop().unwrap();
    assert!(reply.is_closed());
    assert_eq!(reply.send(3), Err(3));
    let ends = shards.finish();
    assert_eq!(state(&ends[0]).notes, ["timed out at 10ms"]);
}

#[test]
fn a_send_waiting_for_room_can_time_out_and_keeps_its_message() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .queue_capacity(1)
        .local(log(), |t: &mut T<'_>, shard| {
            if shard.index() == 1 {
                return t.sleep(Duration::from_secs(3600)); // never receives
            }
            let mesh = shard.mesh();
            mesh.send(t, 1, Msg::Put(1))?.unwrap();
            let mut send = mesh.send_source(1, Msg::Put(2));
            let outcome = t.timeout(Duration::from_millis(5), |t| t.wait(&mut send))?;
            let _: Elapsed = outcome.unwrap_err();
            let back = send.take_message();
            assert!(matches!(back, Some(Msg::Put(2))), "{back:?}");
            t.state().notes.push("kept".into());
            Ok(())
        })
        .unwrap();
    shards.run_for(Duration::from_millis(5));
    let ends = shards.finish();
    assert_eq!(state(&ends[0]).notes, ["kept"]);
    assert_eq!(ends[1].as_ref().unwrap().undelivered.len(), 1);
}

#[test]
fn a_sender_waiting_for_room_gets_its_message_back_when_the_shard_stops() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .queue_capacity(1)
        .local(log(), |t: &mut T<'_>, shard| {
            if shard.index() == 1 {
                return t.sleep(Duration::from_secs(3600)); // never receives
            }
            shard.mesh().send(t, 1, Msg::Put(1))?.unwrap();
            match shard.mesh().send(t, 1, Msg::Put(2))? {
                Err(ShardSendError::Stopped {
                    shard: 1,
                    message: Msg::Put(2),
                }) => {}
                other => panic!("{other:?}"),
            }
            t.state().notes.push("given back".into());
            Ok(())
        })
        .unwrap();
    shards.run_until_idle();
    assert!(shards.is_running(0), "the second send waits for room");
    shards.stop(1);
    shards.run_until_idle();
    assert!(!shards.is_running(0));
    let ends = shards.finish();
    assert_eq!(state(&ends[0]).notes, ["given back"]);
    assert_eq!(ends[1].as_ref().unwrap().undelivered.len(), 1);
}

#[test]
fn try_send_to_a_full_queue_gives_the_message_back() {
    let shards = ShardsBuilder::new()
        .shards(1)
        .queue_capacity(2)
        .local(log(), |t: &mut T<'_>, mut shard| serve(t, &mut shard))
        .unwrap();
    let mesh = shards.mesh();
    mesh.try_send(0, Msg::Put(1)).unwrap();
    mesh.try_send(0, Msg::Put(2)).unwrap();
    let error = mesh.try_send(0, Msg::Put(3)).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the queue of shard 0 is full"),
        "{error}"
    );
    assert!(matches!(
        error,
        ShardSendError::Full {
            shard: 0,
            message: Msg::Put(3)
        }
    ));
    assert_eq!(mesh.queued(0), Some(2));
    assert_eq!(mesh.queued(1), None);
}

#[test]
fn a_reply_dropped_by_its_handler_ends_the_call() {
    let mut shards = ShardsBuilder::new()
        .shards(2)
        .local(log(), |t: &mut T<'_>, mut shard| {
            if shard.index() == 1 {
                // Receives requests and forgets to answer them.
                while let Ok(msg) = t.recv(shard.inbox())? {
                    drop(msg);
                }
                return Ok(());
            }
            let error = shard
                .mesh()
                .call(t, 1, |reply| Msg::Double(4, reply))?
                .unwrap_err();
            assert!(matches!(error, CallError::NoReply { shard: 1 }));
            assert!(error.into_message().is_none());
            t.state().notes.push("no reply".into());
            Ok(())
        })
        .unwrap();
    shards.run_until_idle();
    let ends = shards.finish();
    assert_eq!(state(&ends[0]).notes, ["no reply"]);
}

#[test]
fn zero_shards_or_a_zero_capacity_are_refused() {
    let main = |t: &mut T<'_>, mut shard: Shard<Msg, Log>| serve(t, &mut shard);
    let error = ShardsBuilder::new()
        .shards(0)
        .local(log(), main)
        .unwrap_err();
    assert!(matches!(error, StartError::NoShards));
    assert!(error.to_string().contains("at least one"));
    let error = ShardsBuilder::new()
        .queue_capacity(0)
        .start(log(), main, |_| ())
        .unwrap_err();
    assert!(matches!(error, StartError::ZeroCapacity));
    assert!(error.to_string().contains("queue_capacity"));
}

// On threads.

#[test]
fn threads_answer_calls_and_hand_back_states_in_shard_order() {
    let (done, finished) = mpsc::channel();
    let shards = ShardsBuilder::new()
        .shards(3)
        .queue_capacity(4)
        .start(
            |index, _| Log {
                kept: vec![index as u32],
                ..Log::default()
            },
            move |t: &mut T<'_>, mut shard: Shard<Msg, Log>| {
                if shard.index() == 0 {
                    let mesh = shard.mesh().clone();
                    let done = done.clone();
                    t.spawn(move |t: &mut T<'_>| {
                        let mut sum = 0;
                        for n in 0..100 {
                            sum += mesh
                                .call(t, 1 + n as usize % 2, |reply| Msg::Double(n, reply))?
                                .unwrap();
                        }
                        done.send(sum).unwrap();
                        Ok(())
                    })
                    .unwrap();
                }
                serve(t, &mut shard)
            },
            |end: Finished<Log, Msg>| (end.index, end.state.kept),
        )
        .unwrap();
    assert_eq!(shards.len(), 3);
    assert_eq!(
        finished.recv().unwrap(),
        (0..100).map(|n| n * 2).sum::<u32>()
    );
    shards.shutdown();
    let ends: Vec<(usize, Vec<u32>)> = shards.join().into_iter().map(Result::unwrap).collect();
    assert_eq!(ends, [(0, vec![0]), (1, vec![1]), (2, vec![2])]);
}

#[test]
fn a_panic_on_one_thread_is_reported_and_the_others_are_stopped() {
    let shards = ShardsBuilder::new()
        .shards(3)
        .start(
            log(),
            |t: &mut T<'_>, mut shard: Shard<Msg, Log>| {
                if shard.index() == 2 {
                    // Shard 2 waits for nothing but time: only a stop ends it.
                    return t.sleep(Duration::from_secs(3600));
                }
                if shard.index() == 0 {
                    let error = shard
                        .mesh()
                        .call(t, 1, |reply| Msg::Boom(Some(reply)))?
                        .unwrap_err();
                    t.state().notes.push(error.to_string());
                }
                serve(t, &mut shard)
            },
            |end: Finished<Log, Msg>| end.state.notes,
        )
        .unwrap();
    let ends = shards.join();
    let failure = ends[1].as_ref().unwrap_err();
    assert_eq!(failure.shard(), 1);
    assert_eq!(failure.panic_message(), Some("boom"));
    assert!(ends[0].is_ok() && ends[2].is_ok(), "{ends:?}");
}

#[test]
fn a_panicking_state_factory_is_the_shards_failure() {
    let shards = ShardsBuilder::new()
        .shards(2)
        .start(
            |index, _| {
                assert_ne!(index, 1, "no state for shard 1");
                Log::default()
            },
            |t: &mut T<'_>, mut shard: Shard<Msg, Log>| serve(t, &mut shard),
            |_: Finished<Log, Msg>| (),
        )
        .unwrap();
    let ends = shards.join();
    assert!(ends[0].is_ok());
    let failure = ends[1].as_ref().unwrap_err();
    assert_eq!(failure.shard(), 1);
    assert!(
        failure.to_string().contains("no state for shard 1"),
        "{failure}"
    );
}

#[test]
fn stopping_tears_down_tasks_that_do_not_listen() {
    let (ready, all_ready) = mpsc::channel();
    let shards = ShardsBuilder::new()
        .shards(2)
        .start(
            log(),
            move |t: &mut T<'_>, _shard: Shard<Msg, Log>| {
                ready.send(()).unwrap();
                // Waits for nothing but an hour: only a stop ends it.
                let slept = t.sleep(Duration::from_secs(3600));
                if slept.is_err() {
                    t.state().notes.push("torn down".into());
                }
                slept
            },
            |end: Finished<Log, Msg>| end.state.notes,
        )
        .unwrap();
    all_ready.recv().unwrap();
    all_ready.recv().unwrap();
    shards.stop();
    for end in shards.join() {
        assert_eq!(end.unwrap(), ["torn down"]);
    }
}

#[test]
fn threads_can_run_on_virtual_clocks() {
    let (told, heard) = mpsc::channel();
    let shards = ShardsBuilder::new()
        .shards(2)
        .virtual_clock()
        .start(
            log(),
            move |t: &mut T<'_>, mut shard: Shard<Msg, Log>| {
                if shard.index() == 0 {
                    // An hour of virtual time passes at once.
                    t.sleep(Duration::from_secs(3600))?;
                    let doubled = shard.mesh().call(t, 1, |reply| Msg::Double(2, reply))?;
                    let now = t.now();
                    told.send(format!("{} at {now}", doubled.unwrap())).unwrap();
                    return Ok(());
                }
                serve(t, &mut shard)
            },
            |end: Finished<Log, Msg>| end.index,
        )
        .unwrap();
    assert_eq!(heard.recv().unwrap(), "4 at 3600s");
    shards.shutdown();
    let ends: Vec<usize> = shards.join().into_iter().map(Result::unwrap).collect();
    assert_eq!(ends, [0, 1]);
}

/// One acceptor (here the test's thread) hands each accepted connection
/// to a shard, as a `std::net::TcpStream`; the shard registers it with its
/// driver and serves it.
#[cfg(feature = "io")]
#[test]
fn an_acceptor_hands_connections_to_shards() {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    use coshare::driver::shards::Mesh;

    let (meshes, mesh) = mpsc::channel::<Mesh<TcpStream, ()>>();
    let shards = ShardsBuilder::new()
        .shards(2)
        .start(
            |_, _| (),
            move |t: &mut Task<()>, mut shard: Shard<TcpStream, ()>| -> Eff<Yields, ()> {
                if shard.index() == 0 {
                    // The mesh is `Send`: the acceptor gets one.
                    meshes.send(shard.mesh().clone()).unwrap();
                }
                let index = shard.index();
                while let Ok(accepted) = t.recv(shard.inbox())? {
                    let mut stream = t.handle().tcp_stream_from_std(accepted).unwrap();
                    t.spawn(move |t: &mut Task<()>| -> Eff<Yields, ()> {
                        let hello = format!("served by shard {index}");
                        t.write_all(&mut stream, hello.as_bytes())?.unwrap();
                        Ok(())
                    })
                    .unwrap();
                }
                Ok(())
            },
            |_| (),
        )
        .unwrap();
    let mesh = mesh.recv().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    for n in 0..4 {
        let mut client = TcpStream::connect(addr).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        mesh.try_send(n % 2, accepted).unwrap();
        let mut hello = String::new();
        client.read_to_string(&mut hello).unwrap();
        assert_eq!(hello, format!("served by shard {}", n % 2));
    }
    shards.shutdown();
    for end in shards.join() {
        end.unwrap();
    }
}

/// The CPUs the calling thread may run on, from `/proc` (Linux).
fn allowed_cpus() -> Option<String> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .map(|list| list.trim().to_owned())
}

/// The CPUs of a list such as `0-3,6`.
fn expand(list: &str) -> Vec<usize> {
    list.split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect::<Vec<usize>>(),
            None => vec![part.parse().unwrap()],
        })
        .collect()
}

#[test]
fn pinned_shards_each_run_on_one_cpu_in_turn() {
    let Some(here) = allowed_cpus() else {
        return; // no /proc: nothing to look at
    };
    let cpus = expand(&here);
    let (tx, rx) = mpsc::channel();
    let shards = ShardsBuilder::new()
        .shards(cpus.len() + 1)
        .pin_to_cores()
        .start(
            move |index, _| {
                // The state is built on the pinned thread.
                tx.send((index, allowed_cpus().unwrap())).unwrap();
                Log::default()
            },
            |_: &mut T<'_>, _: Shard<Msg, Log>| -> Eff<Yields, ()> { Ok(()) },
            |_: Finished<Log, Msg>| (),
        )
        .unwrap();
    let mut seen: Vec<(usize, String)> = rx.iter().take(cpus.len() + 1).collect();
    seen.sort();
    for (index, list) in seen {
        // One CPU each, going round again past the last one.
        assert_eq!(list, cpus[index % cpus.len()].to_string(), "shard {index}");
    }
    assert!(shards.join().into_iter().all(|end| end.is_ok()));
    // The caller's own thread is not pinned.
    assert_eq!(allowed_cpus().unwrap(), here);
}
