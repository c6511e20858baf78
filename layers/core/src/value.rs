//! The one grammar of each value form, used by the configuration file, the mapping files'
//! section keys and every stage's settings alike: [`duration`], [`size`], [`rate`] and
//! [`boolean`].
//!
//! **Durations** are a whole number and a unit, with or without a space, the unit in any case:
//!
//! | unit | spellings |
//! |---|---|
//! | millisecond | `ms` |
//! | second | `s`, `sec`, `second` |
//! | minute | `m`, `min`, `minute` |
//! | hour | `h`, `hour` |
//! | day | `d`, `day` |
//!
//! so `500ms`, `30s`, `5min`, `1h`, `3d` and `2 S` work for every duration key. A bare number
//! keeps the meaning each key gave it: seconds for the keys that always took one ([`duration`]:
//! every configuration key, `tolerance`), refused where a unit was always required
//! ([`duration_with_unit`]: `dedup_window`, where only `0` stands alone).
//!
//! **Sizes** are a whole number of bytes or of binary multiples: `512KB`, `5MB`, `1GB` (`K`,
//! `KiB`, `M`, `MiB`, … alike; 1KB = 1024 bytes), `7B`, or a bare number of bytes.
//!
//! **Booleans** are `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`, in any case.
//!
//! **Rates** are `N/period` with an optional `burst M`, the period a second, a minute or an
//! hour spelt as in durations: `50/s`, `3000/min`, `100/hour burst 20`.
//!
//! Every parser answers a lower-case message for a `FILE:LINE:` diagnostic; none echoes more
//! than the value it was given.

use std::num::NonZeroU32;
use std::time::Duration;

/// Every unit of time, by its spellings.
const UNITS: &[(&[&str], Duration)] = &[
    (&["ms"], Duration::from_millis(1)),
    (&["s", "sec", "second"], Duration::from_secs(1)),
    (&["m", "min", "minute"], Duration::from_secs(60)),
    (&["h", "hour"], Duration::from_secs(3600)),
    (&["d", "day"], Duration::from_secs(86_400)),
];

/// The periods a rate may have (a millisecond or a day is not one).
const RATE_PERIODS: &[Duration] = &[
    Duration::from_secs(1),
    Duration::from_secs(60),
    Duration::from_secs(3600),
];

/// A unit of time by one of its spellings (any case).
fn unit(text: &str) -> Option<Duration> {
    let text = text.trim().to_ascii_lowercase();
    UNITS
        .iter()
        .find(|(spellings, _)| spellings.contains(&text.as_str()))
        .map(|(_, unit)| *unit)
}

/// Splits `30s` into `("30", "s")`, both trimmed.
fn split_number(value: &str) -> (&str, &str) {
    let value = value.trim();
    let at = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, rest) = value.split_at(at);
    (digits, rest.trim())
}

/// `n` units, if that fits.
fn times(n: u64, unit: Duration) -> Option<Duration> {
    let nanos = u64::try_from(unit.as_nanos()).ok()?;
    let total = u128::from(n).checked_mul(u128::from(nanos))?;
    let secs = u64::try_from(total / 1_000_000_000).ok()?;
    let subsec = u32::try_from(total % 1_000_000_000).ok()?;
    Some(Duration::new(secs, subsec))
}

/// A number and a unit; `bare` is what a number alone means (`None`: refused).
fn number_and_unit(value: &str, bare: Option<Duration>) -> Option<Duration> {
    let (digits, unit_text) = split_number(value);
    let n: u64 = digits.parse().ok()?;
    let unit = match (unit_text, bare) {
        ("", Some(bare)) => bare,
        // `0` needs no unit: zero of anything is zero.
        ("", None) if n == 0 => return Some(Duration::ZERO),
        ("", None) => return None,
        (text, _) => unit(text)?,
    };
    times(n, unit)
}

/// Parses a duration whose bare number is seconds (`45` is 45 s): every configuration key and
/// the `tolerance` section key.
///
/// # Errors
/// A lower-case message: not a whole number and a unit of the table above, or too long.
///
/// ```
/// use std::time::Duration;
/// use genhook_core::value::duration;
/// assert_eq!(duration("5min"), Ok(Duration::from_secs(300)));
/// assert_eq!(duration("300"), Ok(Duration::from_secs(300)));
/// assert!(duration("soon").is_err());
/// ```
pub fn duration(value: &str) -> Result<Duration, String> {
    number_and_unit(value, Some(Duration::from_secs(1)))
        .ok_or_else(|| format!("not a duration (e.g. 500ms, 30s, 5m, 1h): {value:?}"))
}

