//! A signed POST is only good once and only briefly. Discord signs the
//! timestamp with the body, so an old capture fails [`fresh`]; a capture
//! replayed within the window carries an interaction id [`SeenIds`] has
//! already taken. Ids are kept only as long as the window, so memory is the
//! interaction rate times [`WINDOW`].

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How far a signed timestamp may be from this machine's clock. Discord
/// refuses a first answer after 3 s, so anything older is useless to a
/// legitimate sender; the slack is for clocks that drift.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Whether `timestamp` (Unix seconds, as Discord sends it) is within
/// [`WINDOW`] of `now_secs`, either side.
pub fn fresh(timestamp: &str, now_secs: i64) -> bool {
    timestamp
        .parse::<i64>()
        .is_ok_and(|at| (now_secs - at).unsigned_abs() <= WINDOW.as_secs())
}

/// Interaction ids received within the last [`WINDOW`].
#[derive(Debug, Default)]
pub struct SeenIds {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<u64>,
    /// The same ids by arrival, oldest first, to forget them in order.
    order: VecDeque<(Instant, u64)>,
}

impl SeenIds {
    /// True the first time `id` is offered within the window.
    pub fn first_time(&self, id: u64, now: Instant) -> bool {
        let mut guard = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Seen { ids, order } = &mut *guard;
        while let Some(&(at, old)) = order.front() {
            if now.duration_since(at) <= WINDOW {
                break;
            }
            order.pop_front();
            ids.remove(&old);
        }
        if !ids.insert(id) {
            return false;
        }
        order.push_back((now, id));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_is_fresh_within_five_minutes_either_side() {
        let now = 1_800_000_000;
        assert!(fresh("1800000000", now));
        assert!(fresh("1799999700", now));
        assert!(fresh("1800000300", now));
        assert!(!fresh("1799999699", now));
        assert!(!fresh("1800000301", now));
        assert!(!fresh("soon", now));
        assert!(!fresh("", now));
    }

    #[test]
    fn an_id_is_taken_once_and_forgotten_after_the_window() {
        let seen = SeenIds::default();
        let start = Instant::now();
        assert!(seen.first_time(1, start));
        assert!(!seen.first_time(1, start + Duration::from_secs(299)));
        assert!(seen.first_time(2, start + Duration::from_secs(299)));
        let later = start + WINDOW + Duration::from_secs(1);
        assert!(
            seen.first_time(1, later),
            "forgotten once its window passed"
        );
        assert_eq!(
            seen.seen.lock().unwrap().ids.len(),
            2,
            "1 again and 2 remain"
        );
    }
}
