//! Inclusive ranges "min~max" (or a single number "42") over transformed key values.

/// An inclusive range of key values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub lo: u64,
    pub hi: u64,
}

/// Parse "min~max" or "n". Surrounding spaces are allowed. Errors say what was expected.
pub fn parse_span(s: &str) -> Result<Span, String> {
    let num = |t: &str| -> Result<u64, String> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "malformed range \"{s}\": expected \"min~max\" or \"n\" with non-negative integers"
            ));
        }
        t.parse::<u64>()
            .map_err(|_| format!("range bound \"{t}\" in \"{s}\" does not fit in 64 bits"))
    };
    let (lo, hi) = match s.split_once('~') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let n = num(s)?;
            (n, n)
        }
    };
    if lo > hi {
        return Err(format!("range \"{s}\" has min {lo} > max {hi}"));
    }
    Ok(Span { lo, hi })
}

/// A sorted, non-overlapping table of spans, each with a value; lookup is a binary search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpanTable<T> {
    entries: Vec<(Span, T)>,
}

impl<T: Clone> SpanTable<T> {
    /// Entries should not overlap (validation guarantees it for policies); where they do, the
    /// earlier entry in input order wins, as "first match" demands (AppActive import).
    pub fn new(entries: Vec<(Span, T)>) -> Self {
        let order = sorted_spans(entries.iter().map(|(s, _)| *s));
        let disjoint = order.windows(2).all(|w| match w {
            [(a, _), (b, _)] => a.hi < b.lo,
            _ => true,
        });
        if disjoint {
            return SpanTable {
                entries: reorder(&entries, &order),
            };
        }
        // Slow path: give each entry only what earlier entries left uncovered.
        let mut out: Vec<(Span, T)> = Vec::new();
        for (span, v) in entries {
            let taken: Vec<Span> = out.iter().map(|(s, _)| *s).collect();
            for free in gaps(span, &taken) {
                out.push((free, v.clone()));
            }
        }
        let order = sorted_spans(out.iter().map(|(s, _)| *s));
        SpanTable {
            entries: reorder(&out, &order),
        }
    }
}

/// `entries` in the order `sorted_spans` gave.
fn reorder<T: Clone>(entries: &[(Span, T)], order: &[(Span, usize)]) -> Vec<(Span, T)> {
    order
        .iter()
        .filter_map(|&(_, i)| entries.get(i).cloned())
        .collect()
}

/// Spans with their input positions, sorted by (lo, hi, position): sorting by position last
/// keeps input order among equal spans, as a stable sort would. Every span sort goes through
/// here, so the wasm modules carry one sort routine instead of one per call site.
pub fn sorted_spans(spans: impl Iterator<Item = Span>) -> Vec<(Span, usize)> {
    let mut v: Vec<(Span, usize)> = spans.enumerate().map(|(i, s)| (s, i)).collect();
    sort_spans(&mut v);
    v
}

/// Sorts (span, position) pairs in place by (lo, hi, position): no second table.
pub fn sort_spans(v: &mut [(Span, usize)]) {
    heapsort(v)
}

