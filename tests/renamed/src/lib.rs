//! A user crate that depends on coshare under another name
//! (`shared = { package = "coshare", .. }`): the derive works with
//! `#[coshare(crate = "shared")]`, and `Label!` needs nothing, because it
//! finds its crate through `$crate`.

use shared::prelude::*;
use shared::{
    Co, CoroutineShareable, Eff, HList, HasPart, Label, Stage, StateAccess, Yields, hlist_pat,
};

/// A state whose derive names the renamed crate.
#[derive(Debug, Default, CoroutineShareable)]
#[coshare(crate = "shared")]
pub struct Counter {
    /// Hits so far.
    pub hits: u64,
    /// What happened.
    pub log: Vec<String>,
}

/// A part-generic helper through the renamed crate.
pub fn hit<I>(access: &mut impl StateAccess<State: HasPart<u64, I>>) -> u64 {
    let hits = access.part::<u64>();
    *hits += 1;
    *hits
}

/// Runs a coroutine and the main stack against `Counter`.
#[must_use]
pub fn run() -> Counter {
    let mut stage = Stage::new(Counter::default());
    let h = stage
        .spawn(|co: &mut Co<Counter>, ()| -> Eff<Yields, ()> {
            let n = hit(co);
            co.field::<Label!(log)>().push(format!("coroutine hit {n}"));
            co.suspend(())?;
            let hlist_pat![hits, log] = co.parts::<HList![u64, Vec<String>]>();
            log.push(format!("coroutine saw {hits}"));
            Ok(())
        })
        .expect("spawn");
    stage.resume(h, ()).expect("first resume");
    let n = hit(&mut stage);
    stage.state().log.push(format!("main hit {n}"));
    stage.resume(h, ()).expect("second resume");
    stage.into_state()
}

#[cfg(test)]
mod tests {
    #[test]
    fn derive_and_label_through_a_renamed_dependency() {
        let counter = super::run();
        assert_eq!(counter.hits, 2);
        assert_eq!(
            counter.log,
            ["coroutine hit 1", "main hit 2", "coroutine saw 2"]
        );
    }
}
