//! Maps and charts as SVG, drawn from Qalqan's own layers (no tiles, no raster): polygons and
//! points in WGS84 projected equirectangularly at the drawing's mean latitude (fine at city
//! scale), an hour × weekday heat map, bar charts.

use std::fmt::Write as _;

/// Polygons (each a list of rings of `[lon, lat]`) drawn alike.
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonLayer {
    pub polygons: Vec<Vec<Vec<[f64; 2]>>>,
    /// One fill per polygon, or one for all (`fills.len() == 1`); "none" for outlines.
    pub fills: Vec<String>,
    pub stroke: String,
    pub stroke_width: f64,
}

/// A map: layers bottom to top, then a legend.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    pub layers: Vec<PolygonLayer>,
    /// Points `[lon, lat]` with a radius in pixels and a fill, drawn on top.
    pub points: Vec<([f64; 2], f64, String)>,
    pub legend: Vec<(String, String)>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn header(w: f64, h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {h:.0}\" width=\"{w:.0}\" height=\"{h:.0}\" font-family=\"DejaVu Sans\" font-size=\"11\">"
    )
}

/// Draws `map` into a `w × h` drawing (the legend below the map, inside the height).
///
/// ```
/// use qalqan_report::svg::{Map, PolygonLayer, map};
/// let square = vec![vec![[71.4, 51.1], [71.5, 51.1], [71.5, 51.2], [71.4, 51.2], [71.4, 51.1]]];
/// let m = Map { layers: vec![PolygonLayer { polygons: vec![square], fills: vec!["#d73027".into()], stroke: "#333".into(), stroke_width: 1.0 }], points: vec![], legend: vec![("#d73027".into(), "hot spot".into())] };
/// let svg = map(&m, 400.0, 300.0);
/// assert!(svg.starts_with("<svg") && svg.contains("<path") && svg.contains("hot spot"));
/// ```
pub fn map(m: &Map, w: f64, h: f64) -> String {
    let legend_h = if m.legend.is_empty() { 0.0 } else { 18.0 * m.legend.len().div_ceil(3) as f64 + 8.0 };
    let (mw, mh) = (w, h - legend_h);
    let coords = m.layers.iter().flat_map(|l| l.polygons.iter().flatten().flatten()).chain(m.points.iter().map(|p| &p.0));
    let (mut x0, mut y0, mut x1, mut y1) = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY);
    for c in coords {
        (x0, y0, x1, y1) = (x0.min(c[0]), y0.min(c[1]), x1.max(c[0]), y1.max(c[1]));
    }
    let mut out = header(w, h);
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#f7f9fb\"/>");
    if x0.is_finite() {
        let k = ((y0 + y1) / 2.0).to_radians().cos().max(0.05);
        let (dx, dy) = (((x1 - x0) * k).max(1e-9), (y1 - y0).max(1e-9));
        let pad = 8.0;
        let s = ((mw - 2.0 * pad) / dx).min((mh - 2.0 * pad) / dy);
        let (ox, oy) = ((mw - dx * s) / 2.0, (mh - dy * s) / 2.0);
        let px = |c: &[f64; 2]| (ox + (c[0] - x0) * k * s, mh - oy - (c[1] - y0) * s);
        for l in &m.layers {
            for (i, poly) in l.polygons.iter().enumerate() {
                let mut d = String::new();
                for ring in poly {
                    for (j, c) in ring.iter().enumerate() {
                        let (x, y) = px(c);
                        let _ = write!(d, "{}{x:.1},{y:.1}", if j == 0 { "M" } else { "L" });
                    }
                    d.push('Z');
                }
                let fill = l.fills.get(i).or_else(|| l.fills.first()).map_or("none", String::as_str);
                let _ = write!(
                    out,
                    "<path d=\"{d}\" fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\" fill-rule=\"evenodd\"/>",
                    esc(fill),
                    esc(&l.stroke),
                    l.stroke_width
                );
            }
        }
        for (c, r, fill) in &m.points {
            let (x, y) = px(c);
            let _ =
                write!(out, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"0.8\"/>", esc(fill));
        }
        // A 1 km scale bar.
        let km = s / 111.32;
        if km.is_finite() && km > 10.0 && km < mw / 2.0 {
            let (bx, by) = (pad + 2.0, mh - pad - 2.0);
            let _ = write!(
                out,
                "<rect x=\"{bx:.1}\" y=\"{:.1}\" width=\"{km:.1}\" height=\"3\" fill=\"#333\"/><text x=\"{bx:.1}\" y=\"{:.1}\" font-size=\"9\">1 km</text>",
                by - 3.0,
                by - 6.0
            );
        }
    }
    for (i, (color, label)) in m.legend.iter().enumerate() {
        let (col, row) = (i % 3, i / 3);
        let (x, y) = (8.0 + col as f64 * (w - 16.0) / 3.0, mh + 6.0 + row as f64 * 18.0);
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"12\" height=\"12\" fill=\"{}\" stroke=\"#555\" stroke-width=\"0.5\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            esc(color),
            x + 16.0,
            y + 10.0,
            esc(label)
        );
    }
    out.push_str("</svg>");
    out
}

