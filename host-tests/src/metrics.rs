//! The metrics registry: one per host (Envoy's stats store is process-wide), so workers that
//! define the same name share the metric. Tests read metrics by name.

use crate::abi::status;
use crate::sync::lock;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Metric kinds, numbered as in the ABI (`proxy_define_metric`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKind {
    pub fn from_abi(v: u32) -> Option<Self> {
        match v {
            0 => Some(MetricKind::Counter),
            1 => Some(MetricKind::Gauge),
            2 => Some(MetricKind::Histogram),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Metric {
    name: String,
    kind: MetricKind,
    value: i64,
    records: Vec<u64>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Vec<Metric>>,
}

impl Metrics {
    /// Define (or look up) a metric; ids start at 1.
    pub fn define(&self, kind: MetricKind, name: &str) -> u32 {
        let mut all = lock(&self.inner);
        if let Some(i) = all.iter().position(|m| m.name == name && m.kind == kind) {
            return i as u32 + 1;
        }
        all.push(Metric {
            name: name.to_string(),
            kind,
            value: 0,
            records: Vec::new(),
        });
        all.len() as u32
    }

    /// Envoy: counters only go up (a negative offset is BadArgument); histograms cannot be
    /// incremented.
    pub fn increment(&self, id: u32, offset: i64) -> i32 {
        self.with(id, |m| match m.kind {
            MetricKind::Counter if offset < 0 => status::BAD_ARGUMENT,
            MetricKind::Histogram => status::BAD_ARGUMENT,
            _ => {
                m.value = m.value.saturating_add(offset);
                status::OK
            }
        })
    }

    /// Envoy: a counter adds the value, a gauge is set, a histogram records it.
    pub fn record(&self, id: u32, value: u64) -> i32 {
        self.with(id, |m| {
            let v = i64::try_from(value).unwrap_or(i64::MAX);
            match m.kind {
                MetricKind::Counter => m.value = m.value.saturating_add(v),
                MetricKind::Gauge => m.value = v,
                MetricKind::Histogram => m.records.push(value),
            }
            status::OK
        })
    }

    /// Value for `proxy_get_metric`; histograms are BadArgument, as in Envoy.
    pub fn get(&self, id: u32) -> Result<u64, i32> {
        let all = lock(&self.inner);
        match all.get((id as usize).wrapping_sub(1)) {
            None => Err(status::NOT_FOUND),
            Some(m) if m.kind == MetricKind::Histogram => Err(status::BAD_ARGUMENT),
            Some(m) => Ok(m.value as u64),
        }
    }

    fn with(&self, id: u32, f: impl FnOnce(&mut Metric) -> i32) -> i32 {
        let mut all = lock(&self.inner);
        match all.get_mut((id as usize).wrapping_sub(1)) {
            Some(m) => f(m),
            None => status::NOT_FOUND,
        }
    }

    /// Counter or gauge value by name.
    pub fn value(&self, name: &str) -> Option<i64> {
        lock(&self.inner)
            .iter()
            .find(|m| m.name == name && m.kind != MetricKind::Histogram)
            .map(|m| m.value)
    }

    /// Values recorded in a histogram, in order.
    pub fn histogram(&self, name: &str) -> Option<Vec<u64>> {
        lock(&self.inner)
            .iter()
            .find(|m| m.name == name && m.kind == MetricKind::Histogram)
            .map(|m| m.records.clone())
    }

    /// Every counter and gauge by name.
    pub fn snapshot(&self) -> BTreeMap<String, i64> {
        lock(&self.inner)
            .iter()
            .filter(|m| m.kind != MetricKind::Histogram)
            .map(|m| (m.name.clone(), m.value))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_metric_rules() {
        let m = Metrics::default();
        let c = m.define(MetricKind::Counter, "c");
        assert_eq!(m.define(MetricKind::Counter, "c"), c);
        assert_eq!(m.increment(c, 2), status::OK);
        assert_eq!(m.increment(c, -1), status::BAD_ARGUMENT);
        assert_eq!(m.get(c), Ok(2));
        let g = m.define(MetricKind::Gauge, "g");
        assert_eq!(m.increment(g, -3), status::OK);
        assert_eq!(m.value("g"), Some(-3));
        assert_eq!(m.record(g, 9), status::OK);
        assert_eq!(m.value("g"), Some(9));
        let h = m.define(MetricKind::Histogram, "h");
        assert_eq!(m.record(h, 5), status::OK);
        assert_eq!(m.get(h), Err(status::BAD_ARGUMENT));
        assert_eq!(m.histogram("h"), Some(vec![5]));
        assert_eq!(m.get(99), Err(status::NOT_FOUND));
    }
}
