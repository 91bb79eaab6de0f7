//! Square and hexagonal grids in metres, and counts of points per cell.
//!
//! A grid covers a rectangle of a local metric projection ([`crate::projection::Utm`]).
//! Hexagons have the same area as squares of the given size, so counts per
//! cell are comparable between the two shapes. Cost: O(1) to locate a point,
//! O(points) to count.

use crate::AnalysisError;

/// The shape of the cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CellShape {
    /// Squares of side `cell_metres` (default).
    #[default]
    Square,
    /// Pointy-top regular hexagons with the area of a `cell_metres` square.
    Hexagon,
}

/// How to build a grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridParams {
    /// Side of a square cell in metres (hexagons: the side of the square of equal area). Default 250 m.
    pub cell_metres: f64,
    /// Cell shape. Default square.
    pub shape: CellShape,
    /// Refuse grids with more cells than this. Default 4,000,000.
    pub max_cells: u64,
}

impl Default for GridParams {
    fn default() -> Self {
        Self { cell_metres: 250.0, shape: CellShape::Square, max_cells: 4_000_000 }
    }
}

/// A grid of `cols × rows` cells; cell `i` is at column `i % cols`, row `i / cols` (row 0 south).
///
/// ```
/// use qalqan_analysis::grid::{Grid, GridParams};
/// let g = Grid::covering([0.0, 0.0, 999.0, 499.0], &GridParams::default()).unwrap();
/// assert_eq!((g.cols(), g.rows()), (4, 2));
/// assert_eq!(g.cell_of(260.0, 10.0), Some(1));
/// assert_eq!(g.centre(1), (375.0, 125.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    shape: CellShape,
    /// Square side, or hexagon circumradius.
    size: f64,
    x0: f64,
    y0: f64,
    cols: usize,
    rows: usize,
}

impl Grid {
    /// The smallest grid covering `[min_x, min_y, max_x, max_y]` (metres).
    pub fn covering(bbox: [f64; 4], params: &GridParams) -> Result<Self, AnalysisError> {
        let s = params.cell_metres;
        if !s.is_finite() || s < 1.0 {
            return Err(AnalysisError::InvalidCellSize { metres: s });
        }
        if bbox.iter().any(|v| !v.is_finite()) {
            return Err(AnalysisError::NotFinite { what: "grid extent" });
        }
        let [min_x, min_y, max_x, max_y] = bbox;
        let (w, h) = ((max_x - min_x).max(0.0), (max_y - min_y).max(0.0));
        let (size, cols, rows, x0, y0) = match params.shape {
            CellShape::Square => {
                let cols = (w / s).floor() as u64 + 1;
                let rows = (h / s).floor() as u64 + 1;
                (s, cols, rows, min_x, min_y)
            }
            CellShape::Hexagon => {
                let r = s * (2.0 / (3.0 * 3f64.sqrt())).sqrt();
                let (dx, dy) = (3f64.sqrt() * r, 1.5 * r);
                // Origin half a cell outside the box, so every point has a centre within reach.
                let cols = (w / dx).ceil() as u64 + 2;
                let rows = (h / dy).ceil() as u64 + 2;
                (r, cols, rows, min_x - dx / 2.0, min_y - dy / 2.0)
            }
        };
        let cells = cols.saturating_mul(rows);
        if cells > params.max_cells {
            return Err(AnalysisError::GridTooLarge { cells, max: params.max_cells });
        }
        Ok(Self { shape: params.shape, size, x0, y0, cols: cols as usize, rows: rows as usize })
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cols * self.rows
    }

