//! The clock delivery timing goes through: backoff, pauses and probes. Tests run it
//! faster than real time (`--delivery-time-scale 3600`: an hour of outage in a second),
//! so retry schedules measured in hours are exercised in seconds; signatures keep real
//! time, since the receiver checks them against its own clock.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    started: Instant,
    scale: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::scaled(1.0)
    }
}

impl Clock {
    /// A clock whose time passes `scale` times faster than real time.
    pub fn scaled(scale: f64) -> Self {
        Clock {
            started: Instant::now(),
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    /// Time elapsed on this clock since it started.
    pub fn now(&self) -> Duration {
        self.started.elapsed().mul_f64(self.scale)
    }

    /// Sleeps for `d` of this clock's time.
    pub async fn sleep(&self, d: Duration) {
        tokio::time::sleep(self.real(d)).await
    }

    /// The real duration of `d` on this clock.
    pub fn real(&self, d: Duration) -> Duration {
        d.div_f64(self.scale)
    }

    /// The wall-clock time `d` of this clock's time from now, for status views.
    pub fn wall_after(&self, d: Duration) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc() + self.real(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scaled_clock_runs_hours_in_milliseconds() {
        let clock = Clock::scaled(3600.0);
        let before = clock.now();
        let real = Instant::now();
        clock.sleep(Duration::from_secs(180)).await;
        assert!(clock.now() - before >= Duration::from_secs(180));
        assert!(real.elapsed() < Duration::from_secs(1));
        assert_eq!(
            clock.real(Duration::from_secs(3600)),
            Duration::from_secs(1)
        );
    }
}
