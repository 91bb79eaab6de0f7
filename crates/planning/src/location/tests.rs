//! Exact methods against brute force on small instances, heuristics' bounds, degenerate cases and
//! validation.

use proptest::prelude::*;

use super::*;

/// Every `p`-subset of the sites that are not fixed.
fn subsets(sites: usize, fixed: &[usize], p: usize) -> Vec<Vec<usize>> {
    let free: Vec<usize> = (0..sites).filter(|j| !fixed.contains(j)).collect();
    let mut all = Vec::new();
    let mut pick: Vec<usize> = (0..p).collect();
    if p > free.len() {
        return all;
    }
    loop {
        all.push(pick.iter().map(|&r| free[r]).collect());
        let Some(r) = (0..p).rev().find(|&r| pick[r] < free.len() - p + r) else {
            return all;
        };
        pick[r] += 1;
        for s in r + 1..p {
            pick[s] = pick[s - 1] + 1;
        }
    }
}

fn open_with(chosen: &[usize], fixed: &[usize]) -> Vec<usize> {
    chosen.iter().chain(fixed).copied().collect()
}

fn covered_weight(cover: &Coverage, open: &[usize]) -> f64 {
    (0..cover.demands()).filter(|&i| cover.covering(i).iter().any(|&j| open.contains(&(j as usize)))).map(|i| cover.weights()[i]).sum()
}

fn median_cost(instance: &Instance, open: &[usize]) -> f64 {
    (0..instance.demands())
        .filter(|&i| instance.weights()[i] > 0.0)
        .map(|i| instance.weights()[i] * open.iter().map(|&j| instance.costs().cost(i, j)).fold(f64::INFINITY, f64::min))
        .sum()
}

fn center_radius(instance: &Instance, open: &[usize]) -> f64 {
    (0..instance.demands())
        .filter(|&i| instance.weights()[i] > 0.0)
        .map(|i| open.iter().map(|&j| instance.costs().cost(i, j)).fold(f64::INFINITY, f64::min))
        .fold(0.0, f64::max)
}

fn brute_mclp(cover: &Coverage, p: usize) -> f64 {
    subsets(cover.sites(), cover.fixed(), p).iter().map(|s| covered_weight(cover, &open_with(s, cover.fixed()))).fold(0.0, f64::max)
}

fn brute_median(instance: &Instance, p: usize) -> f64 {
    subsets(instance.sites(), instance.fixed(), p)
        .iter()
        .map(|s| median_cost(instance, &open_with(s, instance.fixed())))
        .fold(f64::INFINITY, f64::min)
}

