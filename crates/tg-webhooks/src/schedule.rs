//! When to try again.

use std::time::Duration;

use tg_core::Timestamp;

/// Delays before each retry after the first attempt: 11 attempts over about 47 hours.
pub const RETRY_DELAYS_SECS: [i64; 10] =
    [5, 30, 120, 600, 1800, 3600, 10_800, 21_600, 43_200, 86_400];
/// A `Retry-After` longer than this is capped.
pub const MAX_RETRY_AFTER_SECS: i64 = 86_400;

/// When attempt number `attempts + 1` is due after `attempts` failed ones, or `None` when
/// the schedule is exhausted. `jitter` in [0, 1) spreads retries ±20 %; a receiver's
/// `Retry-After` is honoured when it asks for longer.
pub fn next_attempt(
    attempts: u32,
    now: Timestamp,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Option<Timestamp> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let base = *RETRY_DELAYS_SECS.get(index)?;
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    let mut delay_ms = (base as f64 * 1000.0 * spread) as i64;
    if let Some(ra) = retry_after {
        let asked = i64::try_from(ra.as_millis()).unwrap_or(i64::MAX);
        delay_ms = delay_ms.max(asked.min(MAX_RETRY_AFTER_SECS * 1000));
    }
    Some(Timestamp::from_micros(
        now.as_micros()
            .saturating_add(delay_ms.saturating_mul(1000)),
    ))
}

/// `Retry-After`: delta-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at = i64::try_from(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()?;
    Some(Duration::from_secs(
        u64::try_from(at.saturating_sub(now.as_secs())).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::from_secs(1_800_000_000);

    #[test]
    fn the_schedule_backs_off_with_bounded_jitter_and_ends() {
        assert_eq!(
            next_attempt(0, T, 0.5, None),
            None,
            "attempt numbers start at 1"
        );
        let first = next_attempt(1, T, 0.5, None).unwrap();
        assert_eq!(first, T.plus_secs(5));
        assert_eq!(
            next_attempt(1, T, 0.0, None).unwrap(),
            Timestamp::from_micros(T.as_micros() + 4_000_000)
        );
        assert_eq!(next_attempt(2, T, 0.5, None).unwrap(), T.plus_secs(30));
        assert_eq!(next_attempt(10, T, 0.5, None).unwrap(), T.plus_secs(86_400));
        assert_eq!(next_attempt(11, T, 0.5, None), None);
    }

    #[test]
    fn retry_after_is_honoured_when_longer_and_capped() {
        let later = next_attempt(1, T, 0.5, Some(Duration::from_secs(120))).unwrap();
        assert_eq!(later, T.plus_secs(120));
        let sooner = next_attempt(3, T, 0.5, Some(Duration::from_secs(1))).unwrap();
        assert_eq!(sooner, T.plus_secs(120), "never sooner than the schedule");
        let capped = next_attempt(1, T, 0.5, Some(Duration::from_secs(10 * 86_400))).unwrap();
        assert_eq!(capped, T.plus_secs(86_400));
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = Timestamp::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(0))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
