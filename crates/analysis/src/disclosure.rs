//! Statistical disclosure control for published counts: small counts are withheld so that no
//! victim, household or address can be singled out, and a withheld count cannot be recovered by
//! subtracting the published ones from a published total.
//!
//! The rule (threshold suppression with complementary suppression, as statistical offices apply
//! to tables — e.g. Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4):
//! 1. **Primary**: every non-zero count below `k` is withheld.
//! 2. **Complementary**: in a group whose total is published, if exactly one count is withheld
//!    (so total − published sum would reveal it), the smallest published non-zero count is withheld
//!    too; a withheld sum below `k` (which would bound each withheld count) is widened the same way
//!    until the withheld counts sum to at least `k` or nothing is left to withhold.
//!
//! Zeros are published: a place with no incident reveals no one. O(n log n) per group.

/// Applies the rule to one group of counts whose total is published; `None` = withheld.
///
/// ```
/// use qalqan_analysis::disclosure::suppress;
/// // 3 is below 5: withheld; alone it would be recoverable from the total, so 7 goes too.
/// assert_eq!(suppress(&[12, 3, 7, 0, 25], 5), vec![Some(12), None, None, Some(0), Some(25)]);
/// // Two small counts: both withheld, and their sum (2 + 1 = 3 < 5) widens to the next smallest.
/// assert_eq!(suppress(&[2, 1, 9, 30], 5), vec![None, None, None, Some(30)]);
/// assert_eq!(suppress(&[8, 9, 10], 5), vec![Some(8), Some(9), Some(10)]);
/// ```
pub fn suppress(counts: &[u64], k: u64) -> Vec<Option<u64>> {
    let mut out: Vec<Option<u64>> = counts.iter().map(|&c| if c > 0 && c < k { None } else { Some(c) }).collect();
    loop {
        let withheld: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_none()).collect();
        if withheld.is_empty() {
            return out;
        }
        let sum: u64 = withheld.iter().map(|&i| counts[i]).sum();
        if withheld.len() >= 2 && sum >= k {
            return out;
        }
        // The smallest published non-zero count joins the withheld ones.
        let next = (0..out.len()).filter(|&i| matches!(out[i], Some(c) if c > 0)).min_by_key(|&i| (counts[i], i));
        match next {
            Some(i) => out[i] = None,
            None => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// No published figure is below k (except zeros); when anything is withheld, at least two
        /// counts are, and they sum to at least k — so the total minus the published counts never
        /// pins down a single small count.
        #[test]
        fn no_small_count_is_published_or_recoverable(counts in proptest::collection::vec(0u64..20, 1..30), k in 2u64..10) {
            let out = suppress(&counts, k);
            prop_assert_eq!(out.len(), counts.len());
            for (c, o) in counts.iter().zip(&out) {
                if let Some(v) = o {
                    prop_assert_eq!(v, c);
                    prop_assert!(*v == 0 || *v >= k);
                }
            }
            let withheld: Vec<u64> = counts.iter().zip(&out).filter(|(_, o)| o.is_none()).map(|(c, _)| *c).collect();
            let nonzero = counts.iter().filter(|&&c| c > 0).count();
            if !withheld.is_empty() && nonzero >= 2 {
                prop_assert!(withheld.len() >= 2);
                let total: u64 = counts.iter().sum();
                prop_assert!(withheld.iter().sum::<u64>() >= k || withheld.iter().sum::<u64>() == total);
            }
        }
    }

    #[test]
    fn a_lone_small_count_takes_a_partner() {
        assert_eq!(suppress(&[1], 5), vec![None]);
        assert_eq!(suppress(&[4, 100], 5), vec![None, None]);
        assert_eq!(suppress(&[0, 0, 6], 5), vec![Some(0), Some(0), Some(6)]);
    }
}