/// Parses a duration that needs its unit (`0` alone is zero): the `dedup_window` section key,
/// where a bare number was never taken.
///
/// # Errors
/// A lower-case message: not a whole number and a unit of the table above, or too long.
///
/// ```
/// use std::time::Duration;
/// use genhook_core::value::duration_with_unit;
/// assert_eq!(duration_with_unit("3d"), Ok(Duration::from_secs(3 * 86_400)));
/// assert_eq!(duration_with_unit("0"), Ok(Duration::ZERO));
/// assert!(duration_with_unit("72").is_err());
/// ```
pub fn duration_with_unit(value: &str) -> Result<Duration, String> {
    number_and_unit(value, None).ok_or_else(|| {
        let text = value.trim();
        format!("bad duration `{text}`: expected a number and a unit (ms, s, m, h, d), e.g. 72h")
    })
}

/// Parses a size: `512KB`, `5MB`, `1GB` (binary multiples: 1KB = 1024 bytes), `B`, or a bare
/// number of bytes. Units are case-insensitive; `K`/`KiB` work as well as `KB`.
///
/// # Errors
/// A lower-case message: not a whole number and a unit, or too large.
pub fn size(value: &str) -> Result<u64, String> {
    let bad = || format!("not a size (e.g. 512KB, 5MB, 1GB): {value:?}");
    let (digits, unit) = split_number(value);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(factor).ok_or_else(bad)
}

/// Parses a boolean: `true/false`, `yes/no`, `on/off`, `1/0`, case-insensitive.
///
/// # Errors
/// A lower-case message naming the accepted words.
pub fn boolean(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "not a boolean (true/false, yes/no, on/off, 1/0): {value:?}"
        )),
    }
}

/// A rate: `count` per `period`, and the burst when one was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many per period.
    pub count: NonZeroU32,
    /// A second, a minute or an hour.
    pub period: Duration,
    /// `burst M`, if written.
    pub burst: Option<NonZeroU32>,
}

/// Why a rate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateError {
    /// Not `N/period`, `N` a whole number above 0 and the period a second, minute or hour.
    Form,
    /// The text after `burst` is not a whole number above 0.
    Burst(String),
}

