//! Phone normalisation throughput, single thread and all cores.
//!
//!     cargo run --release --example bench_phone [N]
//!
//! Inputs are generated the way `leadpipe gen` writes them (mixed formats, extensions,
//! broken numbers), so the figure reflects a real list, not only the fast path.

use leadpipe::gen::{Person, Rng};
use leadpipe::normalise::phone::PhoneNormaliser;
use rayon::prelude::*;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = Rng::new(1);
    let inputs: Vec<String> = (0..n)
        .map(|i| Person::random(i as u64, &mut rng).row(&mut rng)[2].clone())
        .collect();
    let normaliser = PhoneNormaliser::default();

    // Warm-up: metadata and regexes are built lazily on first use.
    let _ = normaliser.normalise_cell("+7 916 123-45-67 доб. 1");

    let start = Instant::now();
    let valid = inputs
        .iter()
        .flat_map(|s| normaliser.normalise_cell(s))
        .filter(|(_, r)| r.is_ok())
        .count();
    let single = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let valid_par = inputs
        .par_iter()
        .map(|s| {
            normaliser
                .normalise_cell(s)
                .iter()
                .filter(|(_, r)| r.is_ok())
                .count()
        })
        .sum::<usize>();
    let parallel = start.elapsed().as_secs_f64();
    assert_eq!(valid, valid_par);

    let threads = rayon::current_num_threads();
    println!("phone normalisation, {n} cells ({valid} valid numbers):");
    println!(
        "  1 thread : {:>8.0} cells/s ({:.3} s)",
        n as f64 / single,
        single
    );
    println!(
        "  {threads} threads: {:>8.0} cells/s ({:.3} s), {:.0} per core",
        n as f64 / parallel,
        parallel,
        n as f64 / parallel / threads as f64
    );
}
