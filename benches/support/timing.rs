//! Timing helpers shared by the benchmarks: run a case repeatedly after a
//! warm-up and print its p50 / p95 / max.

use std::time::{Duration, Instant};

pub const ITERATIONS: usize = 200;

pub fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<48} p50 {:>7.2} ms  p95 {:>7.2} ms  max {:>7.2} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    );
}

/// Ten warm-up runs, then [`ITERATIONS`] timed ones; `run` gets the run number.
pub async fn measure<F, Fut>(name: &str, mut run: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..10 {
        run(i).await;
    }
    let mut samples = Vec::with_capacity(ITERATIONS);
    for i in 0..ITERATIONS {
        let started = Instant::now();
        run(i).await;
        samples.push(started.elapsed());
    }
    report(name, samples);
}
