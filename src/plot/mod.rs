//! PNG plots with plotters: the distance of the best and worst agents against the
//! step (the paper's Figure 2), and for 2-D problems the agents' paths over the
//! contours of Phi (Figure 1). Text uses the DejaVu Sans font shipped in
//! `assets/fonts`, so no system font library is needed.

use crate::diagnostics::Stat;
use crate::error::{Error, Result};
use crate::experiment::ExperimentResult;
use crate::output::OutputFolder;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

mod markers;

/// Methods shown in `paths.png` at most.
pub const MAX_PANELS: usize = 30;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TrueType file shipped with the crate.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// One colour per method, distinguishable and in a fixed order.
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

fn plot_err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |message| Error::Output {
        path: path.to_path_buf(),
        message,
    }
}

/// Writes `distance.png`, and `paths.png` for 2-D problems, into `folder`.
pub fn write_plots(folder: &mut OutputFolder, r: &ExperimentResult) -> Result<()> {
    register_font();
    let final_path = folder.path("distance.png");
    folder.render("distance.png", |p| {
        distance_plot(p, r).map_err(plot_err(&final_path))
    })?;
    if r.dim() == 2 {
        let final_path = folder.path("paths.png");
        folder.render("paths.png", |p| {
            paths_plot(p, r).map_err(plot_err(&final_path))
        })?;
    }
    Ok(())
}

/// Median over runs of `best` (solid) and `worst` (dotted) against the step, log scale.
fn distance_plot(path: &Path, r: &ExperimentResult) -> std::result::Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    type Curve = Vec<(f64, f64)>;
    let series: Vec<(String, Curve, Curve)> = r
        .methods
        .iter()
        .map(|m| {
            let h = &m.history;
            let pick = |stat: Stat| -> Vec<(f64, f64)> {
                (0..h.len())
                    .filter_map(|i| Some((h.steps()[i] as f64, h.over_runs(i, stat)?.median)))
                    .filter(|(_, v)| v.is_finite() && *v > 0.0)
                    .collect()
            };
            (m.name.clone(), pick(Stat::Best), pick(Stat::Worst))
        })
        .collect();
    let all = series.iter().flat_map(|(_, b, w)| b.iter().chain(w));
    let (mut lo, mut hi, mut xmax) = (f64::INFINITY, 0.0f64, 1.0f64);
    for &(x, y) in all {
        lo = lo.min(y);
        hi = hi.max(y);
        xmax = xmax.max(x);
    }
    if !lo.is_finite() {
        (lo, hi) = (1e-3, 1.0);
    }
    let (lo, hi) = (lo / 1.5, hi * 1.5);

    let root = BitMapBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let title = format!(
        "{} (d = {}): distance to x*, median over {} runs",
        r.potential_name(),
        r.dim(),
        r.ensemble.runs
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..xmax, (lo..hi).log_scale())
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("step n")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("||X - x*||  (solid: best agent, dotted: worst)")
        .label_style((FAMILY, 15))
        .draw()
        .map_err(|x| e(&x))?;
    for (i, (name, best, worst)) in series.into_iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(best, color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        chart
            .draw_series(DashedLineSeries::new(worst, 3, 5, color.stroke_width(2)))
            .map_err(|x| e(&x))?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(|x| e(&x))
}

/// A light colour for contour band `t` in [0, 1] (dark blue at low Phi to yellow).
fn band_color(t: f64) -> RGBColor {
    let stops = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let x = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f) * 0.55 + 255.0 * 0.45;
    RGBColor(
        mix(a.0, b.0) as u8,
        mix(a.1, b.1) as u8,
        mix(a.2, b.2) as u8,
    )
}

