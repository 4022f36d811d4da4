//! Driver time: [`Instant`], and the [`Clock`] (real or virtual) it is
//! read from.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point in driver time: the time elapsed since the driver was created,
/// on its clock (real or virtual).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The driver's start.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// The time since the driver's start.
    pub fn since_start(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates at the largest representable instant instead of
    /// overflowing.
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Saturates at zero.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Which clock a driver runs on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Clock {
    /// Wall time since `start`.
    Real { start: std::time::Instant },
    /// Time that moves only when the driver advances it.
    Virtual { now: Instant },
}

impl Clock {
    pub(crate) fn now(&self) -> Instant {
        match *self {
            Clock::Real { start } => Instant(start.elapsed()),
            Clock::Virtual { now } => now,
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual { .. })
    }
}

impl Clock {
    /// Advances a virtual clock to `to`, never backwards. A real clock is
    /// left alone.
    pub(crate) fn advance_to(&mut self, to: Instant) {
        if let Clock::Virtual { now } = self {
            if to > *now {
                *now = to;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_saturate_instead_of_overflowing() {
        let late = Instant::ZERO + Duration::MAX;
        assert_eq!(late + Duration::from_secs(1), late);
        assert_eq!(Instant::ZERO - late, Duration::ZERO);
        assert_eq!(late - Instant::ZERO, Duration::MAX);
    }

    #[test]
    fn a_virtual_clock_moves_only_forwards() {
        let mut clock = Clock::Virtual { now: Instant::ZERO };
        clock.advance_to(Instant::ZERO + Duration::from_millis(5));
        clock.advance_to(Instant::ZERO + Duration::from_millis(2));
        assert_eq!(clock.now(), Instant::ZERO + Duration::from_millis(5));
        assert!(clock.is_virtual());
    }
}
