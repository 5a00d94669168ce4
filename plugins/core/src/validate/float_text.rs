//! An f64 written as `format!("{}")` writes it, without core's float formatting code (13 KB of
//! each wasm module): serde_json already carries a shortest round-trip formatter.

/// Same text as `x.to_string()`: "-1", "100.5", "0.0000001", "NaN", "inf".
pub(crate) fn float_text(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // Shortest digits that round-trip, e.g. "1e+20", "1.5e-7", "-0.0".
    let short = serde_json::Number::from_f64(x)
        .map(|n| n.to_string())
        .unwrap_or_default();
    positional(&short)
}

/// An exponent's text (`-7`, `+20`, `21`) as a number, 0 if unreadable; by `u64` parsing,
/// which the modules link anyway.
fn exponent(e: &str) -> i64 {
    let (negative, digits) = match e.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, e.strip_prefix('+').unwrap_or(e)),
    };
    let n = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| i64::try_from(n).ok())
        .unwrap_or(0);
    if negative {
        -n
    } else {
        n
    }
}

/// "1.5e-7" -> "0.00000015", "1e+20" -> "100000000000000000000", "2.0" -> "2".
fn positional(s: &str) -> String {
    let (sign, s) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s),
    };
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, exponent(e)),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    // Where the decimal point goes within `digits`.
    let point = i64::try_from(int.len()).unwrap_or(0) + exp;
    let len = i64::try_from(digits.len()).unwrap_or(0);
    let zeros = |n: i64| "0".repeat(usize::try_from(n).unwrap_or(0));
    let mut text = if point <= 0 {
        format!("0.{}{digits}", zeros(-point))
    } else if point >= len {
        format!("{digits}{}", zeros(point - len))
    } else {
        let (a, b) = digits.split_at(usize::try_from(point).unwrap_or(0));
        format!("{a}.{b}")
    };
    if text.contains('.') {
        let kept = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(kept);
    }
    let int_digits = text.trim_start_matches('0');
    let text = if int_digits.is_empty() || int_digits.starts_with('.') {
        format!("0{int_digits}")
    } else {
        int_digits.to_string()
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_floats_like_display() {
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            100.5,
            150.0,
            12.345,
            1e20,
            1e21,
            1e300,
            -5e9,
            1e-7,
            1.5e-7,
            0.1 + 0.2,
            123456.789,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // A spread of magnitudes and digit counts.
        let mut x = 1.234_567_891_234_5e-30_f64;
        while x < 1e30 {
            xs.push(x);
            xs.push(-x / 3.0);
            x *= 7.77;
        }
        for x in xs {
            assert_eq!(float_text(x), x.to_string(), "{x:e}");
        }
    }
}
