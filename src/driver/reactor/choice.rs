//! Schedule exploration's choices: which order the tasks of a round run
//! in, and how late a timer fires, taken from a seeded generator or
//! replayed from a recorded [`Schedule`].
//!
//! Everything here is deterministic: the generator is SplitMix64 on a
//! `u64` seed, and nothing depends on addresses, hashes or the machine, so
//! the same seed makes the same choices everywhere.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The choices of one explored run: for each round whose tasks did not run
/// in the default order, the order they ran in, as positions in the
/// default (first in, first out) order. Rounds are numbered from 0 in the
/// order the driver ran them; a round not listed ran in the default order.
///
/// A schedule prints as `round:order;...`, e.g. `3:1,0;7:2,0,1` (round 3
/// ran its two tasks in reverse; round 7 ran the third first), and parses
/// back from the same text, so a failing run can be replayed exactly with
/// [`DriverBuilder::replay`](crate::driver::DriverBuilder::replay). Timer
/// delays, when explored, are part of the seed's run but not of the
/// schedule: replay a run with delays by its seed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// `(round, order)`, by round.
    rounds: Vec<(u64, Vec<u32>)>,
}

impl Schedule {
    /// The default order everywhere.
    pub fn new() -> Schedule {
        Schedule::default()
    }

    /// How many rounds ran out of the default order.
    pub fn reordered_rounds(&self) -> usize {
        self.rounds.len()
    }

    /// The order of round `round`, if it was not the default one.
    pub fn order(&self, round: u64) -> Option<&[u32]> {
        self.rounds
            .iter()
            .find(|(r, _)| *r == round)
            .map(|(_, order)| order.as_slice())
    }

    /// Records the order of `round` (the default order is not recorded).
    fn set(&mut self, round: u64, order: Vec<u32>) {
        let identity = order.iter().enumerate().all(|(i, &p)| i as u32 == p);
        self.rounds.retain(|(r, _)| *r != round);
        if !identity {
            self.rounds.push((round, order));
            self.rounds.sort_by_key(|(r, _)| *r);
        }
    }

    /// The schedule of the given orders, round by round from round 0.
    pub(crate) fn from_orders(orders: &[Vec<u32>]) -> Schedule {
        let mut schedule = Schedule::new();
        for (round, order) in orders.iter().enumerate() {
            schedule.set(round as u64, order.clone());
        }
        schedule
    }

    /// The same schedule without round `round`'s reordering.
    pub(crate) fn without(&self, round: u64) -> Schedule {
        Schedule {
            rounds: self
                .rounds
                .iter()
                .filter(|(r, _)| *r != round)
                .cloned()
                .collect(),
        }
    }

    /// The rounds it reorders.
    pub(crate) fn rounds(&self) -> impl Iterator<Item = u64> + '_ {
        self.rounds.iter().map(|(r, _)| *r)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (round, order)) in self.rounds.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{round}:")?;
            for (j, p) in order.iter().enumerate() {
                if j > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{p}")?;
            }
        }
        Ok(())
    }
}

/// Why a text is not a [`Schedule`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleParseError(String);

impl fmt::Display for ScheduleParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a schedule ({}): expected `round:order;...`, e.g. `3:1,0;7:2,0,1`, \
             each order a permutation of 0..n",
            self.0
        )
    }
}

impl std::error::Error for ScheduleParseError {}

impl FromStr for Schedule {
    type Err = ScheduleParseError;

    fn from_str(s: &str) -> Result<Schedule, ScheduleParseError> {
        let mut schedule = Schedule::new();
        let mut rounds_given = Vec::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (round, order) = part
                .split_once(':')
                .ok_or_else(|| ScheduleParseError(format!("no `:` in `{part}`")))?;
            let round: u64 = round
                .trim()
                .parse()
                .map_err(|_| ScheduleParseError(format!("`{round}` is not a round number")))?;
            let order: Vec<u32> = order
                .split(',')
                .map(|p| p.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| ScheduleParseError(format!("`{order}` is not a list of positions")))?;
            let mut seen = vec![false; order.len()];
            for &p in &order {
                match seen.get_mut(p as usize) {
                    Some(slot) if !*slot => *slot = true,
                    _ => {
                        return Err(ScheduleParseError(format!("`{part}` is not a permutation")));
                    }
                }
            }
            if rounds_given.contains(&round) {
                return Err(ScheduleParseError(format!("round {round} is given twice")));
            }
            rounds_given.push(round);
            schedule.set(round, order);
        }
        Ok(schedule)
    }
}

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-and-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// Where a driver's choices come from.
#[derive(Clone, Debug)]
enum Source {
    Seed(SplitMix64),
    Replay(Schedule),
}

