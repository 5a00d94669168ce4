//! RFC 3339 UTC timestamps <-> Unix milliseconds, without a clock or a date library.

/// Parse "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or "+00:00") into Unix milliseconds.
/// Only UTC is accepted: the policy is shared across regions, so offsets invite mistakes.
pub fn parse_rfc3339_utc(s: &str) -> Result<u64, String> {
    let bad = || format!("\"{s}\" is not an RFC 3339 UTC time like \"2026-11-22T03:00:00Z\"");
    let b = s.as_bytes();
    let digits = |from: usize, len: usize| -> Result<u64, String> {
        let part = b.get(from..from + len).ok_or_else(bad)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(part
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')))
    };
    let sep = |at: usize, allowed: &[u8]| -> Result<(), String> {
        match b.get(at) {
            Some(c) if allowed.contains(c) => Ok(()),
            _ => Err(bad()),
        }
    };
    let year = digits(0, 4)?;
    sep(4, b"-")?;
    let month = digits(5, 2)?;
    sep(7, b"-")?;
    let day = digits(8, 2)?;
    sep(10, b"Tt ")?;
    let hour = digits(11, 2)?;
    sep(13, b":")?;
    let min = digits(14, 2)?;
    sep(16, b":")?;
    let sec = digits(17, 2)?;
    let mut i = 19;
    let mut millis = 0u64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + u64::from(d - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    match b.get(i..) {
        Some(b"Z" | b"z" | b"+00:00" | b"-00:00") => {}
        _ => return Err(format!("{}: only UTC (\"Z\") is accepted", bad())),
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!("{}: no such date", bad()));
    }
    if hour > 23 || min > 59 || sec > 60 {
        return Err(format!("{}: no such time of day", bad()));
    }
    if year < 1970 {
        return Err(format!("{}: before 1970", bad()));
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec;
    Ok(secs * 1000 + millis)
}

/// Unix milliseconds -> "YYYY-MM-DDTHH:MM:SSZ" (whole seconds; the inverse of
/// `parse_rfc3339_utc`). Civil-from-days over the proleptic Gregorian calendar.
pub fn format_rfc3339_utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 for a date on or after it (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_what_it_parses() {
        assert_eq!(format_rfc3339_utc(0), "1970-01-01T00:00:00Z");
        for t in [
            "2026-11-22T03:00:00Z",
            "2024-02-29T23:59:59Z",
            "2100-03-01T00:00:01Z",
        ] {
            assert_eq!(
                parse_rfc3339_utc(t).map(format_rfc3339_utc),
                Ok(t.to_string())
            );
        }
    }

    #[test]
    fn parses_utc_times() {
        assert_eq!(parse_rfc3339_utc("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339_utc("2000-03-01T00:00:00Z"),
            Ok(951_868_800_000)
        );
        assert_eq!(
            parse_rfc3339_utc("2026-11-22T03:00:00Z"),
            Ok(1_795_316_400_000)
        );
        assert_eq!(
            parse_rfc3339_utc("2026-11-22T03:00:00.5Z"),
            Ok(1_795_316_400_500)
        );
        assert_eq!(
            parse_rfc3339_utc("2024-02-29T00:00:00+00:00"),
            Ok(1_709_164_800_000)
        );
    }

    #[test]
    fn rejects_bad_times() {
        for s in [
            "",
            "2026-11-22",
            "2026-11-22T03:00:00",
            "2026-11-22T03:00:00+08:00",
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T03:00:00.Z",
            "1969-12-31T23:59:59Z",
            "２０２６-11-22T03:00:00Z",
        ] {
            assert!(parse_rfc3339_utc(s).is_err(), "{s}");
        }
    }
}
