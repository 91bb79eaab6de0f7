//! Repeat places and the concentration of crime at few places.
//!
//! Incidents are grouped by location (coordinates equal to about 0.1 m, as
//! police exports snap addresses to points or intersections) and ranked.
//! Concentration is reported as the share of incidents at the top 1, 5 and
//! 10 % of places (Weisburd, "The law of crime concentration and the
//! criminology of place", Criminology 53, 2015), the Lorenz curve and the Gini
//! coefficient. Places are those with at least one incident: places without
//! any are unknown to a list of incidents, so the figures understate
//! concentration over all addresses. Cost: O(n log n).

use std::collections::HashMap;

use qalqan_domain::Wgs84Point;

/// A location and its number of incidents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    pub location: Wgs84Point,
    pub incidents: u64,
}

/// Concentration of incidents over places.
#[derive(Debug, Clone, PartialEq)]
pub struct Concentration {
    /// Places, most incidents first (ties by latitude, then longitude).
    pub ranked: Vec<Place>,
    pub incidents: u64,
    /// `(p, share)`: the share of incidents at the top `p` of places, for p = 1 %, 5 %, 10 %.
    pub top_shares: Vec<(f64, f64)>,
    /// Lorenz curve: `(share of places, share of incidents)`, places in ascending order of count, 101 points.
    pub lorenz: Vec<(f64, f64)>,
    /// Gini coefficient of incidents over places (0 = all equal; → 1 = all at one place).
    pub gini: f64,
}

/// Share of `total` held by the `p` (0–1) busiest of `desc`-sorted counts
/// (at least one place when there are any).
fn top_share(desc: &[u64], total: u64, p: f64) -> f64 {
    if desc.is_empty() || total == 0 {
        return 0.0;
    }
    let k = ((p * desc.len() as f64).ceil() as usize).clamp(1, desc.len());
    desc[..k].iter().sum::<u64>() as f64 / total as f64
}

/// Gini coefficient of non-negative counts: Σ (2i − n − 1) x_(i) / (n Σ x), i = 1..n ascending.
///
/// ```
/// use qalqan_analysis::concentration::gini;
/// assert_eq!(gini(&[5, 5, 5, 5]), 0.0);
/// assert_eq!(gini(&[0, 0, 0, 12]), 0.75);
/// ```
pub fn gini(counts: &[u64]) -> f64 {
    let mut x: Vec<u64> = counts.to_vec();
    x.sort_unstable();
    let n = x.len() as f64;
    let total: f64 = x.iter().map(|&v| v as f64).sum();
    if x.is_empty() || total == 0.0 {
        return 0.0;
    }
    let weighted: f64 = x.iter().enumerate().map(|(i, &v)| (2.0 * (i as f64 + 1.0) - n - 1.0) * v as f64).sum();
    weighted / (n * total)
}

/// Groups `points` into places and measures their concentration.
///
/// ```
/// use qalqan_analysis::concentration::repeat_places;
/// use qalqan_domain::Wgs84Point;
/// let bar = Wgs84Point::new(51.1280, 71.4300).unwrap();
/// let mut pts = vec![bar; 8];
/// pts.push(Wgs84Point::new(51.1300, 71.4400).unwrap());
/// pts.push(Wgs84Point::new(51.1310, 71.4410).unwrap());
/// let c = repeat_places(&pts);
/// assert_eq!(c.ranked[0].incidents, 8);
/// assert_eq!(c.top_shares[0], (0.01, 0.8)); // the top place (≥ 1 %) has 80 %
/// ```
pub fn repeat_places(points: &[Wgs84Point]) -> Concentration {
    let key = |p: &Wgs84Point| ((p.lat() * 1e6).round() as i64, (p.lon() * 1e6).round() as i64);
    let mut counts: HashMap<(i64, i64), (Wgs84Point, u64)> = HashMap::new();
    for p in points {
        counts.entry(key(p)).or_insert((*p, 0)).1 += 1;
    }
    let mut ranked: Vec<Place> = counts.into_values().map(|(location, incidents)| Place { location, incidents }).collect();
    ranked.sort_by(|a, b| {
        b.incidents
            .cmp(&a.incidents)
            .then(a.location.lat().total_cmp(&b.location.lat()))
            .then(a.location.lon().total_cmp(&b.location.lon()))
    });
    let desc: Vec<u64> = ranked.iter().map(|p| p.incidents).collect();
    let total: u64 = desc.iter().sum();
    let top_shares = [0.01, 0.05, 0.10].iter().map(|&p| (p, top_share(&desc, total, p))).collect();
    // Lorenz: ascending counts, cumulative shares at 0 %, 1 %, …, 100 % of places.
    let asc: Vec<u64> = desc.iter().rev().copied().collect();
    let mut cumulative = Vec::with_capacity(asc.len() + 1);
    cumulative.push(0u64);
    for v in &asc {
        cumulative.push(cumulative.last().copied().unwrap_or(0) + v);
    }
    let lorenz = (0..=100)
        .map(|pct| {
            let f = f64::from(pct) / 100.0;
            let k = (f * asc.len() as f64).round() as usize;
            (f, if total > 0 { cumulative[k] as f64 / total as f64 } else { f })
        })
        .collect();
    Concentration { gini: gini(&desc), ranked, incidents: total, top_shares, lorenz }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_and_single_place() {
        let c = repeat_places(&[]);
        assert_eq!((c.ranked.len(), c.incidents, c.gini), (0, 0, 0.0));
        let p = Wgs84Point::new(43.7, -79.4).unwrap();
        let c = repeat_places(&[p, p, p]);
        assert_eq!((c.ranked.len(), c.gini), (1, 0.0));
        assert_eq!(c.lorenz.last(), Some(&(1.0, 1.0)));
    }

    #[test]
    fn gini_matches_the_mean_difference_definition() {
        // G = Σ_i Σ_j |x_i − x_j| / (2 n² mean)
        let x = [0u64, 1, 1, 2, 3, 5, 8, 13, 21];
        let n = x.len() as f64;
        let mean = x.iter().sum::<u64>() as f64 / n;
        let md: f64 = x.iter().flat_map(|a| x.iter().map(move |b| (*a as f64 - *b as f64).abs())).sum();
        assert!((gini(&x) - md / (2.0 * n * n * mean)).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn input_order_does_not_change_the_result(seed in 0u64..1000) {
            let mut rng = crate::rng::Rng::seed(seed);
            let pts: Vec<Wgs84Point> = (0..200)
                .map(|_| Wgs84Point::new(43.6 + rng.below(20) as f64 * 0.001, -79.4 + rng.below(20) as f64 * 0.001).unwrap())
                .collect();
            let mut shuffled = pts.clone();
            for i in (1..shuffled.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                shuffled.swap(i, j);
            }
            prop_assert_eq!(repeat_places(&pts), repeat_places(&shuffled));
        }
    }
}
