//! Nelder–Mead minimisation: the lifetime-value likelihoods have few parameters, no
//! cheap gradient, and are smooth in the logarithms of their parameters.

/// Minimises `f` from `start`, with simplex steps of `step` (in `f`'s coordinates), until
/// the simplex's values agree to `tol` relative to their size (1 + |f|) or after `max_evals`
/// evaluations. Restarted from its best point until a restart no longer improves
/// (Nelder–Mead can stall on a ridge).
pub fn nelder_mead(
    f: &dyn Fn(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    tol: f64,
    max_evals: usize,
) -> (Vec<f64>, f64) {
    let mut best = start.to_vec();
    let mut value = f(&best);
    for _ in 0..20 {
        let (x, v) = one_run(f, &best, step, tol, max_evals);
        let improved = value - v > tol * (1.0 + value.abs());
        if v < value {
            best = x;
            value = v;
        }
        if !improved {
            break;
        }
    }
    (best, value)
}

fn one_run(
    f: &dyn Fn(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    tol: f64,
    max_evals: usize,
) -> (Vec<f64>, f64) {
    let n = start.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = (0..=n)
        .map(|i| {
            let mut p = start.to_vec();
            if i > 0 {
                p[i - 1] += step;
            }
            let v = f(&p);
            (p, v)
        })
        .collect();
    let mut evals = n + 1;
    let at = |c: &[f64], towards: &[f64], t: f64| -> Vec<f64> {
        c.iter()
            .zip(towards)
            .map(|(c, w)| c + t * (w - c))
            .collect()
    };
    while evals < max_evals {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if (simplex[n].1 - simplex[0].1).abs() <= tol * (1.0 + simplex[0].1.abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|p| p.0[j]).sum::<f64>() / n as f64)
            .collect();
        let worst = simplex[n].0.clone();
        let reflected = at(&centroid, &worst, -1.0);
        let fr = f(&reflected);
        evals += 1;
        if fr < simplex[0].1 {
            let expanded = at(&centroid, &worst, -2.0);
            let fe = f(&expanded);
            evals += 1;
            simplex[n] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            let contracted = if fr < simplex[n].1 {
                at(&centroid, &reflected, 0.5)
            } else {
                at(&centroid, &worst, 0.5)
            };
            let fc = f(&contracted);
            evals += 1;
            if fc < fr.min(simplex[n].1) {
                simplex[n] = (contracted, fc);
            } else {
                // Shrink towards the best point.
                let best = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    p.0 = at(&best, &p.0, 0.5);
                    p.1 = f(&p.0);
                }
                evals += n;
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let f = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
        let (x, v) = nelder_mead(&f, &[-1.2, 1.0], 0.5, 1e-14, 20_000);
        assert!(v < 1e-10, "{v}");
        assert!(
            (x[0] - 1.0).abs() < 1e-4 && (x[1] - 1.0).abs() < 1e-4,
            "{x:?}"
        );
    }
}
