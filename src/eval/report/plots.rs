//! The report's plots as SVG text (plotters' SVG backend), inlined into
//! `index.html` so the page needs no other file: ROC curves, similarity
//! against kinship with 95 % intervals, histograms, and the sweep's lines.

use crate::error::{Error, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;

const SIZE: (u32, u32) = (460, 340);
const FONT: &str = "sans-serif";

/// Colour of the i-th series (plotters' 99-colour palette, which keeps
/// neighbouring series apart).
fn colour(i: usize) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    RGBColor(c.0, c.1, c.2)
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("drawing a plot: {e}"))
}

/// Pads a value range so that a flat series still has a visible axis.
fn padded(lo: f64, hi: f64) -> Range<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.08).max(1e-3);
    (lo - pad)..(hi + pad)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// One plot as SVG text, set up as every plot of the report is (white
/// background, caption, axes with their descriptions over `x` × `y`);
/// `draw` puts the data in, and the series' labels go in a box at
/// `legend`.
fn svg_plot(
    title: &str,
    (x_desc, y_desc): (&str, &str),
    y_label_area: u32,
    (x, y): (Range<f64>, Range<f64>),
    legend: Option<SeriesLabelPosition>,
    draw: impl FnOnce(&mut Chart<'_, '_>) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(y_label_area)
            .build_cartesian_2d(x, y)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(plot_error)?;
        draw(&mut chart)?;
        if let Some(position) = legend {
            chart
                .configure_series_labels()
                .position(position)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .draw()
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// ROC curves, one per label, with the chance diagonal.
pub fn roc(title: &str, curves: &[(String, Vec<[f64; 2]>)]) -> Result<String> {
    let axes = ("false-positive rate", "true-positive rate");
    svg_plot(
        title,
        axes,
        45,
        (0.0..1.0, 0.0..1.0),
        Some(SeriesLabelPosition::LowerRight),
        |chart| {
            chart
                .draw_series(LineSeries::new(
                    [(0.0, 0.0), (1.0, 1.0)],
                    BLACK.mix(0.3).stroke_width(1),
                ))
                .map_err(plot_error)?;
            for (i, (label, points)) in curves.iter().enumerate() {
                let c = colour(i);
                chart
                    .draw_series(LineSeries::new(
                        points.iter().map(|p| (p[0], p[1])),
                        c.stroke_width(2),
                    ))
                    .map_err(plot_error)?
                    .label(label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                    });
            }
            Ok(())
        },
    )
}

/// One series of points with optional 95 % intervals.
pub struct Series {
    pub label: String,
    /// (x, y, interval).
    pub points: Vec<(f64, f64, Option<[f64; 2]>)>,
}

/// Lines through points with error bars (similarity against kinship, the sweep).
pub fn lines(title: &str, x_desc: &str, y_desc: &str, series: &[Series]) -> Result<String> {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| {
        s.points
            .iter()
            .flat_map(|p| [p.1].into_iter().chain(p.2.into_iter().flatten()))
    });
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    let ranges = (padded(x0, x1), padded(y0, y1));
    svg_plot(
        title,
        (x_desc, y_desc),
        50,
        ranges,
        Some(SeriesLabelPosition::UpperLeft),
        |chart| {
            for (i, s) in series.iter().enumerate() {
                let c = colour(i);
                let mut sorted = s.points.clone();
                sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
                chart
                    .draw_series(LineSeries::new(
                        sorted.iter().map(|p| (p.0, p.1)),
                        c.stroke_width(2),
                    ))
                    .map_err(plot_error)?
                    .label(s.label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                    });
                chart
                    .draw_series(
                        sorted
                            .iter()
                            .map(|p| Circle::new((p.0, p.1), 3, c.filled())),
                    )
                    .map_err(plot_error)?;
                chart
                    .draw_series(sorted.iter().filter_map(|p| {
                        p.2.map(|[lo, hi]| {
                            ErrorBar::new_vertical(p.0, lo, p.1, hi, c.stroke_width(1), 8)
                        })
                    }))
                    .map_err(plot_error)?;
            }
            Ok(())
        },
    )
}

/// A histogram of `values` in `bins` equal bins.
pub fn histogram(title: &str, x_desc: &str, values: &[f64], bins: usize) -> Result<String> {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let range = padded(lo, hi);
    let width = (range.end - range.start) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &v in values {
        let i = (((v - range.start) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let ranges = (range.clone(), 0.0..top * 1.1);
    svg_plot(title, (x_desc, "sibships"), 45, ranges, None, |chart| {
        let c = colour(0);
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &n)| {
                let x0 = range.start + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, n as f64)], c.mix(0.7).filled())
            }))
            .map_err(plot_error)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_self_contained_svg() {
        let svgs = [
            roc(
                "ROC",
                &[("fs".into(), vec![[0.0, 0.0], [0.2, 0.7], [1.0, 1.0]])],
            )
            .unwrap(),
            lines(
                "resemblance",
                "kinship",
                "similarity",
                &[Series {
                    label: "a <b>".into(),
                    points: vec![(0.25, 0.6, Some([0.5, 0.7])), (0.0, 0.1, None)],
                }],
            )
            .unwrap(),
            histogram("diversity", "distance", &[0.1, 0.2, 0.2, 0.5], 10).unwrap(),
            // Degenerate inputs still draw.
            histogram("one", "distance", &[0.3], 10).unwrap(),
        ];
        for svg in svgs {
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{svg}"
            );
            assert!(
                !svg.contains("href"),
                "an SVG that fetches something: {svg}"
            );
        }
    }
}