    /// True for a grid without cells (never produced by [`Grid::covering`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn shape(&self) -> CellShape {
        self.shape
    }

    /// Area of one cell in square metres.
    pub fn cell_area(&self) -> f64 {
        match self.shape {
            CellShape::Square => self.size * self.size,
            CellShape::Hexagon => 1.5 * 3f64.sqrt() * self.size * self.size,
        }
    }

    fn hex_steps(&self) -> (f64, f64) {
        (3f64.sqrt() * self.size, 1.5 * self.size)
    }

    /// The cell containing (x, y), if it is on the grid.
    pub fn cell_of(&self, x: f64, y: f64) -> Option<usize> {
        let (col, row) = match self.shape {
            CellShape::Square => (((x - self.x0) / self.size).floor(), ((y - self.y0) / self.size).floor()),
            CellShape::Hexagon => {
                // Axial coordinates of a pointy-top layout whose (0, 0) centre is the origin, then cube rounding.
                let (px, py) = (x - self.x0, y - self.y0);
                let q = (3f64.sqrt() / 3.0 * px - py / 3.0) / self.size;
                let r = (2.0 / 3.0 * py) / self.size;
                let (q, r) = cube_round(q, r);
                // Odd-r offset: odd rows are shifted right by half a cell.
                let col = q + (r - (r & 1)) / 2;
                (col as f64, r as f64)
            }
        };
        if col < 0.0 || row < 0.0 || col >= self.cols as f64 || row >= self.rows as f64 || col.is_nan() || row.is_nan() {
            return None;
        }
        Some(row as usize * self.cols + col as usize)
    }

    /// Centre of cell `i` in metres.
    pub fn centre(&self, i: usize) -> (f64, f64) {
        let (col, row) = ((i % self.cols) as f64, (i / self.cols) as f64);
        match self.shape {
            CellShape::Square => (self.x0 + (col + 0.5) * self.size, self.y0 + (row + 0.5) * self.size),
            CellShape::Hexagon => {
                let (dx, dy) = self.hex_steps();
                let shift = if (i / self.cols) % 2 == 1 { dx / 2.0 } else { 0.0 };
                (self.x0 + col * dx + shift, self.y0 + row * dy)
            }
        }
    }

    /// The outline of cell `i` (closed ring, counter-clockwise, metres).
    pub fn outline(&self, i: usize) -> Vec<(f64, f64)> {
        let (cx, cy) = self.centre(i);
        match self.shape {
            CellShape::Square => {
                let h = self.size / 2.0;
                vec![(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h), (cx - h, cy - h)]
            }
            CellShape::Hexagon => {
                let mut ring: Vec<(f64, f64)> = (0..6)
                    .map(|k| {
                        let a = (60.0 * k as f64 - 30.0).to_radians();
                        (cx + self.size * a.cos(), cy + self.size * a.sin())
                    })
                    .collect();
                ring.push(ring[0]);
                ring
            }
        }
    }

    /// The cells sharing an edge (rook) or an edge or corner (queen) with
    /// cell `i`; hexagons have six neighbours either way.
    pub fn neighbours(&self, i: usize, contiguity: Contiguity) -> Vec<usize> {
        let (col, row) = ((i % self.cols) as i64, (i / self.cols) as i64);
        let offsets: &[(i64, i64)] = match (self.shape, contiguity) {
            (CellShape::Square, Contiguity::Rook) => &[(0, -1), (-1, 0), (1, 0), (0, 1)],
            (CellShape::Square, Contiguity::Queen) => &[(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)],
            (CellShape::Hexagon, _) if row % 2 == 0 => &[(-1, -1), (0, -1), (-1, 0), (1, 0), (-1, 1), (0, 1)],
            (CellShape::Hexagon, _) => &[(0, -1), (1, -1), (-1, 0), (1, 0), (0, 1), (1, 1)],
        };
        let mut out: Vec<usize> = offsets
            .iter()
            .map(|(dc, dr)| (col + dc, row + dr))
            .filter(|&(c, r)| c >= 0 && r >= 0 && c < self.cols as i64 && r < self.rows as i64)
            .map(|(c, r)| r as usize * self.cols + c as usize)
            .collect();
        out.sort_unstable();
        out
    }

    /// Points per cell; points off the grid are not counted.
    pub fn count(&self, points: &[(f64, f64)]) -> Vec<u32> {
        let mut counts = vec![0u32; self.len()];
        for &(x, y) in points {
            if let Some(i) = self.cell_of(x, y) {
                counts[i] += 1;
            }
        }
        counts
    }
}