/// A heat map of `values[row][col]` (e.g. weekdays × hours), darker for more.
///
/// ```
/// let svg = qalqan_report::svg::heatmap(&["Mon".into()], &["0".into(), "1".into()], &[vec![1.0, 3.0]], 300.0, 60.0);
/// assert_eq!(svg.matches("<rect").count(), 3); // background + 2 cells
/// ```
pub fn heatmap(rows: &[String], cols: &[String], values: &[Vec<f64>], w: f64, h: f64) -> String {
    let (left, top, bottom) = (44.0, 6.0, 18.0);
    let cw = (w - left - 4.0) / cols.len().max(1) as f64;
    let ch = (h - top - bottom) / rows.len().max(1) as f64;
    let max = values.iter().flatten().copied().fold(0.0, f64::max).max(1e-12);
    let mut out = header(w, h);
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>");
    for (r, label) in rows.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"9\">{}</text>",
            left - 4.0,
            top + (r as f64 + 0.7) * ch,
            esc(label)
        );
        for (c, v) in values.get(r).into_iter().flatten().enumerate() {
            let t = (v / max).clamp(0.0, 1.0);
            // White → dark red.
            let (red, green, blue) = (255.0 - 75.0 * t, 255.0 - 215.0 * t, 255.0 - 215.0 * t);
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"rgb({red:.0},{green:.0},{blue:.0})\"/>",
                left + c as f64 * cw,
                top + r as f64 * ch,
                cw - 0.5,
                ch - 0.5
            );
        }
    }
    for (c, label) in cols.iter().enumerate() {
        if c % 3 == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
                left + (c as f64 + 0.5) * cw,
                h - 5.0,
                esc(label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars with their values.
///
/// ```
/// let svg = qalqan_report::svg::bar_chart(&[("Akimat".into(), 3.0), ("Police".into(), 1.0)], 300.0, 80.0);
/// assert!(svg.contains("Akimat") && svg.contains(">3<"));
/// ```
pub fn bar_chart(items: &[(String, f64)], w: f64, h: f64) -> String {
    let left = (w * 0.42).min(220.0);
    let bh = (h - 8.0) / items.len().max(1) as f64;
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1e-12);
    let mut out = header(w, h);
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>");
    for (i, (label, v)) in items.iter().enumerate() {
        let y = 4.0 + i as f64 * bh;
        let len = (w - left - 40.0) * (v / max);
        let short: String = label.chars().take(34).collect();
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{}</text><rect x=\"{left:.1}\" y=\"{:.1}\" width=\"{len:.1}\" height=\"{:.1}\" fill=\"#3b6ea5\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
            left - 5.0,
            y + bh * 0.65,
            esc(&short),
            y + bh * 0.15,
            bh * 0.7,
            left + len + 4.0,
            y + bh * 0.65,
            fmt_num(*v)
        );
    }
    out.push_str("</svg>");
    out
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 { format!("{}", v.round() as i64) } else { format!("{v:.1}") }
}
