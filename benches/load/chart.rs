//! The bench's chart: an SVG of GenHook's delivered alerts per second over the direct program's,
//! one group of bars per GenHook scenario (the burst's last), one bar per concurrency, with the
//! direct program's level (1) drawn across. Drawn with plotters' SVG backend only.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: a scenario, a concurrency and its median delivered/s ratio to the direct program.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub(crate) scenario: &'static str,
    pub(crate) concurrency: usize,
    pub(crate) ratio: f64,
}

/// The colours of the concurrencies, in the order they first appear.
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];

/// Writes the chart of `bars` to `path` (creating its directory); `title` says which run.
pub(crate) fn write(path: &Path, title: &str, bars: &[Bar]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let root = SVGBackend::new(path, (1000, 520)).into_drawing_area();
    draw(&root, title, bars).map_err(|e| format!("cannot draw {}: {e}", path.display()))?;
    root.present()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    bars: &[Bar],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut scenarios: Vec<&'static str> = Vec::new();
    let mut concurrencies: Vec<usize> = Vec::new();
    for bar in bars {
        if !scenarios.contains(&bar.scenario) {
            scenarios.push(bar.scenario);
        }
        if !concurrencies.contains(&bar.concurrency) {
            concurrencies.push(bar.concurrency);
        }
    }
    let top = bars
        .iter()
        .map(|b| b.ratio)
        .filter(|r| r.is_finite())
        .fold(1.0_f64, f64::max)
        * 1.15;
    root.fill(&WHITE)?;
    let groups = scenarios.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..groups as f64, -top * 0.07..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("delivered/s ÷ direct (same round)")
        .y_label_formatter(&|v| {
            if *v < 0.0 {
                String::new()
            } else {
                format!("{v:.1}")
            }
        })
        .draw()?;

    let width = 0.8 / concurrencies.len().max(1) as f64;
    for (c, concurrency) in concurrencies.iter().enumerate() {
        let colour = COLOURS[c % COLOURS.len()];
        let mine: Vec<(usize, f64)> = bars
            .iter()
            .filter(|b| b.concurrency == *concurrency)
            .filter_map(|b| {
                let group = scenarios.iter().position(|s| *s == b.scenario)?;
                Some((group, b.ratio))
            })
            .collect();
        chart
            .draw_series(mine.iter().map(|(group, ratio)| {
                let left = *group as f64 + 0.1 + width * c as f64;
                Rectangle::new(
                    [(left, 0.0), (left + width * 0.95, *ratio)],
                    colour.filled(),
                )
            }))?
            .label(format!("{concurrency} connections"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
        chart.draw_series(mine.iter().map(|(group, ratio)| {
            let centre = *group as f64 + 0.1 + width * (c as f64 + 0.475);
            Text::new(
                format!("{ratio:.2}"),
                (centre, *ratio),
                ("sans-serif", 12)
                    .into_font()
                    .color(&BLACK)
                    .pos(centred(VPos::Bottom)),
            )
        }))?;
    }
    // The direct program's level.
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, 1.0), (groups as f64, 1.0)],
        BLACK.stroke_width(1),
    )))?;
    // The scenario names under their groups, in the band below 0.
    chart.draw_series(scenarios.iter().enumerate().map(|(group, name)| {
        Text::new(
            name.trim_start_matches("genhook-").to_owned(),
            (group as f64 + 0.5, -top * 0.035),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(centred(VPos::Center)),
        )
    }))?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

/// Text centred horizontally, anchored vertically at `v`.
fn centred(v: VPos) -> Pos {
    Pos::new(HPos::Center, v)
}

/// Whether `path` is a file that is not empty (the check that the chart was written).
pub(crate) fn written(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}
