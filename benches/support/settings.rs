//! How a benchmark run is sized: numbers from the environment (`BENCH_EVENTS`,
//! `BENCH_GUILDS`, ...) so a quick run can scale the data down.

/// The number in variable `name`, or `default` when it is unset or not a number.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
