//! Parsing the `rate_limit` setting (`50/s`, `3000/min`, `100/h burst 20`) into a governor
//! [`Quota`].

use std::num::NonZeroU32;
use std::time::Duration;

use governor::Quota;

/// Parses a rate: `N/s`, `N/m`, `N/min`, `N/h` (also `sec`, `second`, `minute`, `hour`), with an
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
    let (rate, burst) = match text.split_once("burst") {
        Some((rate, burst)) => (rate.trim(), Some(burst.trim())),
        None => (text, None),
    };
    let (count, unit) = rate.split_once('/').ok_or_else(|| expected(text))?;
    let count = count
        .trim()
        .parse::<NonZeroU32>()
        .map_err(|_| expected(text))?;
    let period = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(expected(text)),
    };
    let burst = match burst {
        Some(burst) => burst.parse::<NonZeroU32>().map_err(|_| {
            format!("bad burst `{burst}` in rate_limit: expected a whole number above 0")
        })?,
        None => count,
    };
    let quota = Quota::with_period(period / count.get())
        .ok_or_else(|| format!("rate_limit `{text}` is too fast: at most 1000000000/s"))?;
    Ok(quota.allow_burst(burst))
}

fn expected(text: &str) -> String {
    format!("bad rate_limit `{text}`: expected N/s, N/min or N/h, optionally followed by `burst N`")
}

#[cfg(test)]
mod tests {
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