fn brute_center(instance: &Instance, p: usize) -> f64 {
    subsets(instance.sites(), instance.fixed(), p)
        .iter()
        .map(|s| center_radius(instance, &open_with(s, instance.fixed())))
        .fold(f64::INFINITY, f64::min)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Small random instances: up to 9 demands, 7 sites, some fixed; costs whole or fractional.
fn small_instance() -> impl Strategy<Value = (Instance, usize)> {
    (1usize..10, 1usize..8, any::<bool>()).prop_flat_map(|(n, m, whole)| {
        (
            proptest::collection::vec(prop_oneof![Just(0.0), 0.5f64..5.0], n),
            proptest::collection::vec(0.0f64..20.0, n * m),
            proptest::collection::vec(0..m, 0..3),
            0..=m,
        )
            .prop_map(move |(weights, costs, fixed, p)| {
                let (weights, costs): (Vec<f64>, Vec<f64>) = if whole {
                    (weights.iter().map(|w| w.round()).collect(), costs.iter().map(|c| c.round()).collect())
                } else {
                    (weights, costs)
                };
                let instance = Instance::new(weights, CostMatrix::new(n, m, costs).unwrap()).unwrap().with_fixed(&fixed).unwrap();
                let p = p.min(m - instance.fixed().len());
                (instance, p)
            })
    })
}

fn params(p: usize, method: Method) -> LocationParams {
    LocationParams { p, method, ..LocationParams::default() }
}

fn check_placement(placement: &Placement, p: usize, fixed: &[usize]) {
    assert_eq!(placement.chosen.len(), p, "{placement:?}");
    assert!(placement.chosen.iter().all(|j| !fixed.contains(j)), "{placement:?}");
    assert!(fixed.iter().all(|j| placement.open.contains(j)), "{placement:?}");
    assert_eq!(placement.open.len(), p + fixed.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn exact_mclp_matches_brute_force_and_heuristic_bounds_hold((instance, p) in small_instance(), standard in 0.0f64..15.0) {
        let cover = instance.coverage(standard).unwrap();
        let optimum = brute_mclp(&cover, p);
        let exact = maximal_covering(&cover, &params(p, Method::Exact)).unwrap();
        check_placement(&exact, p, cover.fixed());
        prop_assert!(close(exact.objective, optimum), "{exact:?} vs {optimum}");
        prop_assert_eq!(exact.status, Status::Optimal);
        prop_assert_eq!(exact.gap, 0.0);
        prop_assert!(close(covered_weight(&cover, &exact.open), exact.objective));
        let heuristic = maximal_covering(&cover, &params(p, Method::Heuristic)).unwrap();
        check_placement(&heuristic, p, cover.fixed());
        prop_assert!(heuristic.objective <= optimum + 1e-9);
        prop_assert!(heuristic.bound >= optimum - 1e-9 && heuristic.bound >= heuristic.objective, "{heuristic:?} vs {optimum}");
        prop_assert!(close(heuristic.gap, relative_gap(heuristic.objective, heuristic.bound)));
    }

    #[test]
    fn exact_p_median_matches_brute_force((instance, p) in small_instance()) {
        prop_assume!(p > 0 || !instance.fixed().is_empty());
        let optimum = brute_median(&instance, p);
        let exact = p_median(&instance, &params(p, Method::Exact)).unwrap();
        check_placement(&exact, p, instance.fixed());
        prop_assert!(close(exact.objective, optimum), "{exact:?} vs {optimum}");
        prop_assert_eq!((exact.status, exact.gap), (Status::Optimal, 0.0));
        let heuristic = p_median(&instance, &params(p, Method::Heuristic)).unwrap();
        check_placement(&heuristic, p, instance.fixed());
        prop_assert!(heuristic.objective >= optimum - 1e-9);
        prop_assert!(heuristic.bound <= optimum + 1e-9 * optimum.max(1.0), "{heuristic:?} vs {optimum}");
    }

    #[test]
    fn exact_p_center_matches_brute_force((instance, p) in small_instance()) {
        prop_assume!(p > 0 || !instance.fixed().is_empty());
        let optimum = brute_center(&instance, p);
        let exact = p_center(&instance, &params(p, Method::Exact)).unwrap();
        check_placement(&exact, p, instance.fixed());
        prop_assert_eq!(exact.objective, optimum, "{:?}", exact);
        prop_assert_eq!((exact.status, exact.gap), (Status::Optimal, 0.0));
        let heuristic = p_center(&instance, &params(p, Method::Heuristic)).unwrap();
        check_placement(&heuristic, p, instance.fixed());
        prop_assert!(heuristic.objective >= optimum && heuristic.bound <= optimum, "{heuristic:?} vs {optimum}");
    }
}

/// A seeded random instance of `n` demands and `m` sites in a 10 km square.
fn random_instance(n: usize, m: usize, seed: u64) -> Instance {
    let mut rng = qalqan_analysis::rng::Rng::seed(seed);
    let mut point = || (rng.unit() * 10_000.0, rng.unit() * 10_000.0);
    let demand: Vec<(f64, f64)> = (0..n).map(|_| point()).collect();
    let sites: Vec<(f64, f64)> = (0..m).map(|_| point()).collect();
    let costs = CostMatrix::from_fn(n, m, |i, j| f64::hypot(demand[i].0 - sites[j].0, demand[i].1 - sites[j].1)).unwrap();
    let weights = (0..n).map(|i| 1.0 + (i % 4) as f64).collect();
    Instance::new(weights, costs).unwrap()
}

#[test]
fn exact_methods_match_brute_force_on_a_forty_by_twelve_instance() {
    let instance = random_instance(40, 12, 3);
    for p in [1, 3, 4] {
        let median = p_median(&instance, &params(p, Method::Exact)).unwrap();
        assert!(close(median.objective, brute_median(&instance, p)), "p = {p}: {median:?}");
        let center = p_center(&instance, &params(p, Method::Exact)).unwrap();
        assert_eq!(center.objective, brute_center(&instance, p), "p = {p}");
        let cover = instance.coverage(2_500.0).unwrap();
        let mclp = maximal_covering(&cover, &params(p, Method::Exact)).unwrap();
        assert_eq!(mclp.objective, brute_mclp(&cover, p), "p = {p}");
        assert!([&median, &center, &mclp].iter().all(|r| r.status == Status::Optimal && r.gap == 0.0));
    }
}

#[test]
fn fractional_weights_are_solved_exactly_too() {
    let instance = random_instance(30, 10, 8);
    let weights: Vec<f64> = (0..30).map(|i| 0.37 + f64::from(i) * 0.11).collect();
    let instance = Instance::new(weights, instance.costs().clone()).unwrap();
    let cover = instance.coverage(3_000.0).unwrap();
    let mclp = maximal_covering(&cover, &params(3, Method::Exact)).unwrap();
    assert!(close(mclp.objective, brute_mclp(&cover, 3)));
    let median = p_median(&instance, &params(3, Method::Exact)).unwrap();
    assert!(close(median.objective, brute_median(&instance, 3)));
}

#[test]
fn fixed_sites_are_open_and_not_counted_in_p() {
    let instance = random_instance(30, 8, 5).with_fixed(&[2, 6, 2]).unwrap();
    assert_eq!(instance.fixed(), &[2, 6]);
    let cover = instance.coverage(3_000.0).unwrap();
    for placement in [
        maximal_covering(&cover, &params(2, Method::Exact)).unwrap(),
        p_median(&instance, &params(2, Method::Exact)).unwrap(),
        p_center(&instance, &params(2, Method::Exact)).unwrap(),
    ] {
        check_placement(&placement, 2, &[2, 6]);
    }
    assert_eq!(maximal_covering(&cover, &params(2, Method::Exact)).unwrap().objective, brute_mclp(&cover, 2));
}

#[test]
fn p_zero_opens_only_the_fixed_sites() {
    let instance = random_instance(20, 6, 9).with_fixed(&[1]).unwrap();
    let cover = instance.coverage(4_000.0).unwrap();
    let mclp = maximal_covering(&cover, &params(0, Method::Exact)).unwrap();
    assert_eq!((mclp.chosen.len(), mclp.open.as_slice()), (0, [1].as_slice()));
    assert_eq!(mclp.objective, covered_weight(&cover, &[1]));
    let median = p_median(&instance, &params(0, Method::Heuristic)).unwrap();
    assert_eq!((median.open.as_slice(), median.status, median.gap), ([1].as_slice(), Status::Optimal, 0.0));
    assert!(close(median.objective, median_cost(&instance, &[1])));
    let center = p_center(&instance, &params(0, Method::Exact)).unwrap();
    assert_eq!(center.objective, center_radius(&instance, &[1]));
}

#[test]
fn p_zero_without_fixed_sites_is_refused_by_p_median_and_p_center_but_not_mclp() {
    let instance = random_instance(5, 3, 1);
    assert!(matches!(p_median(&instance, &params(0, Method::Exact)), Err(PlanningError::InvalidParameter { name: "p", .. })));
    assert!(matches!(p_center(&instance, &params(0, Method::Exact)), Err(PlanningError::InvalidParameter { name: "p", .. })));
    let mclp = maximal_covering(&instance.coverage(1_000.0).unwrap(), &params(0, Method::Exact)).unwrap();
    assert_eq!((mclp.objective, mclp.bound, mclp.gap), (0.0, 0.0, 0.0));
}

#[test]
fn p_equal_to_the_candidates_opens_every_site() {
    let instance = random_instance(15, 5, 2).with_fixed(&[0]).unwrap();
    let cover = instance.coverage(10_000.0).unwrap();
    for placement in [
        maximal_covering(&cover, &params(4, Method::Exact)).unwrap(),
        p_median(&instance, &params(4, Method::Heuristic)).unwrap(),
        p_center(&instance, &params(4, Method::Exact)).unwrap(),
    ] {
        assert_eq!(placement.open, vec![0, 1, 2, 3, 4]);
        assert_eq!((placement.status, placement.gap), (Status::Optimal, 0.0));
    }
}

#[test]
fn p_larger_than_the_candidates_is_an_error() {
    let instance = random_instance(5, 3, 1).with_fixed(&[0]).unwrap();
    let cover = instance.coverage(1_000.0).unwrap();
    for result in [
        maximal_covering(&cover, &params(3, Method::Exact)),
        p_median(&instance, &params(3, Method::Exact)),
        p_center(&instance, &params(3, Method::Exact)),
    ] {
        assert!(matches!(result, Err(PlanningError::InvalidParameter { name: "p", .. })), "{result:?}");
    }
}

#[test]
fn zero_weight_demand_counts_for_no_objective() {
    // Demand 2 is far away but weighs nothing.
    let costs = CostMatrix::new(3, 2, vec![0.0, 5.0, 1.0, 5.0, 100.0, 90.0]).unwrap();
    let instance = Instance::new(vec![2.0, 1.0, 0.0], costs).unwrap();
    let center = p_center(&instance, &params(1, Method::Exact)).unwrap();
    assert_eq!((center.chosen.as_slice(), center.objective), ([0].as_slice(), 1.0));
    assert_eq!(center.assignment[2], Some(0));
    let median = p_median(&instance, &params(1, Method::Exact)).unwrap();
    assert_eq!(median.objective, 1.0);
    let all_zero = Instance::new(vec![0.0; 3], instance.costs().clone()).unwrap();
    for placement in [
        maximal_covering(&all_zero.coverage(50.0).unwrap(), &params(1, Method::Exact)).unwrap(),
        p_median(&all_zero, &params(1, Method::Exact)).unwrap(),
        p_center(&all_zero, &params(1, Method::Exact)).unwrap(),
    ] {
        assert_eq!((placement.objective, placement.gap, placement.chosen.len()), (0.0, 0.0, 1));
    }
}

#[test]
fn demand_no_site_can_cover_is_left_uncovered() {
    let cover = Coverage::new(vec![5.0, 1.0, 1.0], 2, vec![vec![], vec![0], vec![1]]).unwrap();
    for method in [Method::Exact, Method::Heuristic] {
        let placement = maximal_covering(&cover, &params(1, method)).unwrap();
        assert_eq!(placement.objective, 1.0);
        assert_eq!(placement.assignment[0], None);
        assert_eq!((placement.status, placement.gap), (Status::Optimal, 0.0));
    }
}

#[test]
fn unreachable_demand_with_a_large_cost_stays_on_its_nearest_site() {
    // Demand 1 is "unreachable" (cost 1e9) from site 0 and far from site 1.
    let costs = CostMatrix::new(2, 2, vec![1.0, 2.0, 1e9, 500.0]).unwrap();
    let instance = Instance::new(vec![1.0, 1.0], costs).unwrap();
    let center = p_center(&instance, &params(1, Method::Exact)).unwrap();
    assert_eq!((center.chosen.as_slice(), center.objective), ([1].as_slice(), 500.0));
    let mclp = maximal_covering(&instance.coverage(10.0).unwrap(), &params(1, Method::Exact)).unwrap();
    assert_eq!(mclp.objective, 1.0);
}

#[test]
fn gap_is_relative_to_the_objective() {
    assert_eq!(relative_gap(90.0, 100.0), 10.0 / 90.0);
    assert_eq!(relative_gap(110.0, 100.0), 10.0 / 110.0);
    assert_eq!(relative_gap(0.0, 0.0), 0.0);
    assert_eq!(relative_gap(5.0, 5.0), 0.0);
    assert_eq!(relative_gap(0.0, 1.0), f64::INFINITY);
}

#[test]
fn a_stopped_exact_search_still_reports_a_valid_bound() {
    let instance = random_instance(60, 30, 4);
    let cover = instance.coverage(2_000.0).unwrap();
    let stopped = LocationParams { p: 6, time_limit: Duration::ZERO, ..LocationParams::default() };
    let optimum = maximal_covering(&cover, &params(6, Method::Exact)).unwrap();
    let mclp = maximal_covering(&cover, &stopped).unwrap();
    assert!(mclp.bound >= optimum.objective - 1e-9 && mclp.objective <= optimum.objective);
    let optimum = p_median(&instance, &params(6, Method::Exact)).unwrap();
    let median = p_median(&instance, &stopped).unwrap();
    assert!(median.bound <= optimum.objective + 1e-6 && median.objective >= optimum.objective - 1e-6);
    let optimum = p_center(&instance, &params(6, Method::Exact)).unwrap();
    let center = p_center(&instance, &stopped).unwrap();
    assert!(center.bound <= optimum.objective && center.objective >= optimum.objective);
}

#[test]
fn results_depend_only_on_the_seed() {
    let instance = random_instance(80, 25, 6);
    let cover = instance.coverage(1_500.0).unwrap();
    let run = |seed| {
        let p = LocationParams { p: 5, method: Method::Heuristic, seed, ..LocationParams::default() };
        let m = maximal_covering(&cover, &p).unwrap();
        let d = p_median(&instance, &p).unwrap();
        (m.chosen, m.bound, d.chosen, d.bound)
    };
    assert_eq!(run(11), run(11));
}

#[test]
fn invalid_inputs_are_refused() {
    assert!(matches!(CostMatrix::new(2, 2, vec![0.0; 3]), Err(PlanningError::LengthMismatch { expected: 4, got: 3, .. })));
    assert!(matches!(CostMatrix::new(1, 2, vec![0.0, f64::INFINITY]), Err(PlanningError::NotFinite { .. })));
    assert!(matches!(CostMatrix::new(1, 1, vec![-1.0]), Err(PlanningError::InvalidParameter { .. })));
    let costs = CostMatrix::new(2, 2, vec![0.0; 4]).unwrap();
    assert!(matches!(Instance::new(vec![1.0, f64::NAN], costs.clone()), Err(PlanningError::NotFinite { .. })));
    assert!(matches!(
        Instance::new(vec![1.0, 1.0], costs.clone()).unwrap().with_fixed(&[2]),
        Err(PlanningError::SiteOutOfRange { index: 2, .. })
    ));
    let instance = Instance::new(vec![1.0, 1.0], costs).unwrap();
    assert!(instance.coverage(f64::NAN).is_err() && instance.coverage(-1.0).is_err());
    assert!(matches!(Coverage::new(vec![1.0, 1.0], 2, vec![vec![0]]), Err(PlanningError::LengthMismatch { .. })));
}

#[test]
fn covering_everything_coverable_is_optimal_without_a_search() {
    // 200 demands in a row, each covered by the sites within 2 of it; 60 sites every 3rd demand
    // cover everything with p = 60 of 200; one demand nobody covers.
    let n = 200;
    let mut lists: Vec<Vec<usize>> = (0..n).map(|i: usize| (i.saturating_sub(2)..(i + 3).min(n)).collect()).collect();
    lists.push(Vec::new());
    let cover = Coverage::new(vec![1.0; n + 1], n, lists).unwrap();
    for method in [Method::Exact, Method::Heuristic] {
        let params = LocationParams { p: 60, method, ..LocationParams::default() };
        let placement = maximal_covering(&cover, &params).unwrap();
        assert_eq!(placement.objective, n as f64, "{method:?}");
        assert_eq!((placement.status, placement.gap, placement.bound), (Status::Optimal, 0.0, n as f64), "{method:?}");
    }
}
