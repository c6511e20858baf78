//! Parsing the `rate_limit` setting (`50/s`, `3000/min`, `100/h burst 20`) into a governor
//! [`Quota`].

use genhook_core::value::{self, RateError};
use governor::Quota;

/// Parses a rate with the one rate grammar ([`genhook_core::value::rate`]): `N/s`, `N/min`,
/// `N/h` (every spelling of a second, a minute or an hour that durations take), with an
/// optional `burst M` (default: `N`, a whole period's worth).
///
/// `50/s` lets 50 webhooks through at once and then one every 20 ms; `50/s burst 100` lets 100
/// through at once and then refills at the same pace.
///
/// # Errors
/// A lower-case message saying what is wrong, for a `FILE:LINE:` diagnostic.
///
/// ```
/// use genhook_rate_limit::parse_rate;
/// let quota = parse_rate("50/s burst 100").unwrap();
/// assert_eq!(quota.burst_size().get(), 100);
/// assert!(parse_rate("fast").is_err());
/// ```
pub fn parse_rate(text: &str) -> Result<Quota, String> {
    let text = text.trim();
    let rate = value::rate(text).map_err(|error| match error {
        RateError::Form => expected(text),
        RateError::Burst(burst) => {
            format!("bad burst `{burst}` in rate_limit: expected a whole number above 0")
        }
    })?;
    let quota = Quota::with_period(rate.period / rate.count.get())
        .ok_or_else(|| format!("rate_limit `{text}` is too fast: at most 1000000000/s"))?;
    Ok(quota.allow_burst(rate.burst.unwrap_or(rate.count)))
}

fn expected(text: &str) -> String {
    format!("bad rate_limit `{text}`: expected N/s, N/min or N/h, optionally followed by `burst N`")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn units_give_the_replenish_interval() {
        let cases = [
            ("50/s", Duration::from_millis(20), 50),
            ("120/m", Duration::from_millis(500), 120),
            ("120/min", Duration::from_millis(500), 120),
            ("3600/h", Duration::from_secs(1), 3600),
            (" 10 / sec ", Duration::from_millis(100), 10),
        ];
        for (text, interval, burst) in cases {
            let quota = parse_rate(text).unwrap();
            assert_eq!(quota.replenish_interval(), interval, "{text}");
            assert_eq!(quota.burst_size().get(), burst, "{text}");
        }
    }

    #[test]
    fn burst_overrides_the_default() {
        let quota = parse_rate("50/s burst 100").unwrap();
        assert_eq!(quota.burst_size().get(), 100);
        assert_eq!(quota.replenish_interval(), Duration::from_millis(20));
    }

    #[test]
    fn bad_values_are_errors() {
        for text in [
            "",
            "50",
            "0/s",
            "-1/s",
            "50/d",
            "x/s",
            "50/s burst",
            "50/s burst 0",
            "50/s burst x",
        ] {
            assert!(parse_rate(text).is_err(), "{text:?} should be refused");
        }
    }
}
