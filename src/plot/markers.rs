//! Point markers drawn as line shapes centred on their data point in pixels. A
//! text glyph such as `*` sits where the font puts it in its box (about a sixth
//! of its height above the centre), not on the point.

use plotters::coord::types::RangedCoordf64;
use plotters::element::{EmptyElement, PathElement};
use plotters::prelude::*;

/// The spokes of a `+`: angles in degrees of lines through the centre.
pub const PLUS: &[f64] = &[0.0, 90.0];
/// The spokes of a `*` (six arms).
pub const ASTERISK: &[f64] = &[90.0, 30.0, 150.0];

/// A line through the centre at `angle_deg`, `radius` pixels each way.
fn spoke(angle_deg: f64, radius: i32) -> Vec<(i32, i32)> {
    let (s, c) = angle_deg.to_radians().sin_cos();
    let dx = (c * radius as f64).round() as i32;
    let dy = (s * radius as f64).round() as i32;
    vec![(-dx, -dy), (dx, dy)]
}

/// Draws the marker of `spokes` (see [`PLUS`], [`ASTERISK`]) centred on each of
/// `points`, `radius` pixels from centre to tip.
pub fn mark<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    points: &[(f64, f64)],
    spokes: &'static [f64],
    radius: i32,
    style: ShapeStyle,
) -> Result<(), String> {
    chart
        .draw_series(points.iter().flat_map(|&p| {
            spokes
                .iter()
                .map(move |&a| EmptyElement::at(p) + PathElement::new(spoke(a, radius), style))
        }))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A marker's red pixels are centred on the pixel of its data point. The
    /// argument for the tolerance: every spoke is symmetric about the centre up
    /// to the rounding of its end points (half a pixel) and a stroke of even
    /// width, which covers one more pixel on one side (half a pixel for the
    /// centroid), so the centroid is within one pixel; the glyph `*` of 34 px
    /// that this replaces sat about 6 px above its point.
    #[test]
    fn markers_are_centred_on_their_points() {
        const W: u32 = 300;
        const H: u32 = 240;
        for spokes in [PLUS, ASTERISK] {
            for point in [(0.71, -0.71), (-0.0898, 0.7126), (1.5, 1.9)] {
                let mut buf = vec![255u8; (W * H * 3) as usize];
                let centre = {
                    let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
                    let mut chart = ChartBuilder::on(&root)
                        .margin(10)
                        .build_cartesian_2d(-2.0..2.0, -2.0..2.0)
                        .unwrap();
                    mark(&mut chart, &[point], spokes, 9, RED.stroke_width(2)).unwrap();
                    let c = chart.backend_coord(&point);
                    root.present().unwrap();
                    c
                };
                let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
                for (i, px) in buf.chunks_exact(3).enumerate() {
                    if px[0] > 200 && px[1] < 80 && px[2] < 80 {
                        n += 1.0;
                        sx += (i as u32 % W) as f64;
                        sy += (i as u32 / W) as f64;
                    }
                }
                assert!(n > 10.0, "marker at {point:?} drew {n} red pixels");
                let (cx, cy) = (sx / n, sy / n);
                let (ex, ey) = (centre.0 as f64, centre.1 as f64);
                assert!(
                    (cx - ex).abs() <= 1.0 && (cy - ey).abs() <= 1.0,
                    "marker {spokes:?} at {point:?}: red pixels centred at ({cx:.2}, {cy:.2}), \
                     the point is pixel ({ex}, {ey}); tolerance 1 px"
                );
            }
        }
    }
}