/// Paths of the agents of run 0 on banded contours of Phi, one panel per method;
/// `+` marks where they start and `*` the reference points.
fn paths_plot(path: &Path, r: &ExperimentResult) -> std::result::Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let potential = &*r.potential;
    let (lo, hi) = r.ensemble.init.extent(r.dim());
    // The initial box with a margin, grown to show the reference points.
    let pad = 0.1 * (hi - lo).max(1e-6);
    let (mut x0, mut x1, mut y0, mut y1) = (lo - pad, hi + pad, lo - pad, hi + pad);
    for p in potential.reference_points() {
        x0 = x0.min(p[0] - pad);
        x1 = x1.max(p[0] + pad);
        y0 = y0.min(p[1] - pad);
        y1 = y1.max(p[1] + pad);
    }
    // Contour bands of log(1 + Phi - min Phi) on a grid.
    const GRID: usize = 150;
    let cell = ((x1 - x0) / GRID as f64, (y1 - y0) / GRID as f64);
    let mut values = vec![0.0f64; GRID * GRID];
    for j in 0..GRID {
        for i in 0..GRID {
            let p = [
                x0 + (i as f64 + 0.5) * cell.0,
                y0 + (j as f64 + 0.5) * cell.1,
            ];
            values[j * GRID + i] = potential.value(&p);
        }
    }
    let vmin = values.iter().copied().fold(f64::INFINITY, f64::min);
    let vt: Vec<f64> = values.iter().map(|v| (1.0 + (v - vmin)).ln()).collect();
    let vmax = vt.iter().copied().fold(0.0f64, f64::max).max(1e-12);
    const BANDS: f64 = 14.0;

    // A panel of 460 x 460 pixels per method, the first MAX_PANELS of them: the
    // image (3 bytes a pixel) stays under 20 MB however many methods there are.
    let shown = &r.methods[..r.methods.len().min(MAX_PANELS)];
    let n = shown.len();
    let cols = n.clamp(1, 3);
    let rows = n.div_ceil(cols);
    let root = BitMapBackend::new(path, (cols as u32 * 460, rows as u32 * 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let panels = root.split_evenly((rows, cols));
    for (m, area) in shown.iter().zip(panels.iter()) {
        let mut chart = ChartBuilder::on(area)
            .caption(&m.name, (FAMILY, 18))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(36)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|x| e(&x))?;
        chart
            .draw_series((0..GRID * GRID).map(|c| {
                let (i, j) = (c % GRID, c / GRID);
                let band = (vt[c] / vmax * BANDS).floor() / BANDS;
                let a = (x0 + i as f64 * cell.0, y0 + j as f64 * cell.1);
                let b = (a.0 + cell.0, a.1 + cell.1);
                Rectangle::new([a, b], band_color(band).filled())
            }))
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .label_style((FAMILY, 12))
            .draw()
            .map_err(|x| e(&x))?;
        let clamp = |x: f32, y: f32| ((x as f64).clamp(x0, x1), (y as f64).clamp(y0, y1));
        if let Some(t) = &m.trajectories {
            let (records, _, agents, _) = t.dim();
            for a in 0..agents {
                let pts: Vec<(f64, f64)> = (0..records)
                    .map(|s| clamp(t[[s, 0, a, 0]], t[[s, 0, a, 1]]))
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .collect();
                let color = PALETTE[a % PALETTE.len()];
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        pts.clone(),
                        color.mix(0.8).stroke_width(1),
                    )))
                    .map_err(|x| e(&x))?;
                if let Some(&start) = pts.first() {
                    // A "+" where the agent starts, as in the paper.
                    markers::mark(
                        &mut chart,
                        &[start],
                        markers::PLUS,
                        5,
                        BLACK.stroke_width(2),
                    )?;
                }
            }
        }
        star_marks(&mut chart, &potential.reference_points()).map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))
}

/// A red `*` centred on each point (the paper marks minima so).
fn star_marks<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    points: &[Vec<f64>],
) -> std::result::Result<(), String> {
    let points: Vec<(f64, f64)> = points.iter().map(|p| (p[0], p[1])).collect();
    markers::mark(chart, &points, markers::ASTERISK, 9, RED.stroke_width(3))
}

/// The series' legend, boxed, at `position`.
fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FAMILY, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(position)
        .draw()
        .map_err(|x| x.to_string())
}

/// Writes `path` with `e`'s message as the error.
fn draw(path: &Path, f: impl FnOnce() -> std::result::Result<(), String>) -> Result<()> {
    register_font();
    f().map_err(plot_err(path))
}