/// The choices of an exploring driver.
#[derive(Clone, Debug)]
pub(crate) struct Chooser {
    source: Source,
    /// How late a timer may fire (only with a seed).
    max_delay: Duration,
    /// The next round's number.
    round: u64,
    /// What was chosen so far.
    record: Schedule,
    /// How many tasks each round had.
    sizes: Vec<usize>,
}

impl Chooser {
    pub(crate) fn seeded(seed: u64, max_delay: Duration) -> Chooser {
        Chooser {
            source: Source::Seed(SplitMix64(seed)),
            max_delay,
            round: 0,
            record: Schedule::new(),
            sizes: Vec::new(),
        }
    }

    pub(crate) fn replay(schedule: Schedule) -> Chooser {
        Chooser {
            source: Source::Replay(schedule),
            max_delay: Duration::ZERO,
            round: 0,
            record: Schedule::new(),
            sizes: Vec::new(),
        }
    }

    /// How late a timer may fire (only with a seed).
    pub(crate) fn set_max_delay(&mut self, max: Duration) {
        self.max_delay = max;
    }

    /// The order of the next round of `n` tasks: a permutation of `0..n`.
    pub(crate) fn round_order(&mut self, n: usize) -> Vec<u32> {
        let round = self.round;
        self.round += 1;
        self.sizes.push(n);
        let mut order: Vec<u32> = (0..n as u32).collect();
        match &mut self.source {
            Source::Seed(rng) => {
                // Fisher-Yates.
                for i in (1..n).rev() {
                    let j = rng.below(i as u64 + 1) as usize;
                    order.swap(i, j);
                }
            }
            Source::Replay(schedule) => {
                if let Some(given) = schedule.order(round) {
                    // A replay that diverged (another number of tasks)
                    // keeps the default order for this round.
                    if given.len() == n {
                        order = given.to_vec();
                    }
                }
            }
        }
        self.record.set(round, order.clone());
        order
    }

    /// How late a timer added now fires.
    pub(crate) fn timer_delay(&mut self) -> Duration {
        match &mut self.source {
            Source::Seed(rng) if !self.max_delay.is_zero() => {
                let nanos = u64::try_from(self.max_delay.as_nanos()).unwrap_or(u64::MAX);
                Duration::from_nanos(rng.below(nanos.saturating_add(1)))
            }
            _ => Duration::ZERO,
        }
    }

    /// The choices made so far.
    pub(crate) fn schedule(&self) -> &Schedule {
        &self.record
    }

    /// How many tasks each round so far had.
    pub(crate) fn sizes(&self) -> &[usize] {
        &self.sizes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_makes_the_same_choices_every_time() {
        let run = |seed| {
            let mut chooser = Chooser::seeded(seed, Duration::from_millis(3));
            let orders: Vec<Vec<u32>> = (1..8).map(|n| chooser.round_order(n)).collect();
            let delays: Vec<Duration> = (0..8).map(|_| chooser.timer_delay()).collect();
            (orders, delays, chooser.schedule().clone())
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7).0, run(8).0);
        let (orders, delays, _) = run(7);
        for (n, order) in (1..).zip(&orders) {
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(sorted, (0..n).collect::<Vec<u32>>(), "a permutation");
        }
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(3)));
    }

    #[test]
    fn the_first_outputs_of_the_generator_are_the_reference_ones() {
        // SplitMix64's published test vector for seed 1234567.
        let mut rng = SplitMix64(1_234_567);
        let first: Vec<u64> = (0..3).map(|_| rng.next()).collect();
        assert_eq!(
            first,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn a_schedule_prints_parses_and_replays() {
        let mut chooser = Chooser::seeded(11, Duration::ZERO);
        for n in [1, 3, 2, 4, 1, 3] {
            chooser.round_order(n);
        }
        let schedule = chooser.schedule().clone();
        let text = schedule.to_string();
        let parsed: Schedule = text.parse().unwrap();
        assert_eq!(parsed, schedule);
        let mut replay = Chooser::replay(parsed);
        let mut again = Chooser::seeded(11, Duration::ZERO);
        for n in [1, 3, 2, 4, 1, 3] {
            assert_eq!(replay.round_order(n), again.round_order(n));
        }
        // Diverging: another size keeps the default order.
        let mut replay = Chooser::replay("0:1,0".parse().unwrap());
        assert_eq!(replay.round_order(3), [0, 1, 2]);
    }

    #[test]
    fn bad_schedules_are_refused_with_a_reason() {
        for bad in ["x", "1:", "1:0,0", "a:0", "1:0;1:0", "2:0,2"] {
            let err = bad.parse::<Schedule>().unwrap_err();
            assert!(err.to_string().contains("not a schedule"), "{bad}: {err}");
        }
        assert_eq!("".parse::<Schedule>().unwrap(), Schedule::new());
        assert_eq!("3:0,1".parse::<Schedule>().unwrap(), Schedule::new());
    }
}
