//! Byte offsets in the policy text -> what an editor needs: line, column and UTF-16 offsets.

use std::collections::BTreeMap;

/// Where a finding lies, as a JavaScript editor counts: UTF-16 code units from the start
/// (`start..end`, for `setSelectionRange`), and a 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Place {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
}

/// Converts many byte offsets in one pass over the text (a policy may have thousands of
/// findings and megabytes of text).
pub fn places(text: &str, ranges: &[std::ops::Range<usize>]) -> Vec<Place> {
    let mut at: BTreeMap<usize, (usize, usize, usize)> = ranges
        .iter()
        .flat_map(|r| [r.start, r.end])
        .map(|b| (b, (0, 0, 0)))
        .collect();
    let (mut utf16, mut line, mut column) = (0, 1, 1);
    let mut chars = text.char_indices().peekable();
    for (&byte, slot) in at.iter_mut() {
        while let Some(&(i, c)) = chars.peek() {
            if i >= byte {
                break;
            }
            utf16 += c.len_utf16();
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
            chars.next();
        }
        *slot = (utf16, line, column);
    }
    ranges
        .iter()
        .map(|r| {
            let (start, line, column) = at.get(&r.start).copied().unwrap_or_default();
            let end = at.get(&r.end).map_or(start, |e| e.0);
            Place {
                start,
                end,
                line,
                column,
            }
        })
        .collect()
}

/// The byte offset of a 1-based line and column (serde_json's syntax error position).
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_lines_and_columns() {
        let text = "{\n  \"a\": \"é😀\", \"b\": 1\n}";
        let b = text.find("\"b\"").unwrap_or(0);
        let p = places(text, &[b..b + 3, 0..text.len()]);
        // "😀" is two UTF-16 units and one column.
        assert_eq!(
            p[0],
            Place {
                start: 16,
                end: 19,
                line: 2,
                column: 14
            }
        );
        assert_eq!((p[1].start, p[1].end, p[1].line), (0, 24, 1));
    }

    #[test]
    fn offset_of_a_line_and_column() {
        let text = "ab\ncd\n";
        assert_eq!(offset_of(text, 2, 2), 4);
        assert_eq!(offset_of(text, 9, 9), text.len());
    }
}