/// In-place heapsort, O(n log n): a few hundred bytes of wasm where the standard unstable
/// sort is ~3.6 KB. Keys are unique (positions), so stability does not arise. Bottom-up
/// (Floyd): the hole goes down to a leaf choosing the larger child, then the element climbs
/// back, about half the comparisons of the classic sift.
fn heapsort(v: &mut [(Span, usize)]) {
    fn sift_down(v: &mut [(Span, usize)], root: usize, end: usize) {
        let Some(&x) = v.get(root) else { return };
        // Down to a leaf, moving the larger child up.
        let mut hole = root;
        loop {
            let mut child = 2 * hole + 1;
            if child >= end {
                break;
            }
            if child + 1 < end && v.get(child) < v.get(child + 1) {
                child += 1;
            }
            v.swap(hole, child);
            hole = child;
        }
        // Back up until x fits.
        while hole > root {
            let parent = (hole - 1) / 2;
            if v.get(parent).is_some_and(|p| *p >= x) {
                break;
            }
            v.swap(hole, parent);
            hole = parent;
        }
    }
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift_down(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

impl SpanTable<()> {
    /// A set of values: the union of `spans` (the second field is free, e.g. a position).
    /// Sorts in place and merges, without the first-match bookkeeping of `new`.
    pub fn union(mut spans: Vec<(Span, usize)>) -> Self {
        sort_spans(&mut spans);
        let mut entries: Vec<(Span, ())> = Vec::with_capacity(spans.len());
        for (s, _) in spans {
            match entries.last_mut() {
                Some((last, ())) if s.lo <= last.hi.saturating_add(1) => {
                    last.hi = last.hi.max(s.hi)
                }
                _ => entries.push((s, ())),
            }
        }
        SpanTable { entries }
    }
}

impl<T> SpanTable<T> {
    /// A table from entries already sorted by `lo` and disjoint (a validated rule's ranges).
    pub fn from_sorted(entries: Vec<(Span, T)>) -> Self {
        SpanTable { entries }
    }

    /// The value whose span contains `x`. O(log n).
    pub fn get(&self, x: u64) -> Option<&T> {
        let idx = self.entries.partition_point(|(s, _)| s.lo <= x);
        let (span, v) = self.entries.get(idx.checked_sub(1)?)?;
        (x <= span.hi).then_some(v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(Span, T)> {
        self.entries.iter()
    }
}

/// Sub-ranges of `domain` not covered by `spans` (sorted by `lo`, possibly overlapping).
pub fn gaps(domain: Span, spans: &[Span]) -> Vec<Span> {
    gaps_sorted(
        domain,
        sorted_spans(spans.iter().copied())
            .into_iter()
            .map(|(s, _)| s),
    )
}

/// Sub-ranges of `domain` not covered by `spans`, which come sorted by `lo`.
pub fn gaps_sorted(domain: Span, spans: impl Iterator<Item = Span>) -> Vec<Span> {
    let mut out = Vec::new();
    // `next` = first value not yet known to be covered; None = past u64::MAX.
    let mut next = Some(domain.lo);
    for s in spans {
        let Some(n) = next else { break };
        if s.hi < n {
            continue;
        }
        if s.lo > n {
            let hi = s.lo.saturating_sub(1).min(domain.hi);
            if n <= hi {
                out.push(Span { lo: n, hi });
            }
        }
        next = s.hi.checked_add(1);
        if s.hi >= domain.hi {
            next = None;
        }
    }
    if let Some(n) = next {
        if n <= domain.hi {
            out.push(Span {
                lo: n,
                hi: domain.hi,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(lo: u64, hi: u64) -> Span {
        Span { lo, hi }
    }

    #[test]
    fn parses_spans() {
        assert_eq!(parse_span("0~1999"), Ok(sp(0, 1999)));
        assert_eq!(parse_span(" 5 ~ 7 "), Ok(sp(5, 7)));
        assert_eq!(parse_span("42"), Ok(sp(42, 42)));
        assert!(parse_span("7~5").unwrap_err().contains("min 7 > max 5"));
        assert!(parse_span("a~5").unwrap_err().contains("malformed"));
        assert!(parse_span("-1~5").unwrap_err().contains("malformed"));
        assert!(parse_span("").unwrap_err().contains("malformed"));
        assert!(parse_span("1~2~3").unwrap_err().contains("malformed"));
        assert!(parse_span("99999999999999999999")
            .unwrap_err()
            .contains("64 bits"));
    }

    #[test]
    fn table_lookup_and_first_match() {
        let t = SpanTable::new(vec![(sp(10, 19), "b"), (sp(0, 9), "a"), (sp(5, 30), "c")]);
        assert_eq!(t.get(0), Some(&"a"));
        assert_eq!(t.get(9), Some(&"a"));
        assert_eq!(t.get(10), Some(&"b"));
        assert_eq!(t.get(19), Some(&"b"));
        assert_eq!(t.get(20), Some(&"c"));
        assert_eq!(t.get(30), Some(&"c"));
        assert_eq!(t.get(31), None);
        let full = SpanTable::new(vec![(sp(0, u64::MAX), 1)]);
        assert_eq!(full.get(u64::MAX), Some(&1));
    }

    #[test]
    fn union_merges() {
        let t = SpanTable::union(vec![
            (sp(10, 19), 0),
            (sp(0, 4), 1),
            (sp(5, 12), 2),
            (sp(30, 30), 3),
        ]);
        let spans: Vec<Span> = t.iter().map(|(s, _)| *s).collect();
        assert_eq!(spans, vec![sp(0, 19), sp(30, 30)]);
        assert!(t.get(29).is_none() && t.get(30).is_some() && t.get(7).is_some());
        let full = SpanTable::union(vec![(sp(0, u64::MAX), 0), (sp(5, 6), 1)]);
        assert_eq!(full.len(), 1);
    }

    #[test]
    fn sorts_spans_like_the_standard_sort() {
        // A deterministic spread of lengths, duplicates and orders.
        let mut seed = 7u64;
        for len in 0..200usize {
            let spans: Vec<Span> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let lo = (seed >> 33) % 50;
                    sp(lo, lo + (seed >> 50) % 5)
                })
                .collect();
            let mut want: Vec<(Span, usize)> = spans
                .iter()
                .copied()
                .enumerate()
                .map(|(i, s)| (s, i))
                .collect();
            want.sort();
            assert_eq!(sorted_spans(spans.into_iter()), want, "len {len}");
        }
    }

    #[test]
    fn finds_gaps() {
        assert_eq!(gaps(sp(0, 9), &[sp(0, 3), sp(6, 9)]), vec![sp(4, 5)]);
        assert_eq!(gaps(sp(0, 9), &[sp(0, 9)]), vec![]);
        assert_eq!(gaps(sp(0, 9), &[]), vec![sp(0, 9)]);
        assert_eq!(
            gaps(sp(0, 9), &[sp(2, 3), sp(3, 4)]),
            vec![sp(0, 1), sp(5, 9)]
        );
        assert_eq!(gaps(sp(0, u64::MAX), &[sp(0, u64::MAX)]), vec![]);
        assert_eq!(gaps(sp(0, u64::MAX), &[sp(1, u64::MAX)]), vec![sp(0, 0)]);
        assert_eq!(gaps(sp(0, 9), &[sp(0, 20)]), vec![]);
    }
}
