//! Time as a dependency: [`Service`](crate::Service) reads the wall clock through a
//! [`Clock`], so token expiry, retention cut-offs and (later) update leases are tested by
//! moving a [`ManualClock`] instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use stackgate_store::Timestamp;

/// A source of the current time in unix seconds.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// A clock that stands still until told to move, for tests.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(AtomicI64::new(start))
    }

    /// A manual clock set to the system time.
    pub fn at_system_time() -> ManualClock {
        ManualClock::new(SystemClock.now())
    }

    pub fn set(&self, now: Timestamp) {
        self.0.store(now, Ordering::Release);
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.0.load(Ordering::Acquire)
    }
}
