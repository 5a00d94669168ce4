//! A JSON number's `f64`, computed as serde_json computes it (its default algorithm, not the
//! `float_roundtrip` one): the digits into a `u64` significand, then one multiplication or
//! division by a power of ten. Done here instead of calling serde_json's deserializer for an
//! `f64`, whose type-error paths cost each module about 2.5 KB.

/// 1e0 to 1e308, each literal the `f64` nearest its power of ten (serde_json's table).
#[rustfmt::skip]
static POW10: [f64; 309] = [
    1e000, 1e001, 1e002, 1e003, 1e004, 1e005, 1e006, 1e007, 1e008, 1e009,
    1e010, 1e011, 1e012, 1e013, 1e014, 1e015, 1e016, 1e017, 1e018, 1e019,
    1e020, 1e021, 1e022, 1e023, 1e024, 1e025, 1e026, 1e027, 1e028, 1e029,
    1e030, 1e031, 1e032, 1e033, 1e034, 1e035, 1e036, 1e037, 1e038, 1e039,
    1e040, 1e041, 1e042, 1e043, 1e044, 1e045, 1e046, 1e047, 1e048, 1e049,
    1e050, 1e051, 1e052, 1e053, 1e054, 1e055, 1e056, 1e057, 1e058, 1e059,
    1e060, 1e061, 1e062, 1e063, 1e064, 1e065, 1e066, 1e067, 1e068, 1e069,
    1e070, 1e071, 1e072, 1e073, 1e074, 1e075, 1e076, 1e077, 1e078, 1e079,
    1e080, 1e081, 1e082, 1e083, 1e084, 1e085, 1e086, 1e087, 1e088, 1e089,
    1e090, 1e091, 1e092, 1e093, 1e094, 1e095, 1e096, 1e097, 1e098, 1e099,
    1e100, 1e101, 1e102, 1e103, 1e104, 1e105, 1e106, 1e107, 1e108, 1e109,
    1e110, 1e111, 1e112, 1e113, 1e114, 1e115, 1e116, 1e117, 1e118, 1e119,
    1e120, 1e121, 1e122, 1e123, 1e124, 1e125, 1e126, 1e127, 1e128, 1e129,
    1e130, 1e131, 1e132, 1e133, 1e134, 1e135, 1e136, 1e137, 1e138, 1e139,
    1e140, 1e141, 1e142, 1e143, 1e144, 1e145, 1e146, 1e147, 1e148, 1e149,
    1e150, 1e151, 1e152, 1e153, 1e154, 1e155, 1e156, 1e157, 1e158, 1e159,
    1e160, 1e161, 1e162, 1e163, 1e164, 1e165, 1e166, 1e167, 1e168, 1e169,
    1e170, 1e171, 1e172, 1e173, 1e174, 1e175, 1e176, 1e177, 1e178, 1e179,
    1e180, 1e181, 1e182, 1e183, 1e184, 1e185, 1e186, 1e187, 1e188, 1e189,
    1e190, 1e191, 1e192, 1e193, 1e194, 1e195, 1e196, 1e197, 1e198, 1e199,
    1e200, 1e201, 1e202, 1e203, 1e204, 1e205, 1e206, 1e207, 1e208, 1e209,
    1e210, 1e211, 1e212, 1e213, 1e214, 1e215, 1e216, 1e217, 1e218, 1e219,
    1e220, 1e221, 1e222, 1e223, 1e224, 1e225, 1e226, 1e227, 1e228, 1e229,
    1e230, 1e231, 1e232, 1e233, 1e234, 1e235, 1e236, 1e237, 1e238, 1e239,
    1e240, 1e241, 1e242, 1e243, 1e244, 1e245, 1e246, 1e247, 1e248, 1e249,
    1e250, 1e251, 1e252, 1e253, 1e254, 1e255, 1e256, 1e257, 1e258, 1e259,
    1e260, 1e261, 1e262, 1e263, 1e264, 1e265, 1e266, 1e267, 1e268, 1e269,
    1e270, 1e271, 1e272, 1e273, 1e274, 1e275, 1e276, 1e277, 1e278, 1e279,
    1e280, 1e281, 1e282, 1e283, 1e284, 1e285, 1e286, 1e287, 1e288, 1e289,
    1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298, 1e299,
    1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308,
];

