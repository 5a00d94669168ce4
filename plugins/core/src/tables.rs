//! Compact storage for the big lists of a policy (a mapping rule's exact values and ranges):
//! strings in one buffer instead of one allocation each, and exact values in an
//! open-addressing hash table of 4-byte slots. A 100,000-entry list costs about 20 bytes per
//! entry instead of a `String` and a hash map node (which were ~200).

use crate::keys::canonical_number;
use crate::model::MappingRule;

/// Strings in document order, stored back to back in one buffer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Texts {
    text: String,
    ends: Vec<u32>,
}

impl Texts {
    pub fn with_capacity(count: usize, bytes: usize) -> Texts {
        Texts {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let start = match i.checked_sub(1) {
            Some(p) => *self.ends.get(p)? as usize,
            None => 0,
        };
        let end = *self.ends.get(i)? as usize;
        self.text.get(start..end)
    }
}

/// The lists of one rule field (every item's `values`, or every item's `ranges`), flattened:
/// entry `i` belongs to item `item_of(i)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ItemTexts {
    pub texts: Texts,
    /// Index of each item's first entry.
    starts: Vec<u32>,
}

impl ItemTexts {
    pub fn with_capacity(count: usize, bytes: usize) -> ItemTexts {
        ItemTexts {
            texts: Texts::with_capacity(count, bytes),
            starts: Vec::new(),
        }
    }

    /// Entries pushed from now on belong to a new item.
    pub fn start_item(&mut self) {
        let at = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.starts.push(at);
    }

    pub fn push(&mut self, s: &str) {
        self.texts.push(s);
    }

    pub fn items(&self) -> usize {
        self.starts.len()
    }

    /// Entry range of item `ii`.
    pub fn bounds(&self, ii: usize) -> (usize, usize) {
        let start = self
            .starts
            .get(ii)
            .map_or(self.texts.len(), |&s| s as usize);
        let end = self
            .starts
            .get(ii + 1)
            .map_or(self.texts.len(), |&s| s as usize);
        (start, end)
    }

    /// Item `ii`'s entries, as (flat index, text).
    pub fn item(&self, ii: usize) -> impl Iterator<Item = (usize, &str)> {
        let (start, end) = self.bounds(ii);
        (start..end).filter_map(|i| Some((i, self.texts.get(i)?)))
    }

    /// (item, position in the item) of flat entry `i`.
    pub fn item_of(&self, i: usize) -> (usize, usize) {
        let ii = self
            .starts
            .partition_point(|&s| s as usize <= i)
            .saturating_sub(1);
        let start = self.starts.get(ii).map_or(0, |&s| s as usize);
        (ii, i.saturating_sub(start))
    }

    /// Every item's entries as owned lists (to rebuild the document).
    pub fn to_lists(&self) -> Vec<Vec<String>> {
        (0..self.items())
            .map(|ii| self.item(ii).map(|(_, s)| s.to_string()).collect())
            .collect()
    }

    /// From owned lists (a typed policy).
    pub fn from_lists<'a>(lists: impl Iterator<Item = &'a [String]>) -> ItemTexts {
        let mut out = ItemTexts::default();
        for list in lists {
            out.start_item();
            for s in list {
                out.push(s);
            }
        }
        out
    }
}

/// A mapping rule's lists, kept beside the document: the `values` of each `exact` item and
/// the `ranges` of each `ranges` item, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RuleLists {
    pub exact: ItemTexts,
    pub ranges: ItemTexts,
}

impl RuleLists {
    /// The lists of a typed rule.
    pub fn of(rule: &MappingRule) -> RuleLists {
        RuleLists {
            exact: ItemTexts::from_lists(rule.exact.iter().map(|i| i.values.as_slice())),
            ranges: ItemTexts::from_lists(rule.ranges.iter().map(|i| i.ranges.as_slice())),
        }
    }

    /// Puts the lists back into `rule` (whose items they were taken from).
    pub fn restore(&self, rule: &mut MappingRule) {
        for (item, values) in rule.exact.iter_mut().zip(self.exact.to_lists()) {
            item.values = values;
        }
        for (item, ranges) in rule.ranges.iter_mut().zip(self.ranges.to_lists()) {
            item.ranges = ranges;
        }
    }
}

