//! The standard normal distribution, to full double precision.

/// P(Z > z) for a standard normal Z, accurate in the far tail (via `erfc`).
///
/// ```
/// let p = qalqan_analysis::normal::sf(1.959963984540054);
/// assert!((p - 0.025).abs() < 1e-15);
/// ```
pub fn sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// P(Z ≤ z).
pub fn cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// The p-quantile of the standard normal (bisection on [`cdf`] to 1e-12; p in (0, 1)).
///
/// ```
/// let z = qalqan_analysis::normal::quantile(0.975);
/// assert!((z - 1.959963984540054).abs() < 1e-9);
/// ```
pub fn quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0_f64, 40.0_f64);
    while hi - lo > 1e-12 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    #[test]
    fn symmetric_and_known_values() {
        assert_eq!(super::sf(0.0), 0.5);
        assert!((super::cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert!((super::sf(-1.0) - super::cdf(1.0)).abs() < 1e-16);
        assert!(super::sf(10.0) > 0.0 && super::sf(10.0) < 1e-22);
    }
}