/// The `f64` of a JSON number's text, as serde_json parses it; None where serde_json refuses
/// it as out of range, and for text that is not a number (syntax is checked loosely: the
/// callers' text has passed serde_json's check).
pub(crate) fn f64_of(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let positive = b.first() != Some(&b'-');
    let mut i = usize::from(!positive);
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u64::from(c - b'0'))
    };
    digit(i)?;
    let mut significand = 0u64;
    let mut exponent = 0i32;
    // Integer digits past u64 only count as powers of ten.
    let mut full = false;
    while let Some(d) = digit(i) {
        match significand.checked_mul(10).and_then(|s| s.checked_add(d)) {
            Some(s) if !full => significand = s,
            _ => {
                full = true;
                exponent = exponent.saturating_add(1);
            }
        }
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        digit(i)?;
        // Fraction digits until the significand would overflow; the rest are dropped.
        let mut dropping = false;
        while let Some(d) = digit(i) {
            match significand.checked_mul(10).and_then(|s| s.checked_add(d)) {
                Some(s) if !dropping => {
                    significand = s;
                    exponent = exponent.saturating_sub(1);
                }
                _ => dropping = true,
            }
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let positive_exp = b.get(i) != Some(&b'-');
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        digit(i)?;
        let mut exp = 0i32;
        while let Some(d) = digit(i) {
            let Some(e) = exp.checked_mul(10).and_then(|e| e.checked_add(d as i32)) else {
                // An exponent past i32: out of range, or zero.
                if significand != 0 && positive_exp {
                    return None;
                }
                return Some(if positive { 0.0 } else { -0.0 });
            };
            exp = e;
            i += 1;
        }
        exponent = match positive_exp {
            true => exponent.saturating_add(exp),
            false => exponent.saturating_sub(exp),
        };
    }
    if i != b.len() {
        return None;
    }
    from_parts(positive, significand, exponent)
}

/// serde_json's `f64_from_parts`: one multiplication or division by a power of ten.
fn from_parts(positive: bool, significand: u64, mut exponent: i32) -> Option<f64> {
    let mut f = significand as f64;
    loop {
        match POW10.get(exponent.unsigned_abs() as usize) {
            Some(&pow) if exponent >= 0 => {
                f *= pow;
                if f.is_infinite() {
                    return None;
                }
                break;
            }
            Some(&pow) => {
                f /= pow;
                break;
            }
            None if f == 0.0 => break,
            None if exponent >= 0 => return None,
            None => {
                f /= 1e308;
                exponent += 308;
            }
        }
    }
    Some(if positive { f } else { -f })
}

#[cfg(test)]
mod tests {
    use super::f64_of;

    /// serde_json's own answer (bit for bit, sign of zero included).
    fn serde(text: &str) -> Option<u64> {
        serde_json::from_str::<f64>(text).ok().map(f64::to_bits)
    }

    /// The modules build serde_json with its default features, whose float parsing this file
    /// follows. A workspace test build may have its `float_roundtrip` feature on (jsonschema,
    /// used by the tools, turns it on): serde_json then rounds exactly, like `str::parse`, and
    /// the default "best-effort" algorithm is a few ulps from it at most (2 seen in 20,000
    /// random numbers). `text` must then be within 4 ulps.
    fn assert_like_serde_json(text: &str) {
        let got = f64_of(text).map(f64::to_bits);
        let probe = "21.630E-205";
        let roundtrip = serde(probe) == probe.parse::<f64>().ok().map(f64::to_bits);
        if !roundtrip {
            assert_eq!(got, serde(text), "{text}");
            return;
        }
        match (got, serde(text)) {
            (Some(a), Some(b)) => assert!(a.abs_diff(b) <= 4, "{text}: {a} vs {b}"),
            (a, b) => assert_eq!(a, b, "{text}"),
        }
    }

    #[test]
    fn parses_like_serde_json() {
        let mut fixed: Vec<String> = [
            "0",
            "-0",
            "1",
            "-1",
            "0.5",
            "-0.0",
            "1.5e3",
            "1E-3",
            "2.5e+10",
            "1e308",
            "1.8e308",
            "1e309",
            "-1e309",
            "4.9e-324",
            "1e-400",
            "-1e-400",
            "0e999999999999",
            "1e99999999999",
            "0.1",
            "0.2",
            "0.30000000000000004",
            "123456789012345678901234567890",
            "18446744073709551615",
            "18446744073709551616",
            "18446744073709551615.5",
            "1844674407370955161.6",
            "184467440737095516150.5",
            "0.000000000000000000000000001",
            "9007199254740993",
            "-9223372036854775809",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "17976931348623157e292",
            "1e-2147483648",
            "1e2147483647",
            "1e-2147483647",
            "0.1e2147483647",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        fixed.push(format!("1{}", "0".repeat(400)));
        fixed.push(format!("0.{}1", "0".repeat(400)));
        fixed.push(format!("{}.{}e-300", "9".repeat(30), "9".repeat(30)));
        for t in [
            "", "-", "abc", "1x", "1.5.5", "--1", "1e", "1e+", "1.", "x1",
        ] {
            assert_eq!(f64_of(t), None, "{t}");
        }
        for t in &fixed {
            assert_like_serde_json(t);
        }
        // Random numbers of every shape, from a fixed seed.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..20_000 {
            let mut t = String::new();
            if next(2) == 0 {
                t.push('-');
            }
            let int = 1 + next(25);
            t.push(char::from(b'1' + next(9) as u8));
            for _ in 1..int {
                t.push(char::from(b'0' + next(10) as u8));
            }
            if next(2) == 0 {
                t.push('.');
                for _ in 0..1 + next(25) {
                    t.push(char::from(b'0' + next(10) as u8));
                }
            }
            if next(2) == 0 {
                t.push(if next(2) == 0 { 'e' } else { 'E' });
                match next(3) {
                    0 => t.push('-'),
                    1 => t.push('+'),
                    _ => {}
                }
                t.push_str(&next(400).to_string());
            }
            assert_like_serde_json(&t);
        }
    }
}
