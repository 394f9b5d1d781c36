//! Metric handles resolved once per label set, then used without a lock.
//!
//! The `metrics` macros, given label values, build a key (allocating its label list) and look it up
//! in the recorder's registry on every call; on the request path that was about a tenth of the
//! server's CPU per request. A [`Handles`] resolves each label set once and then only bumps the
//! handle. Resolution happens on first use, so the recorder must be installed before the first
//! request (both front doors install theirs at start-up).
//!
//! Which label sets occur is only known as they occur (a status is whatever the response says), and a
//! series must not be registered before it is recorded (Prometheus would list it at zero). So the
//! handles live in a row of write-once slots: a use reads the filled slots in order, one atomic load
//! each, and takes no lock; the first use of a label set fills the next free slot. Worker threads
//! answering at once therefore never wait on each other, except while a new label set is resolved.

use std::sync::OnceLock;

/// Handles of type `H` for up to `N` label sets `K` (a few `&'static str`s or small numbers).
#[derive(Debug)]
pub(crate) struct Handles<K, H, const N: usize> {
    slots: [OnceLock<(K, H)>; N],
}

impl<K, H, const N: usize> Default for Handles<K, H, N> {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl<K: PartialEq + Copy, H, const N: usize> Handles<K, H, N> {
    /// Runs `action` on the handle for `key`, resolving it with `resolve` the first time. Should more
    /// than `N` label sets occur, the others are resolved on every use: slower, but recorded alike.
    pub(crate) fn with(&self, key: K, resolve: impl FnOnce() -> H, action: impl FnOnce(&H)) {
        let mut resolve = Some(resolve);
        for slot in &self.slots {
            // Fills the slot only if it is free; `resolve` runs at most once, since the slot it
            // fills then holds `key`.
            let (known, handle) =
                slot.get_or_init(|| (key, resolve.take().expect("resolved at most once")()));
            if *known == key {
                return action(handle);
            }
        }
        if let Some(resolve) = resolve {
            action(&resolve());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn each_label_set_is_resolved_once() {
        // GIVEN no handles yet
        let handles = Handles::<&str, u32, 4>::default();
        let mut resolved = Vec::new();
        let mut seen = Vec::new();

        // WHEN three uses touch two label sets
        for key in ["a", "b", "a"] {
            handles.with(
                key,
                || {
                    resolved.push(key);
                    resolved.len() as u32
                },
                |handle| seen.push(*handle),
            );
        }

        // THEN each set was resolved once and later uses got the same handle
        assert_eq!(resolved, ["a", "b"]);
        assert_eq!(seen, [1, 2, 1]);
    }

    #[test]
    fn label_sets_beyond_the_slots_are_still_recorded() {
        // GIVEN room for one label set, taken by "a"
        let handles = Handles::<&str, &str, 1>::default();
        handles.with("a", || "handle a", |_| {});
        let mut seen = Vec::new();

        // WHEN "b" is used twice
        for _ in 0..2 {
            handles.with("b", || "handle b", |handle| seen.push(*handle));
        }

        // THEN each use got b's handle, and "a" keeps its slot
        assert_eq!(seen, ["handle b", "handle b"]);
        handles.with(
            "a",
            || "resolved again",
            |handle| assert_eq!(*handle, "handle a"),
        );
    }

    #[test]
    fn threads_racing_on_the_same_label_sets_resolve_each_once() {
        // GIVEN one set of handles shared by eight threads
        let handles = Handles::<u8, u8, 8>::default();
        let resolutions = AtomicUsize::new(0);
        let uses = AtomicUsize::new(0);

        // WHEN each thread uses three label sets a thousand times
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for i in 0..3000 {
                        let key = (i % 3) as u8;
                        handles.with(
                            key,
                            || {
                                resolutions.fetch_add(1, Ordering::Relaxed);
                                key
                            },
                            |handle| {
                                assert_eq!(*handle, key);
                                uses.fetch_add(1, Ordering::Relaxed);
                            },
                        );
                    }
                });
            }
        });

        // THEN every use found its own handle, and each set was resolved once
        assert_eq!(uses.load(Ordering::Relaxed), 8 * 3000);
        assert_eq!(resolutions.load(Ordering::Relaxed), 3);
    }
}