/// FNV-1a, 64 bits: small and good enough for a table of trusted policy strings.
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Exact values (trimmed) -> their first entry, in an open-addressing table with linear
/// probing. A slot holds entry index + 1; 0 is empty. The table is 1.5x the entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ExactTable {
    pub values: ItemTexts,
    slots: Vec<u32>,
    /// Values of a number key: compared as canonical numbers (`0042` is `42`).
    pub numeric: bool,
}

/// Where a value would go: its entry if already present, or the free slot.
enum Probe {
    Found(usize),
    Free(usize),
}

impl ExactTable {
    /// An empty table over `values`; fill it with `insert`.
    pub fn new(values: ItemTexts) -> ExactTable {
        let n = values.texts.len();
        ExactTable {
            values,
            slots: vec![0; n + n / 2 + 1],
            numeric: false,
        }
    }

    fn probe(&self, key: &str) -> Option<Probe> {
        let len = self.slots.len();
        let mut at = usize::try_from(hash(key) % u64::try_from(len).ok()?).ok()?;
        for _ in 0..len {
            match *self.slots.get(at)? {
                0 => return Some(Probe::Free(at)),
                slot => {
                    let entry = slot as usize - 1;
                    if self.values.texts.get(entry).map(|t| self.form(t)) == Some(key) {
                        return Some(Probe::Found(entry));
                    }
                }
            }
            at = if at + 1 == len { 0 } else { at + 1 };
        }
        None
    }

    /// A value as it is compared: trimmed, and for a number key its canonical number.
    fn form<'t>(&self, text: &'t str) -> &'t str {
        let t = text.trim();
        match self.numeric {
            true => canonical_number(t).unwrap_or(t),
            false => t,
        }
    }

    /// Adds entry `i` under its compared form; if an earlier entry has that form, keeps the
    /// earlier one and returns its index.
    pub fn insert(&mut self, i: usize) -> Option<usize> {
        let key = self.form(self.values.texts.get(i)?);
        match self.probe(key)? {
            Probe::Found(first) => Some(first),
            Probe::Free(at) => {
                if let Some(slot) = self.slots.get_mut(at) {
                    *slot = u32::try_from(i + 1).unwrap_or(0);
                }
                None
            }
        }
    }

    /// The entry whose compared form is `key`. O(1).
    pub fn get(&self, key: &str) -> Option<usize> {
        // No hash of the key when the rule lists no values (range-only rules).
        if self.values.texts.len() == 0 {
            return None;
        }
        match self.probe(key)? {
            Probe::Found(i) => Some(i),
            Probe::Free(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_lookups() {
        let lists = [
            vec!["a".to_string(), " b ".into()],
            vec![],
            vec!["c".into()],
        ];
        let v = ItemTexts::from_lists(lists.iter().map(Vec::as_slice));
        assert_eq!(v.items(), 3);
        assert_eq!(v.to_lists(), lists.to_vec());
        assert_eq!(v.item_of(0), (0, 0));
        assert_eq!(v.item_of(1), (0, 1));
        assert_eq!(v.item_of(2), (2, 0));
        let mut t = ExactTable::new(v);
        assert_eq!(t.insert(0), None);
        assert_eq!(t.insert(1), None);
        assert_eq!(t.insert(2), None);
        assert_eq!(t.get("b"), Some(1));
        assert_eq!(t.get("c"), Some(2));
        assert_eq!(t.get("d"), None);
        // A second "a" finds the first.
        let mut dup = ExactTable::new(ItemTexts::from_lists(
            [vec!["a".to_string(), "a ".into()]]
                .iter()
                .map(Vec::as_slice),
        ));
        assert_eq!(dup.insert(0), None);
        assert_eq!(dup.insert(1), Some(0));
    }

    #[test]
    fn many_values() {
        let values: Vec<String> = (0..10_000).map(|i| format!("v{i}")).collect();
        let mut t = ExactTable::new(ItemTexts::from_lists([values.as_slice()].into_iter()));
        for i in 0..values.len() {
            assert_eq!(t.insert(i), None);
        }
        for (i, v) in values.iter().enumerate() {
            assert_eq!(t.get(v), Some(i));
        }
        assert_eq!(t.get("v10000"), None);
    }
}