/// Phi and its effective potentials `Phi_{beta,gamma}` (one curve per gamma) on
/// the grid `xs`: the theory tools' 1-D picture.
pub fn effective_1d(
    path: &Path,
    title: &str,
    xs: &[f64],
    phi: &[f64],
    curves: &[(String, Vec<f64>)],
) -> Result<()> {
    draw(path, || {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let all = phi.iter().chain(curves.iter().flat_map(|(_, c)| c.iter()));
        let (lo, hi) = all
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let pad = 0.05 * (hi - lo).max(1e-9);
        let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(xs[0]..xs[xs.len() - 1], (lo - pad)..(hi + pad))
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("x")
            .y_desc("Phi (grey) and Phi_{beta,gamma}")
            .label_style((FAMILY, 15))
            .draw()
            .map_err(|x| e(&x))?;
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(LineSeries::new(
                xs.iter().copied().zip(phi.iter().copied()),
                grey.stroke_width(1),
            ))
            .map_err(|x| e(&x))?
            .label("Phi")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], grey));
        for (i, (name, c)) in curves.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    xs.iter().copied().zip(c.iter().copied()),
                    color.stroke_width(2),
                ))
                .map_err(|x| e(&x))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperMiddle)?;
        root.present().map_err(|x| e(&x))
    })
}

/// A 2-D function on an `n x n` grid over `bounds` (x0, x1, y0, y1), row by row
/// from y0, for [`contours_2d`].
pub struct Field {
    /// The panel's caption.
    pub title: String,
    /// One value per grid cell, x varying fastest (index `j nx + i`); [`probability_maps`]
    /// takes probabilities in `[0, 1]` on its `nx x ny` grid.
    pub values: Vec<f64>,
}

/// Banded contours of each field side by side (log(1 + v - min v), as the paths
/// plot), with `*` at `marks`.
pub fn contours_2d(
    path: &Path,
    bounds: (f64, f64, f64, f64),
    n: usize,
    fields: &[Field],
    marks: &[Vec<f64>],
) -> Result<()> {
    draw(path, || {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let (x0, x1, y0, y1) = bounds;
        let cell = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
        const BANDS: f64 = 14.0;
        let root = BitMapBackend::new(path, (fields.len() as u32 * 520, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        for (f, area) in fields
            .iter()
            .zip(root.split_evenly((1, fields.len())).iter())
        {
            let vmin = f.values.iter().copied().fold(f64::INFINITY, f64::min);
            let vt: Vec<f64> = f.values.iter().map(|v| (1.0 + (v - vmin)).ln()).collect();
            let vmax = vt.iter().copied().fold(0.0f64, f64::max).max(1e-12);
            let mut chart = ChartBuilder::on(area)
                .caption(&f.title, (FAMILY, 18))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(36)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|x| e(&x))?;
            chart
                .draw_series((0..n * n).map(|c| {
                    let (i, j) = (c % n, c / n);
                    let band = (vt[c] / vmax * BANDS).floor() / BANDS;
                    let a = (x0 + i as f64 * cell.0, y0 + j as f64 * cell.1);
                    Rectangle::new([a, (a.0 + cell.0, a.1 + cell.1)], band_color(band).filled())
                }))
                .map_err(|x| e(&x))?;
            chart
                .configure_mesh()
                .disable_mesh()
                .label_style((FAMILY, 12))
                .draw()
                .map_err(|x| e(&x))?;
            star_marks(&mut chart, marks).map_err(|x| e(&x))?;
        }
        root.present().map_err(|x| e(&x))
    })
}

/// The bifurcation diagram: stationary means `m` against `lambda` (filled: stable,
/// open: unstable), the critical lambda as a vertical line, and simulated
/// long-time ensemble means as crosses.
pub fn bifurcation(
    path: &Path,
    title: &str,
    states: &[(f64, Vec<crate::theory::mean_field::State>)],
    critical: f64,
    simulated: &[(f64, f64)],
) -> Result<()> {
    draw(path, || {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let lmax = states.iter().map(|s| s.0).fold(critical, f64::max) * 1.02;
        let mmax = states
            .iter()
            .flat_map(|s| s.1.iter().map(|st| st.m.abs()))
            .chain(simulated.iter().map(|s| s.1.abs()))
            .fold(0.1f64, f64::max)
            * 1.15;
        let root = BitMapBackend::new(path, (1000, 620)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..lmax, -mmax..mmax)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("lambda")
            .y_desc("stationary mean m")
            .label_style((FAMILY, 15))
            .draw()
            .map_err(|x| e(&x))?;
        let blue = PALETTE[0];
        chart
            .draw_series(states.iter().flat_map(|(l, s)| {
                s.iter()
                    .filter(|st| st.stable)
                    .map(move |st| Circle::new((*l, st.m), 3, blue.filled()))
            }))
            .map_err(|x| e(&x))?
            .label("stable stationary state")
            .legend(move |(x, y)| Circle::new((x + 12, y), 3, blue.filled()));
        chart
            .draw_series(states.iter().flat_map(|(l, s)| {
                s.iter()
                    .filter(|st| !st.stable)
                    .map(move |st| Circle::new((*l, st.m), 3, blue.stroke_width(1)))
            }))
            .map_err(|x| e(&x))?
            .label("unstable")
            .legend(move |(x, y)| Circle::new((x + 12, y), 3, blue.stroke_width(1)));
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(critical, -mmax), (critical, mmax)],
                grey.stroke_width(1),
            )))
            .map_err(|x| e(&x))?
            .label(format!("critical lambda = {critical:.4}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], grey));
        let red = PALETTE[1];
        chart
            .draw_series(
                simulated
                    .iter()
                    .map(|&(l, m)| Cross::new((l, m), 6, red.stroke_width(2))),
            )
            .map_err(|x| e(&x))?
            .label("MF-SGLD ensemble, long-time mean")
            .legend(move |(x, y)| Cross::new((x + 12, y), 6, red.stroke_width(2)));
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(|x| e(&x))
    })
}

