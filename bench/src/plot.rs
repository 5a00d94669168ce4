//! The report's plot (PNG, plotters' bitmap backend): throughput relative to no filter, and
//! proxy CPU per request, one bar each per variant. Text is drawn with ab_glyph from the DejaVu
//! Sans file of Debian's fonts-dejavu-core (the Makefile installs it), so no fontconfig.

use crate::measure::Results;
use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use std::path::Path;

/// Where fonts-dejavu-core puts its sans font; UNITGATE_BENCH_FONT overrides it.
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn load_font() -> Result<()> {
    let path = std::env::var("UNITGATE_BENCH_FONT").unwrap_or_else(|_| FONT.to_string());
    let bytes = std::fs::read(&path)
        .with_context(|| format!("font {path} (apt-get install fonts-dejavu-core)"))?;
    // plotters keeps registered fonts for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| anyhow!("{path} is not a font ab_glyph can read"))
}

/// Writes the PNG: two panels, throughput vs no filter and CPU µs per request.
pub fn write(results: &Results, path: &Path) -> Result<()> {
    load_font()?;
    let base = results
        .median(crate::variants::Variant::NoFilter)
        .map(|s| s.rps)
        .unwrap_or(1.0);
    let rows: Vec<(String, f64, f64)> = results
        .variants
        .iter()
        .map(|v| {
            (
                v.variant.name().to_string(),
                v.median.rps / base,
                v.median.cpu_us_per_req,
            )
        })
        .collect();
    let root = BitMapBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);
    let max_ratio = rows.iter().map(|r| r.1).fold(1.0, f64::max) * 1.1;
    panel(
        &left,
        &rows,
        "Throughput / no filter",
        |r| r.1,
        max_ratio,
        2,
    )?;
    let max_cpu = rows.iter().map(|r| r.2).fold(1.0, f64::max) * 1.15;
    panel(
        &right,
        &rows,
        "Envoy CPU µs per request",
        |r| r.2,
        max_cpu,
        1,
    )?;
    root.present()
        .map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

type Row = (String, f64, f64);

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    rows: &[Row],
    title: &str,
    value: fn(&Row) -> f64,
    max: f64,
    decimals: usize,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = rows.len();
    // A segmented 0..k has k + 1 slots: one per row.
    let slots = 0..n.saturating_sub(1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(slots.into_segmented(), 0.0..max)
        .map_err(|e| anyhow!("{e}"))?;
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_style(("sans-serif", 13))
        .y_label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let color = Palette99::pick(i).mix(0.8);
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), value(r)),
                ],
                color.filled(),
            );
            bar.set_margin(0, 0, 8, 8);
            bar
        }))
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let style = TextStyle::from(("sans-serif", 13).into_font())
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            Text::new(
                format!("{:.*}", decimals, value(r)),
                (SegmentValue::CenterOf(i), value(r)),
                style,
            )
        }))
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
