//! Tokens already verified, so that a client reusing its token pays one signature check, not one per
//! request. Keyed by the token's SHA-256 (32 bytes, whatever the token's length), bounded, and each
//! entry good until the token's `exp` or [`MAX_AGE_SECS`] after it was verified, whichever comes
//! first, and only while the key that verified it is still held. Only verified tokens enter it:
//! garbage cannot fill it. When it is full, the entry verified longest ago goes first, whatever its
//! token's lifetime.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::token::Verified;

/// How many verified tokens are kept (about 100 bytes each).
pub(super) const CAPACITY: usize = 4096;

/// The longest an entry is kept, in seconds, however far away its token's `exp`: after that the
/// token is verified again (a long-lived token is not trusted on one check for years).
pub(super) const MAX_AGE_SECS: u64 = 300;

type TokenHash = [u8; 32];

/// The verified tokens, by hash, each with the key (`K`) that verified it.
#[derive(Debug)]
pub(super) struct VerifiedTokens<K> {
    state: Mutex<State<K>>,
}

#[derive(Debug)]
struct State<K> {
    entries: HashMap<TokenHash, Entry<K>>,
    /// The order number the next entry gets.
    next: u64,
}

#[derive(Debug)]
struct Entry<K> {
    verified: Verified,
    key: K,
    /// Seconds since the epoch: `exp`, or the time of the check plus [`MAX_AGE_SECS`] if sooner.
    good_until: u64,
    /// When it came in, relative to the other entries (the smallest goes first when full).
    order: u64,
}

impl<K> Default for VerifiedTokens<K> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                entries: HashMap::new(),
                next: 0,
            }),
        }
    }
}

/// The hash a token is kept under.
pub(super) fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

impl<K> VerifiedTokens<K> {
    /// The verdict on the token with this hash, if it was verified, is still good at `now` (seconds
    /// since the epoch) and its key is `still_held`. An entry that fails either test is dropped.
    pub(super) fn get(
        &self,
        hash: &TokenHash,
        now: u64,
        still_held: impl FnOnce(&K) -> bool,
    ) -> Option<Verified> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let entry = state.entries.get(hash)?;
        if now < entry.good_until && still_held(&entry.key) {
            Some(entry.verified)
        } else {
            state.entries.remove(hash);
            None
        }
    }

    /// Keeps a verdict reached at `now` with `key`. When full, entries no longer good go first, then
    /// the one verified longest ago.
    pub(super) fn insert(&self, hash: TokenHash, verified: Verified, key: K, now: u64) {
        let good_until = verified.expires_at.min(now.saturating_add(MAX_AGE_SECS));
        if good_until <= now {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let entries = &mut state.entries;
        if entries.len() >= CAPACITY && !entries.contains_key(&hash) {
            entries.retain(|_, entry| now < entry.good_until);
            if entries.len() >= CAPACITY
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.order)
                    .map(|(hash, _)| *hash)
            {
                entries.remove(&oldest);
            }
        }
        let order = state.next;
        state.next += 1;
        state.entries.insert(
            hash,
            Entry {
                verified,
                key,
                good_until,
                order,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.state.lock().unwrap().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(expires_at: u64) -> Verified {
        Verified {
            expires_at,
            has_scope: true,
        }
    }

    /// A cache whose entries' key is a name; "A" is the key held.
    fn cache() -> VerifiedTokens<&'static str> {
        VerifiedTokens::default()
    }

    fn held(key: &&str) -> bool {
        *key == "A"
    }

    #[test]
    fn an_entry_is_good_until_its_expiry_only() {
        let cache = cache();
        let token = hash("token");
        cache.insert(token, verdict(100), "A", 50);

        assert_eq!(cache.get(&token, 99, held), Some(verdict(100)));
        assert_eq!(cache.get(&token, 100, held), None);
        assert_eq!(cache.get(&hash("other"), 50, held), None);
    }

    #[test]
    fn a_long_lived_token_is_kept_for_the_maximum_age_only() {
        let cache = cache();
        let token = hash("ten years");
        let now = 1_000;
        cache.insert(token, verdict(now + 10 * 365 * 86_400), "A", now);

        assert!(cache.get(&token, now + MAX_AGE_SECS - 1, held).is_some());
        assert_eq!(cache.get(&token, now + MAX_AGE_SECS, held), None);
        assert_eq!(cache.len(), 0, "dropped once no longer good");
    }

    #[test]
    fn an_entry_whose_key_is_no_longer_held_is_a_miss_and_is_dropped() {
        let cache = cache();
        let token = hash("token");
        cache.insert(token, verdict(100), "B", 50);

        assert_eq!(cache.get(&token, 60, held), None);
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.get(&token, 60, |_| true), None, "gone, not hidden");
    }

    #[test]
    fn an_expired_verdict_is_not_kept() {
        let cache = cache();
        cache.insert(hash("late"), verdict(10), "A", 10);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity_and_drops_the_oldest_verdict_whatever_its_lifetime()
    {
        let cache = cache();
        let nth = |i: u64| hash(&i.to_string());
        let now = 1_000;
        // The first entry is the longest-lived token; every later one expires in a minute.
        cache.insert(nth(0), verdict(now + 10 * 365 * 86_400), "A", now);
        for i in 1..CAPACITY as u64 {
            cache.insert(nth(i), verdict(now + 60), "A", now);
        }
        cache.insert(nth(u64::MAX), verdict(now + 60), "A", now);

        assert_eq!(cache.len(), CAPACITY);
        assert_eq!(cache.get(&nth(0), now, held), None, "the oldest went");
        assert!(cache.get(&nth(1), now, held).is_some());
        assert!(cache.get(&nth(u64::MAX), now, held).is_some());
    }
}
