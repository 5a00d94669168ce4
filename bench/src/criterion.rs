//! Reads criterion's results (`<target>/criterion/<group>/<id>/new/estimates.json`) for the
//! report: the median time of each benchmark, by group and id.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// criterion's output directory: `$CARGO_TARGET_DIR/criterion`, else `<workspace>/target/criterion`.
pub fn dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(t) => PathBuf::from(t).join("criterion"),
        None => unitgate_envoy::locate::workspace_root().join("target/criterion"),
    }
}

/// Median time in nanoseconds of `<group>/<function>/<parameter>` (parameter may be empty),
/// or None when that benchmark has not run.
pub fn median_ns(root: &Path, group: &str, function: &str, parameter: &str) -> Option<f64> {
    let mut path = root.join(group).join(function);
    if !parameter.is_empty() {
        path = path.join(parameter);
    }
    let text = std::fs::read_to_string(path.join("new/estimates.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

/// "812 ns", "3.4 µs", "57 ms".
pub fn format_ns(ns: f64) -> String {
    let (v, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if v < 10.0 {
        format!("{v:.2} {unit}")
    } else if v < 100.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_median_criterion_wrote() {
        let root = std::env::temp_dir().join(format!("unitgate-criterion-{}", std::process::id()));
        let dir = root.join("g/f/10/new");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("estimates.json"),
            r#"{"mean":{"point_estimate":5.0},"median":{"point_estimate":812.5}}"#,
        )
        .unwrap();
        assert_eq!(median_ns(&root, "g", "f", "10"), Some(812.5));
        assert_eq!(median_ns(&root, "g", "f", "11"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn times_read_well() {
        assert_eq!(format_ns(812.0), "812 ns");
        assert_eq!(format_ns(3_400.0), "3.40 µs");
        assert_eq!(format_ns(57_000_000.0), "57.0 ms");
    }
}
