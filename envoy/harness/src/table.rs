//! Plain-text tables for the demo narration.

/// Renders rows under a header, columns padded to the widest cell.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect();
        format!("  {}", padded.join(" | ").trim_end())
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
    out.push(format!(
        "  {}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    ));
    out.extend(rows.iter().map(|r| line(r.clone())));
    out.join("\n")
}

/// Prints `render(header, rows)`.
pub fn print(header: &[&str], rows: &[Vec<String>]) {
    println!("{}", render(header, rows));
}