/// Which cells of a square grid count as neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Contiguity {
    /// Edge or corner (8 neighbours), as PySAL's `lat2W(rook=False)`. Default.
    #[default]
    Queen,
    /// Edge only (4 neighbours).
    Rook,
}

fn cube_round(q: f64, r: f64) -> (i64, i64) {
    let s = -q - r;
    let (mut rq, mut rr, rs) = (q.round(), r.round(), s.round());
    let (dq, dr, ds) = ((rq - q).abs(), (rr - r).abs(), (rs - s).abs());
    if dq > dr && dq > ds {
        rq = -rr - rs;
    } else if dr > ds {
        rr = -rq - rs;
    }
    (rq as i64, rr as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(cell: f64) -> Grid {
        Grid::covering([0.0, 0.0, 2000.0, 1500.0], &GridParams { cell_metres: cell, shape: CellShape::Hexagon, ..Default::default() })
            .unwrap()
    }

    #[test]
    fn refuses_nonsense_sizes_and_huge_grids() {
        let p = |s: f64| GridParams { cell_metres: s, ..Default::default() };
        assert!(Grid::covering([0.0, 0.0, 10.0, 10.0], &p(0.0)).is_err());
        assert!(Grid::covering([0.0, 0.0, 10.0, 10.0], &p(f64::NAN)).is_err());
        assert!(matches!(Grid::covering([0.0, 0.0, 1e7, 1e7], &p(1.0)), Err(AnalysisError::GridTooLarge { .. })));
    }

    #[test]
    fn hexagons_have_the_area_of_the_square_and_contain_their_points() {
        let g = hex(250.0);
        assert!((g.cell_area() - 62_500.0).abs() < 1e-6);
        // Every point lies in the cell whose centre is nearest (the defining property of a hex tiling).
        let mut rng = crate::rng::Rng::seed(1);
        for _ in 0..5_000 {
            let (x, y) = (rng.unit() * 2000.0, rng.unit() * 1500.0);
            let i = g.cell_of(x, y).expect("inside the covering grid");
            let d = |j: usize| {
                let (cx, cy) = g.centre(j);
                (cx - x).hypot(cy - y)
            };
            let nearest = (0..g.len()).min_by(|&a, &b| d(a).total_cmp(&d(b))).unwrap();
            assert!((d(i) - d(nearest)).abs() < 1e-9, "point ({x}, {y}) in {i}, nearest {nearest}");
        }
    }

    #[test]
    fn hex_neighbours_are_the_six_adjacent_centres() {
        let g = hex(200.0);
        let i = 5 * g.cols() + 5;
        let n = g.neighbours(i, Contiguity::Queen);
        assert_eq!(n.len(), 6);
        let (cx, cy) = g.centre(i);
        let spacing = 3f64.sqrt() * g.size;
        for j in n {
            let (x, y) = g.centre(j);
            assert!(((x - cx).hypot(y - cy) - spacing).abs() < 1e-6);
        }
    }

    #[test]
    fn square_neighbours_follow_queen_and_rook() {
        let g = Grid::covering([0.0, 0.0, 999.0, 999.0], &GridParams::default()).unwrap();
        assert_eq!(g.neighbours(0, Contiguity::Queen), vec![1, 4, 5]);
        assert_eq!(g.neighbours(5, Contiguity::Queen).len(), 8);
        assert_eq!(g.neighbours(5, Contiguity::Rook), vec![1, 4, 6, 9]);
    }

    #[test]
    fn counts_every_point_once() {
        let g = Grid::covering([0.0, 0.0, 1000.0, 1000.0], &GridParams::default()).unwrap();
        let counts = g.count(&[(10.0, 10.0), (10.0, 20.0), (999.0, 999.0), (5000.0, 0.0)]);
        assert_eq!(counts.iter().sum::<u32>(), 3);
        assert_eq!(counts[0], 2);
    }
}
