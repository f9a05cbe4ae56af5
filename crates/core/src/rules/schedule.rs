//! When a shipment in transit is next asked about. A moving parcel is checked every sync
//! interval; one that stays quiet (no new scan) is checked less and less often, and after a long
//! silence not at all, so that a waybill Blue Dart never updates — or whose answers are never
//! understood — stops costing a call every hour for ever. Any new scan starts it over.

use chrono::{DateTime, Duration, Utc};

/// Backoff steps are due this much early: an hourly cron that comes round a whole number of
/// hours after a sync (made a few seconds past the hour) still takes the shipment.
const CRON_EARLY: Duration = Duration::minutes(15);

/// Quiet for a day, checked every 3 hours; two days, 6; four, 12; a week, daily.
pub const DEFAULT_BACKOFF: &str = "1d=3h,2d=6h,4d=12h,7d=24h";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSchedule {
    /// While the parcel moves: `SYNC_INTERVAL_MINUTES`.
    pub moving: Duration,
    /// (quiet for at least, check every), ascending: `SYNC_BACKOFF`.
    pub backoff: Vec<(Duration, Duration)>,
    /// Quiet this long, polling stops: `SYNC_GIVE_UP_DAYS`.
    pub give_up_after: Duration,
}

/// The design's schedule: every 45 minutes while moving (under an hour, so that the hourly cron
/// reaches every moving shipment each hour), [`DEFAULT_BACKOFF`] when quiet, stop after 30 days.
impl Default for CheckSchedule {
    fn default() -> CheckSchedule {
        CheckSchedule {
            moving: Duration::minutes(45),
            backoff: parse_backoff(DEFAULT_BACKOFF).expect("the default backoff parses"),
            give_up_after: Duration::days(30),
        }
    }
}

/// The next check of a shipment, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextCheck {
    At(DateTime<Utc>),
    /// Quiet for too long: no more polling until something (a customer's refresh, an admin's
    /// sync) brings a new scan.
    Stopped,
}

impl CheckSchedule {
    /// After a sync at `now` of a shipment with no new scan since `quiet_since`.
    pub fn next_check(&self, quiet_since: DateTime<Utc>, now: DateTime<Utc>) -> NextCheck {
        let quiet = now - quiet_since;
        if quiet >= self.give_up_after {
            return NextCheck::Stopped;
        }
        let step = self
            .backoff
            .iter()
            .rev()
            .find(|(after, _)| quiet >= *after)
            .map_or(self.moving, |(_, every)| *every - CRON_EARLY);
        NextCheck::At(now + step.max(self.moving))
    }

    /// After a sync that gave up at `now` (its waybill kept failing): twice the wait of a
    /// shipment with no news since `quiet_since`, so the longer it fails the rarer it is tried;
    /// and where that would stop polling, the longest step, so that a recovery is noticed.
    pub fn after_failure(&self, quiet_since: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.next_check(quiet_since, now) {
            NextCheck::At(at) => now + (at - now) * 2,
            NextCheck::Stopped => {
                let longest = self.backoff.last().map_or(self.moving, |(_, every)| *every);
                now + longest.max(self.moving)
            }
        }
    }
}

/// `1d=3h,2d=6h,4d=12h,7d=24h`: after a day quiet, every 3 hours; and so on. Units `m`, `h`,
/// `d`; steps in ascending order.
pub fn parse_backoff(text: &str) -> Result<Vec<(Duration, Duration)>, String> {
    let duration = |part: &str| -> Result<Duration, String> {
        let part = part.trim();
        let (number, unit) = part.split_at(part.len().saturating_sub(1));
        let n: i64 = number
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{part:?} is not a positive duration like 3h"))?;
        match unit {
            "m" => Ok(Duration::minutes(n)),
            "h" => Ok(Duration::hours(n)),
            "d" => Ok(Duration::days(n)),
            _ => Err(format!("{part:?}: the unit must be m, h or d")),
        }
    };
    let mut steps = Vec::new();
    for step in text.split(',').filter(|s| !s.trim().is_empty()) {
        let (after, every) = step
            .split_once('=')
            .ok_or_else(|| format!("{step:?} is not quiet=every, like 1d=3h"))?;
        let step = (duration(after)?, duration(every)?);
        if steps.last().is_some_and(|(last, _)| *last >= step.0) {
            return Err("backoff steps must be in ascending order".into());
        }
        steps.push(step);
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn schedule() -> CheckSchedule {
        CheckSchedule {
            moving: Duration::minutes(45),
            backoff: parse_backoff("1d=3h,2d=6h,4d=12h,7d=24h").unwrap(),
            give_up_after: Duration::days(30),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 1, 10, 0, 5).unwrap()
    }

    fn after_quiet(quiet: Duration) -> NextCheck {
        schedule().next_check(now() - quiet, now())
    }

    fn at(step: Duration) -> NextCheck {
        NextCheck::At(now() + step)
    }

    #[test]
    fn a_failing_shipment_waits_twice_as_long_and_is_never_dropped() {
        let s = schedule();
        assert_eq!(s.after_failure(now(), now()), now() + Duration::minutes(90));
        let quiet_two_days = now() - Duration::days(2);
        assert_eq!(
            s.after_failure(quiet_two_days, now()),
            now() + (Duration::hours(6) - Duration::minutes(15)) * 2
        );
        let quiet_for_ever = now() - Duration::days(31);
        assert_eq!(
            s.after_failure(quiet_for_ever, now()),
            now() + Duration::hours(24)
        );
    }

    #[test]
    fn a_moving_parcel_is_checked_every_interval() {
        assert_eq!(after_quiet(Duration::zero()), at(Duration::minutes(45)));
        assert_eq!(after_quiet(Duration::hours(23)), at(Duration::minutes(45)));
    }

    #[test]
    fn a_quiet_parcel_is_checked_less_often_and_then_not_at_all() {
        let early = Duration::minutes(15);
        assert_eq!(
            after_quiet(Duration::days(1)),
            at(Duration::hours(3) - early)
        );
        assert_eq!(
            after_quiet(Duration::hours(47)),
            at(Duration::hours(3) - early)
        );
        assert_eq!(
            after_quiet(Duration::days(2)),
            at(Duration::hours(6) - early)
        );
        assert_eq!(
            after_quiet(Duration::days(5)),
            at(Duration::hours(12) - early)
        );
        assert_eq!(
            after_quiet(Duration::days(29)),
            at(Duration::hours(24) - early)
        );
        assert_eq!(after_quiet(Duration::days(30)), NextCheck::Stopped);
        assert_eq!(after_quiet(Duration::days(300)), NextCheck::Stopped);
    }

    #[test]
    fn a_step_shorter_than_the_interval_never_checks_more_often() {
        let s = CheckSchedule {
            backoff: parse_backoff("1d=10m").unwrap(),
            ..schedule()
        };
        assert_eq!(
            s.next_check(now() - Duration::days(2), now()),
            at(Duration::minutes(45))
        );
    }

    #[test]
    fn backoff_steps_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse_backoff(" 12h=2h , 3d=1d ").unwrap(),
            vec![
                (Duration::hours(12), Duration::hours(2)),
                (Duration::days(3), Duration::days(1))
            ]
        );
        assert_eq!(parse_backoff("").unwrap(), vec![]);
        assert!(parse_backoff("1d").is_err());
        assert!(parse_backoff("1d=3x").is_err());
        assert!(parse_backoff("1d=0h").is_err());
        assert!(parse_backoff("-1d=3h").is_err());
        assert!(parse_backoff("2d=3h,1d=6h").is_err());
    }
}
