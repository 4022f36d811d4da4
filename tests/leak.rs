//! `mem::forget` of any public type leaks, and is never unsound.
//!
//! Forgetting a stage leaks its core, its state and every suspended stack:
//! their destructors never run, and the memory stays mapped, so nothing a
//! suspended coroutine refers to is ever freed under it. Everything that can
//! reach a coroutine stack is `'static`, so no borrow of a caller's frame can
//! outlive that frame through a leaked stack.

mod auxiliary;

use auxiliary::DropCounter;
use coshare::driver::{DriverBuilder, Task};
use coshare::{Co, Eff, Resumed, Stage, Yields};

#[test]
fn forgetting_a_stage_leaks_its_coroutines_and_nothing_else_breaks() {
    let drops = DropCounter::new();
    let mapped_before = Stage::new(()).stats().process_mapped_stacks;
    let mut stage = Stage::new(drops.token());
    for _ in 0..10 {
        let token = drops.token();
        let h = stage
            .spawn(
                move |co: &mut Co<auxiliary::Token>, ()| -> Eff<Yields, ()> {
                    let _token = token;
                    let mut frame = [0u64; 64];
                    frame[0] = 1;
                    std::hint::black_box(&mut frame);
                    loop {
                        co.suspend(())?;
                    }
                },
            )
            .unwrap();
        stage.resume(h, ()).unwrap();
    }
    std::mem::forget(stage);
    // Nothing was dropped: not the state, not the coroutines' frames.
    assert_eq!(drops.drops(), 0);
    // Their stacks stay mapped (leaked, never reused under them).
    let mut other = Stage::new(0u32);
    assert!(other.stats().process_mapped_stacks >= mapped_before + 10);
    // Other stages keep working.
    let h = other
        .spawn(|co: &mut Co<u32>, ()| -> Eff<Yields, u32> {
            *co.state() += 1;
            co.suspend(())?;
            Ok(*co.state())
        })
        .unwrap();
    other.resume(h, ()).unwrap();
    assert_eq!(other.resume(h, ()).unwrap(), Resumed::Return(1));
}

#[test]
fn forgetting_handles_and_driver_objects_only_leaks() {
    let mut d = DriverBuilder::new().virtual_clock().build(0u32);
    let (tx, mut rx) = d.handle().channel::<u32>(1);
    let notify = d.handle().notify();
    let h = d
        .spawn(move |t: &mut Task<u32>| -> Eff<Yields, u32> {
            let v = t.recv(&mut rx)?.unwrap();
            Ok(v)
        })
        .unwrap();
    // Forgetting a clone of a sender keeps the channel open for good; the
    // receiver still gets what the other sender sends.
    std::mem::forget(tx.clone());
    std::mem::forget(notify);
    tx.try_send(5).unwrap();
    drop(tx);
    assert_eq!(d.block_on(h).unwrap().unwrap(), 5);
    // A forgotten join handle detaches its task, which still runs.
    let late = d
        .spawn(|t: &mut Task<u32>| -> Eff<Yields, ()> {
            *t.state() += 1;
            Ok(())
        })
        .unwrap();
    std::mem::forget(late);
    d.run().unwrap();
    assert_eq!(*d.state(), 1);
}
