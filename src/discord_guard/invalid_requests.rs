//! Discord bans an IP for hours once it has answered 10,000 invalid
//! requests (401, 403, and 429 unless `X-RateLimit-Scope: shared`) within
//! 10 minutes. This window counts the invalid responses of one process over
//! the last 10 minutes against its budget (`INVALID_REQUEST_BUDGET`).
//!
//! Broadcasts, edits and recalls are the requests that can run into
//! thousands of refusals (channels that lost the bot's permissions), so they
//! ask for room before they claim work: every request they have in flight is
//! counted as if it were going to be refused, and once the refusals in the
//! window plus the requests in flight reach [`PAUSE_SHARE`] of the budget,
//! they wait until refusals age out of the window. That way the process
//! stays within the budget whatever the answers to the requests already
//! sent. Interaction replies never wait: they are what a user is looking at,
//! and the rest of the budget is their margin.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How far back Discord counts invalid requests.
pub const WINDOW: Duration = Duration::from_secs(600);
/// `INVALID_REQUEST_BUDGET` when unset: a quarter of Discord's 10,000, so
/// four processes behind one IP stay within it.
pub const DEFAULT_BUDGET: u32 = 2_500;
/// The share of the budget (in percent) at which pausable requests wait.
pub const PAUSE_SHARE: u32 = 80;

/// The rolling window of one process's invalid responses.
#[derive(Debug)]
pub struct InvalidRequests {
    budget: u32,
    state: Mutex<State>,
    /// Woken when a reservation is given back.
    released: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// When each invalid response in the window came.
    refused: VecDeque<Instant>,
    /// Pausable requests that may be in flight (reserved, not given back).
    reserved: u32,
}

impl Default for InvalidRequests {
    fn default() -> Self {
        Self::new(DEFAULT_BUDGET)
    }
}

impl InvalidRequests {
    /// A window for at most `budget` invalid responses in 10 minutes.
    pub fn new(budget: u32) -> Self {
        Self {
            budget: budget.max(1),
            state: Mutex::default(),
            released: Notify::new(),
        }
    }

    /// `INVALID_REQUEST_BUDGET`.
    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// Refusals plus requests in flight at which pausable requests wait.
    pub fn pause_at(&self) -> u32 {
        (self.budget * PAUSE_SHARE / 100).max(1)
    }

    /// Counts one invalid response, now.
    pub fn record(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        prune(&mut state.refused, now);
        state.refused.push_back(now);
    }

    /// Invalid responses in the last 10 minutes.
    pub fn in_window(&self) -> u32 {
        let mut state = self.lock();
        prune(&mut state.refused, Instant::now());
        state.refused.len() as u32
    }

    /// `Some(refusals in the window)` while pausable requests have to wait.
    pub fn paused(&self) -> Option<u32> {
        let mut state = self.lock();
        prune(&mut state.refused, Instant::now());
        let refused = state.refused.len() as u32;
        (refused + state.reserved >= self.pause_at()).then_some(refused)
    }

    /// Room for up to `wanted` pausable requests (at least one), reserved
    /// now, or `None` when there is none until refusals age out.
    pub fn try_reserve(self: &Arc<Self>, wanted: u32) -> Option<Reservation> {
        let mut state = self.lock();
        prune(&mut state.refused, Instant::now());
        let used = state.refused.len() as u32 + state.reserved;
        let room = self.pause_at().saturating_sub(used).min(wanted.max(1));
        if room == 0 {
            return None;
        }
        state.reserved += room;
        Some(Reservation {
            window: self.clone(),
            slots: room,
        })
    }

    /// Like [`Self::try_reserve`], waiting as long as there is no room: until
    /// the oldest refusal leaves the window, or a reservation is given back.
    pub async fn reserve(self: &Arc<Self>, wanted: u32) -> Reservation {
        loop {
            let released = self.released.notified();
            if let Some(reservation) = self.try_reserve(wanted) {
                return reservation;
            }
            let oldest = self.lock().refused.front().copied();
            let until = oldest.map_or_else(Instant::now, |at| at + WINDOW);
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = released => {}
            }
        }
    }

    fn give_back(&self, slots: u32) {
        if slots == 0 {
            return;
        }
        let mut state = self.lock();
        state.reserved = state.reserved.saturating_sub(slots);
        drop(state);
        self.released.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Drops refusals older than the window.
fn prune(refused: &mut VecDeque<Instant>, now: Instant) {
    while refused
        .front()
        .is_some_and(|at| now.duration_since(*at) >= WINDOW)
    {
        refused.pop_front();
    }
}

/// Room for a number of pausable requests, given back when dropped (the
/// slots not handed out as [`Slot`]s).
#[derive(Debug)]
pub struct Reservation {
    window: Arc<InvalidRequests>,
    slots: u32,
}

impl Reservation {
    /// How many requests it still has room for.
    pub fn len(&self) -> u32 {
        self.slots
    }

    /// Whether it has no room left.
    pub fn is_empty(&self) -> bool {
        self.slots == 0
    }

    /// Room for one request, held by the task that makes it (one request
    /// at a time) until its answer has been counted.
    pub fn take(&mut self) -> Option<Slot> {
        if self.slots == 0 {
            return None;
        }
        self.slots -= 1;
        Some(Slot {
            window: self.window.clone(),
        })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.window.give_back(self.slots);
    }
}

/// Room for one pausable request in flight; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    window: Arc<InvalidRequests>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.window.give_back(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_count_as_refusals_until_they_are_answered() {
        let window = Arc::new(InvalidRequests::new(10));
        assert_eq!(window.pause_at(), 8);
        let mut first = window.try_reserve(5).unwrap();
        assert_eq!(first.len(), 5);
        let second = window.try_reserve(5).unwrap();
        assert_eq!(second.len(), 3, "only 8 may be in flight");
        assert!(window.try_reserve(1).is_none());
        assert_eq!(window.paused(), Some(0));
        // One of them is refused: it stays counted after its slot is back.
        let slot = first.take().unwrap();
        window.record();
        drop(slot);
        drop(first);
        drop(second);
        assert_eq!(window.in_window(), 1);
        assert_eq!(window.try_reserve(100).unwrap().len(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_waits_until_the_oldest_refusal_is_ten_minutes_old() {
        let window = Arc::new(InvalidRequests::new(5));
        for _ in 0..4 {
            window.record();
        }
        assert_eq!(window.paused(), Some(4));
        assert!(window.try_reserve(1).is_none());
        let started = Instant::now();
        let reservation = window.reserve(3).await;
        assert_eq!(started.elapsed(), WINDOW);
        assert_eq!(reservation.len(), 3);
        assert_eq!(window.in_window(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_reservation_wakes_when_room_is_given_back() {
        let window = Arc::new(InvalidRequests::new(1));
        let held = window.try_reserve(1).unwrap();
        let waiting = {
            let window = window.clone();
            tokio::spawn(async move { window.reserve(1).await.len() })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(held);
        assert_eq!(waiting.await.unwrap(), 1);
    }
}
