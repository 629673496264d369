//! Latency histograms with fixed log-scale buckets. Rollups keep a count per
//! bucket instead of raw durations, so p50 / p95 / p99 over a day or ninety
//! days come from a few dozen numbers per command, never from millions of
//! events, and two histograms add up by adding their counts.
//!
//! Bucket bounds grow by √2 (rounded to whole milliseconds) from 1 ms to
//! 65.5 s, plus one bucket for anything slower: a percentile read from them
//! is within one bucket (at most ~41 % high) of the exact one, which is
//! plenty to tell 80 ms from 2.5 s, and the Discord deadline (3 s) falls
//! between two bounds (2,896 and 4,096 ms) rather than inside a wide bucket
//! of the powers of two.

/// Upper bounds (inclusive, milliseconds) of every bucket but the last,
/// which holds everything above 65,536 ms.
pub const BOUNDS_MS: [u32; 32] = [
    1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048,
    2896, 4096, 5793, 8192, 11585, 16384, 23170, 32768, 46341, 65536,
];
/// Buckets in a histogram: one per bound and the overflow bucket.
pub const BUCKETS: usize = BOUNDS_MS.len() + 1;

/// The bucket a duration falls in: the first whose bound is at least it.
pub fn bucket_of(duration_ms: u32) -> usize {
    BOUNDS_MS.partition_point(|&bound| bound < duration_ms)
}

/// The upper bound of `bucket` in milliseconds (`None` for the overflow).
pub fn upper_bound_ms(bucket: usize) -> Option<u32> {
    BOUNDS_MS.get(bucket).copied()
}

/// Counts per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram(pub [i64; BUCKETS]);

impl Default for Histogram {
    fn default() -> Self {
        Self([0; BUCKETS])
    }
}

impl Histogram {
    /// A histogram read from the database, where an array may be shorter
    /// (rows written before a bucket existed, or empty) but never longer.
    pub fn from_counts(counts: &[i64]) -> Self {
        let mut histogram = Self::default();
        histogram.add_counts(counts);
        histogram
    }

    pub fn record(&mut self, duration_ms: u32) {
        self.0[bucket_of(duration_ms)] += 1;
    }

    /// Adds counts as the database stores them (possibly shorter).
    pub fn add_counts(&mut self, counts: &[i64]) {
        for (mine, theirs) in self.0.iter_mut().zip(counts) {
            *mine += *theirs;
        }
    }

    pub fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    pub fn count(&self) -> i64 {
        self.0.iter().sum()
    }

    /// The bucket holding the `quantile` (0 to 1) of the recorded durations:
    /// the smallest bucket whose cumulative count reaches `ceil(q × n)`.
    /// `None` when nothing was recorded.
    pub fn quantile_bucket(&self, quantile: f64) -> Option<usize> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * total as f64).ceil() as i64).max(1);
        let mut seen = 0;
        self.0.iter().position(|&count| {
            seen += count;
            seen >= rank
        })
    }

    /// The quantile as a duration: the upper bound of its bucket, so the
    /// figure shown is never lower than the truth ("p95 ≤ 91 ms").
    /// Above the last bound it is `None` with `Some(bucket)` from
    /// [`Self::quantile_bucket`]; see [`Quantile`].
    pub fn quantile(&self, quantile: f64) -> Quantile {
        match self.quantile_bucket(quantile) {
            None => Quantile::NoData,
            Some(bucket) => match upper_bound_ms(bucket) {
                Some(bound) => Quantile::AtMost(bound),
                None => Quantile::Over(BOUNDS_MS[BOUNDS_MS.len() - 1]),
            },
        }
    }
}

/// A percentile read from a histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantile {
    NoData,
    /// At most this many milliseconds (the bucket's upper bound).
    AtMost(u32),
    /// Above the last bound.
    Over(u32),
}

impl Quantile {
    /// For ordering and charts: the bound in milliseconds (the last bound
    /// for [`Quantile::Over`]).
    pub fn millis(self) -> Option<u32> {
        match self {
            Self::NoData => None,
            Self::AtMost(ms) | Self::Over(ms) => Some(ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_grow_by_about_the_square_root_of_two() {
        for pair in BOUNDS_MS.windows(2).skip(4) {
            let ratio = f64::from(pair[1]) / f64::from(pair[0]);
            assert!((1.3..=1.5).contains(&ratio), "{pair:?}");
        }
        assert!(BOUNDS_MS.contains(&2896) && BOUNDS_MS.contains(&4096));
    }

    #[test]
    fn a_duration_falls_in_the_first_bucket_whose_bound_holds_it() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 0);
        assert_eq!(bucket_of(2), 1);
        assert_eq!(bucket_of(5), 4);
        assert_eq!(bucket_of(6), 4);
        assert_eq!(bucket_of(65_536), 31);
        assert_eq!(bucket_of(65_537), 32);
        assert_eq!(bucket_of(u32::MAX), 32);
    }

    /// The exact percentile of raw durations (nearest rank).
    fn exact(sorted: &[u32], quantile: f64) -> u32 {
        let rank = ((quantile * sorted.len() as f64).ceil() as usize).max(1);
        sorted[rank - 1]
    }

    #[test]
    fn percentiles_from_the_histogram_agree_with_raw_durations_within_one_bucket() {
        // A deterministic spread: a fast mode, a slow mode and a long tail.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for case in 0..50 {
            let n = 1 + (next() % 5_000) as usize;
            let durations: Vec<u32> = (0..n)
                .map(|_| match next() % 10 {
                    0..=6 => (next() % 120) as u32,
                    7 | 8 => 200 + (next() % 2_000) as u32,
                    _ => (next() % 100_000) as u32,
                })
                .collect();
            let mut histogram = Histogram::default();
            durations.iter().for_each(|&d| histogram.record(d));
            let mut sorted = durations.clone();
            sorted.sort_unstable();
            for quantile in [0.5, 0.95, 0.99] {
                let truth = bucket_of(exact(&sorted, quantile));
                let estimate = histogram.quantile_bucket(quantile).unwrap();
                assert!(
                    estimate.abs_diff(truth) <= 1,
                    "case {case}, q {quantile}: bucket {estimate} vs {truth}"
                );
            }
        }
    }

    #[test]
    fn the_quantile_is_the_bound_of_its_bucket_and_never_below_the_truth() {
        let mut histogram = Histogram::default();
        for d in [10, 10, 10, 10, 10, 10, 10, 10, 10, 3_000] {
            histogram.record(d);
        }
        assert_eq!(histogram.quantile(0.5), Quantile::AtMost(11));
        assert_eq!(histogram.quantile(0.95), Quantile::AtMost(4096));
        histogram.record(70_000);
        assert_eq!(histogram.quantile(1.0), Quantile::Over(65_536));
        assert_eq!(Histogram::default().quantile(0.5), Quantile::NoData);
    }

    #[test]
    fn histograms_add_and_read_back_from_shorter_arrays() {
        let mut a = Histogram::from_counts(&[1, 2]);
        let b = Histogram::from_counts(&[0, 1, 5]);
        a.add(&b);
        assert_eq!(&a.0[..4], &[1, 3, 5, 0]);
        assert_eq!(a.count(), 9);
    }
}