/// A blue (0) - white (0.5) - red (1) colour for a probability.
fn prob_color(p: f64) -> RGBColor {
    let p = p.clamp(0.0, 1.0);
    let (lo, hi) = (RGBColor(49, 104, 176), RGBColor(196, 50, 47));
    let mix = |a: u8, t: f64| (a as f64 * t + 255.0 * (1.0 - t)) as u8;
    if p < 0.5 {
        let t = 1.0 - 2.0 * p;
        RGBColor(mix(lo.0, t), mix(lo.1, t), mix(lo.2, t))
    } else {
        let t = 2.0 * p - 1.0;
        RGBColor(mix(hi.0, t), mix(hi.1, t), mix(hi.2, t))
    }
}

/// The paper's Figure 3b-d: one panel per field of class-1 probabilities on an
/// `nx x ny` grid over `bounds`, the training box [-1, 1] x [-2, 2] drawn, and
/// the training points (class 0 as dots, class 1 as crosses).
pub fn probability_maps(
    path: &Path,
    bounds: (f64, f64, f64, f64),
    (nx, ny): (usize, usize),
    fields: &[Field],
    train: &crate::nn::data::Dataset,
) -> Result<()> {
    draw(path, || {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let (x0, x1, y0, y1) = bounds;
        let cell = ((x1 - x0) / nx as f64, (y1 - y0) / ny as f64);
        let root =
            BitMapBackend::new(path, (fields.len().max(1) as u32 * 400, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        for (f, area) in fields
            .iter()
            .zip(root.split_evenly((1, fields.len().max(1))).iter())
        {
            let mut chart = ChartBuilder::on(area)
                .caption(&f.title, (FAMILY, 16))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(32)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|x| e(&x))?;
            chart
                .draw_series((0..nx * ny).map(|c| {
                    let (i, j) = (c % nx, c / nx);
                    let a = (x0 + i as f64 * cell.0, y0 + j as f64 * cell.1);
                    Rectangle::new(
                        [a, (a.0 + cell.0, a.1 + cell.1)],
                        prob_color(f.values[c]).filled(),
                    )
                }))
                .map_err(|x| e(&x))?;
            chart
                .configure_mesh()
                .disable_mesh()
                .label_style((FAMILY, 12))
                .draw()
                .map_err(|x| e(&x))?;
            chart
                .draw_series(train.x.iter().zip(&train.y).map(|(p, &y)| {
                    let style = if y == 0 {
                        RGBColor(20, 40, 120).filled()
                    } else {
                        RGBColor(120, 20, 20).stroke_width(1)
                    };
                    Circle::new((p[0], p[1]), 1, style)
                }))
                .map_err(|x| e(&x))?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![
                        (-1.0, -2.0),
                        (1.0, -2.0),
                        (1.0, 2.0),
                        (-1.0, 2.0),
                        (-1.0, -2.0),
                    ],
                    BLACK.stroke_width(2),
                )))
                .map_err(|x| e(&x))?;
        }
        root.present().map_err(|x| e(&x))
    })
}
