//! Metric handles resolved once per label set.
//!
//! The `metrics` macros, given label values, build a key (allocating its label list) and look it up
//! in the recorder's registry on every call; on the request path that was about a tenth of the
//! server's CPU per request. A [`Handles`] resolves each label set once and then only bumps the
//! handle. Resolution happens on first use, so the recorder must be installed before the first
//! request (both binaries install theirs at start-up).

use std::sync::{Mutex, PoisonError};

/// Handles of type `H` by label set `K` (a few `&'static str`s or small numbers).
#[derive(Debug)]
pub(crate) struct Handles<K, H> {
    resolved: Mutex<Vec<(K, H)>>,
}

impl<K, H> Default for Handles<K, H> {
    fn default() -> Self {
        Self {
            resolved: Mutex::new(Vec::new()),
        }
    }
}

impl<K: PartialEq, H> Handles<K, H> {
    /// Runs `action` on the handle for `key`, resolving it with `resolve` the first time. The label
    /// sets are few (a fixed set of routes, methods, statuses and outcomes), so a linear search is
    /// enough.
    pub(crate) fn with(&self, key: K, resolve: impl FnOnce() -> H, action: impl FnOnce(&H)) {
        let mut resolved = self.resolved.lock().unwrap_or_else(PoisonError::into_inner);
        match resolved.iter().find(|(known, _)| *known == key) {
            Some((_, handle)) => action(handle),
            None => {
                let handle = resolve();
                action(&handle);
                resolved.push((key, handle));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_label_set_is_resolved_once() {
        // GIVEN an empty cache
        let handles = Handles::<&str, u32>::default();
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
}