/// Parses a rate: `N/s`, `N/min`, `N/hour` (every spelling of a second, a minute or an hour),
/// with an optional `burst M`.
///
/// # Errors
/// [`RateError`]: which part is wrong, for the caller's message.
///
/// ```
/// use std::time::Duration;
/// use genhook_core::value::rate;
/// let rate = rate("50/min burst 100").unwrap();
/// assert_eq!((rate.count.get(), rate.period), (50, Duration::from_secs(60)));
/// assert_eq!(rate.burst.map(|b| b.get()), Some(100));
/// ```
pub fn rate(value: &str) -> Result<Rate, RateError> {
    let text = value.trim();
    let (rate, burst) = match text.split_once("burst") {
        Some((rate, burst)) => (rate.trim(), Some(burst.trim())),
        None => (text, None),
    };
    let (count, per) = rate.split_once('/').ok_or(RateError::Form)?;
    let count = count
        .trim()
        .parse::<NonZeroU32>()
        .map_err(|_| RateError::Form)?;
    let period = unit(per)
        .filter(|period| RATE_PERIODS.contains(period))
        .ok_or(RateError::Form)?;
    let burst = burst
        .map(|burst| {
            burst
                .parse::<NonZeroU32>()
                .map_err(|_| RateError::Burst(burst.to_owned()))
        })
        .transpose()?;
    Ok(Rate {
        count,
        period,
        burst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moved from the configuration's value forms (`src/config/value.rs`); verify's own
    /// `tolerance` parser's cases (`300`, `300s`, `5m`, `1h`, `soon`) are here and below.
    #[test]
    fn durations() {
        assert_eq!(duration("300"), Ok(Duration::from_secs(300)));
        assert!(duration("soon").is_err());
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(duration("2 S"), Ok(Duration::from_secs(2)));
        for bad in ["", "s", "10x", "-1s", "1.5s", "99999999999999999999h"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            duration("10x"),
            Err("not a duration (e.g. 500ms, 30s, 5m, 1h): \"10x\"".to_owned())
        );
    }

    /// Moved from the dispatch stage's settings (`layers/dispatch/src/settings.rs`).
    #[test]
    fn durations_with_a_unit_in_every_unit() {
        let cases = [
            ("0", Duration::ZERO),
            ("250ms", Duration::from_millis(250)),
            ("90s", Duration::from_secs(90)),
            ("30m", Duration::from_secs(1800)),
            ("5min", Duration::from_secs(300)),
            ("72h", Duration::from_secs(259_200)),
            (" 3d ", Duration::from_secs(259_200)),
        ];
        for (text, expected) in cases {
            assert_eq!(duration_with_unit(text), Ok(expected), "{text}");
        }
        for text in [
            "",
            "h",
            "72",
            "72 hours",
            "-1h",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(
                duration_with_unit(text).is_err(),
                "{text:?} should be refused"
            );
        }
    }

    /// One grammar: every unit form means the same in both, and only a bare number differs.
    #[test]
    fn both_duration_forms_take_every_unit_alike() {
        let forms = [
            ("1500ms", Duration::from_millis(1500)),
            ("300s", Duration::from_secs(300)),
            ("300 sec", Duration::from_secs(300)),
            ("1second", Duration::from_secs(1)),
            ("5m", Duration::from_secs(300)),
            ("5min", Duration::from_secs(300)),
            ("5 MIN", Duration::from_secs(300)),
            ("2minute", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1hour", Duration::from_secs(3600)),
            ("3d", Duration::from_secs(259_200)),
            ("1day", Duration::from_secs(86_400)),
            ("0", Duration::ZERO),
        ];
        for (text, expected) in forms {
            assert_eq!(duration(text), Ok(expected), "{text}");
            assert_eq!(duration_with_unit(text), Ok(expected), "{text}");
        }
        assert_eq!(duration("300"), Ok(Duration::from_secs(300)));
        assert!(duration_with_unit("300").is_err());
        for bad in ["5 hours", "5w", "5y", "s5", "5s5"] {
            assert!(duration(bad).is_err(), "{bad}");
            assert!(duration_with_unit(bad).is_err(), "{bad}");
        }
    }

    /// Moved from the configuration's value forms (`src/config/value.rs`).
    #[test]
    fn sizes() {
        assert_eq!(size("100MB"), Ok(100 * 1024 * 1024));
        assert_eq!(size("5mb"), Ok(5 * 1024 * 1024));
        assert_eq!(size("512KB"), Ok(512 * 1024));
        assert_eq!(size("1GB"), Ok(1 << 30));
        assert_eq!(size("1234"), Ok(1234));
        assert_eq!(size("7B"), Ok(7));
        for bad in ["", "MB", "5TB", "-5MB", "18446744073709551615GB"] {
            assert!(size(bad).is_err(), "{bad}");
        }
    }

    /// Moved from the configuration's value forms (`src/config/value.rs`); identify's
    /// `sns_auto_confirm` had a copy of the same words.
    #[test]
    fn booleans() {
        for t in ["true", "TRUE", "yes", "on", "1", " On "] {
            assert_eq!(boolean(t), Ok(true));
        }
        for f in ["false", "No", "off", "0"] {
            assert_eq!(boolean(f), Ok(false));
        }
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn rates_take_the_duration_spellings_of_their_period() {
        let per = |text: &str| rate(text).map(|r| (r.count.get(), r.period, r.burst));
        assert_eq!(per("50/s"), Ok((50, Duration::from_secs(1), None)));
        assert_eq!(per(" 10 / sec "), Ok((10, Duration::from_secs(1), None)));
        assert_eq!(per("120/MIN"), Ok((120, Duration::from_secs(60), None)));
        assert_eq!(
            per("3600/hour"),
            Ok((3600, Duration::from_secs(3600), None))
        );
        assert_eq!(
            per("50/s burst 100"),
            Ok((50, Duration::from_secs(1), NonZeroU32::new(100)))
        );
        for bad in ["", "50", "0/s", "-1/s", "50/d", "50/ms", "x/s", "50/5s"] {
            assert_eq!(rate(bad), Err(RateError::Form), "{bad}");
        }
        assert_eq!(rate("50/s burst"), Err(RateError::Burst(String::new())));
        assert_eq!(rate("50/s burst 0"), Err(RateError::Burst("0".to_owned())));
    }
}
