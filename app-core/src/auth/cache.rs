//! Tokens already verified, so that a client reusing its token pays one signature check, not one per
//! request. Bounded, and each entry good until the token's `exp` or [`MAX_AGE_SECS`] after it was
//! verified, whichever comes first, and only while the key that verified it is still held. Only
//! verified tokens enter it: garbage cannot fill it. When it is full, entries no longer good go
//! first, then the one verified longest ago, whatever its token's lifetime.
//!
//! A lookup (every request of a client that reuses its token) takes no lock and hashes no more than
//! it must: the token is hashed with a fast keyed hash (foldhash, seeded at random per process) to
//! find its entry, and the token itself is compared with the one the entry keeps, so two tokens that
//! share a hash are never taken for each other. The entries live in [`SHARDS`] maps, each replaced
//! whole by a writer (copy on write, under the writers' lock) and read through an [`ArcSwap`]: a
//! miss, which costs a signature check anyway, copies one shard.
//!
//! The compare is plain `==`, not constant-time: a hit compares every byte either way, and a
//! presented token only meets a cached one when the two share a 64-bit hash under this process's
//! secret seed, which a caller cannot aim for, so the time a mismatch takes tells nothing useful.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use foldhash::fast::{FixedState, RandomState};

use super::token::Verified;

/// How many verified tokens are kept (each keeps its token: about 1 KiB for a common access token,
/// at most [`super::MAX_TOKEN_BYTES`]).
pub(super) const CAPACITY: usize = 4096;

/// The longest an entry is kept, in seconds, however far away its token's `exp`: after that the
/// token is verified again (a long-lived token is not trusted on one check for years).
pub(super) const MAX_AGE_SECS: u64 = 300;

/// How many maps the entries are spread over (by hash): a writer copies one.
const SHARDS: usize = 16;

/// One shard: entries by the token's hash (already a hash, so hashed again cheaply).
type Shard<K> = HashMap<u64, Arc<Entry<K>>, FixedState>;

/// The verified tokens, each with the key (`K`) that verified it; `S` hashes the tokens.
#[derive(Debug)]
pub(super) struct VerifiedTokens<K, S = RandomState> {
    shards: [ArcSwap<Shard<K>>; SHARDS],
    /// Taken by writers only (insert, and dropping an entry that is no longer good).
    writer: Mutex<Writer>,
    hasher: S,
}

/// What writers keep: the entries' count and their order of arrival.
#[derive(Debug, Default)]
struct Writer {
    len: usize,
    /// The order number the next entry gets.
    next: u64,
    /// `(order, hash)` of the entries in order of arrival (also of some since dropped or replaced,
    /// skipped when met: see [`VerifiedTokens::drop_oldest`]).
    arrivals: VecDeque<(u64, u64)>,
}

#[derive(Debug)]
struct Entry<K> {
    token: Box<str>,
    verified: Verified,
    key: K,
    /// Seconds since the epoch: `exp`, or the time of the check plus [`MAX_AGE_SECS`] if sooner.
    good_until: u64,
    /// When it came in, relative to the other entries (the smallest goes first when full).
    order: u64,
}

impl<K> Default for VerifiedTokens<K> {
    fn default() -> Self {
        Self::with_hasher(RandomState::default())
    }
}

impl<K, S: BuildHasher> VerifiedTokens<K, S> {
    fn with_hasher(hasher: S) -> Self {
        Self {
            shards: std::array::from_fn(|_| ArcSwap::from_pointee(Shard::default())),
            writer: Mutex::default(),
            hasher,
        }
    }

    fn hash(&self, token: &str) -> u64 {
        self.hasher.hash_one(token)
    }

    fn shard(&self, hash: u64) -> &ArcSwap<Shard<K>> {
        &self.shards[hash as usize % SHARDS]
    }

    /// The verdict on `token`, if it was verified, is still good at `now` (seconds since the epoch)
    /// and its key is `still_held`. An entry that fails either test is dropped. Takes no lock.
    pub(super) fn get(
        &self,
        token: &str,
        now: u64,
        still_held: impl FnOnce(&K) -> bool,
    ) -> Option<Verified> {
        let hash = self.hash(token);
        let shard = self.shard(hash).load();
        let entry = shard.get(&hash).filter(|entry| *entry.token == *token)?;
        if now < entry.good_until && still_held(&entry.key) {
            return Some(entry.verified);
        }
        let order = entry.order;
        drop(shard);
        let mut writer = self.lock();
        self.remove_if(&mut writer, hash, |entry| entry.order == order);
        None
    }

    /// Keeps a verdict on `token` reached at `now` with `key`. When full, entries no longer good go
    /// first, then the one verified longest ago.
    pub(super) fn insert(&self, token: &str, verified: Verified, key: K, now: u64) {
        let good_until = verified.expires_at.min(now.saturating_add(MAX_AGE_SECS));
        if good_until <= now {
            return;
        }
        let hash = self.hash(token);
        let mut writer = self.lock();
        let replaces = self.shard(hash).load().contains_key(&hash);
        if !replaces && writer.len >= CAPACITY {
            self.drop_no_longer_good(&mut writer, now);
            if writer.len >= CAPACITY {
                self.drop_oldest(&mut writer);
            }
        }
        let order = writer.next;
        writer.next += 1;
        writer.arrivals.push_back((order, hash));
        if !replaces {
            writer.len += 1;
        }
        let entry = Arc::new(Entry {
            token: token.into(),
            verified,
            key,
            good_until,
            order,
        });
        self.rewrite(hash, |shard| {
            shard.insert(hash, entry);
        });
        if writer.arrivals.len() > 2 * CAPACITY {
            // Arrivals of entries since replaced or dropped: forget them.
            let shards: Vec<_> = self.shards.iter().map(ArcSwap::load_full).collect();
            writer.arrivals.retain(|&(order, hash)| {
                shards[hash as usize % SHARDS]
                    .get(&hash)
                    .is_some_and(|entry| entry.order == order)
            });
        }
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the shard of `hash` with a copy changed by `change` (the caller holds the writers'
    /// lock, so no change is lost).
    fn rewrite(&self, hash: u64, change: impl FnOnce(&mut Shard<K>)) {
        let shard = self.shard(hash);
        let mut copy = Shard::clone(&shard.load());
        change(&mut copy);
        shard.store(Arc::new(copy));
    }

    /// Drops the entry under `hash` if `matches` says so; returns whether one was.
    fn remove_if(
        &self,
        writer: &mut Writer,
        hash: u64,
        matches: impl FnOnce(&Entry<K>) -> bool,
    ) -> bool {
        let found = self
            .shard(hash)
            .load()
            .get(&hash)
            .is_some_and(|e| matches(e));
        if found {
            self.rewrite(hash, |shard| {
                shard.remove(&hash);
            });
            writer.len -= 1;
        }
        found
    }

    fn drop_no_longer_good(&self, writer: &mut Writer, now: u64) {
        for shard in &self.shards {
            let current = shard.load();
            if current.values().all(|entry| now < entry.good_until) {
                continue;
            }
            let mut kept = Shard::clone(&current);
            kept.retain(|_, entry| now < entry.good_until);
            writer.len -= current.len() - kept.len();
            shard.store(Arc::new(kept));
        }
    }

    /// Drops the entry that arrived first among those still kept.
    fn drop_oldest(&self, writer: &mut Writer) {
        while let Some((order, hash)) = writer.arrivals.pop_front() {
            if self.remove_if(writer, hash, |entry| entry.order == order) {
                return;
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let counted = self.shards.iter().map(|shard| shard.load().len()).sum();
        assert_eq!(self.lock().len, counted, "the writers' count is true");
        counted
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasherDefault, Hasher};

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
        cache.insert("token", verdict(100), "A", 50);

        assert_eq!(cache.get("token", 99, held), Some(verdict(100)));
        assert_eq!(cache.get("token", 100, held), None);
        assert_eq!(cache.get("other", 50, held), None);
    }

    #[test]
    fn a_long_lived_token_is_kept_for_the_maximum_age_only() {
        let cache = cache();
        let now = 1_000;
        cache.insert("ten years", verdict(now + 10 * 365 * 86_400), "A", now);

        assert!(
            cache
                .get("ten years", now + MAX_AGE_SECS - 1, held)
                .is_some()
        );
        assert_eq!(cache.get("ten years", now + MAX_AGE_SECS, held), None);
        assert_eq!(cache.len(), 0, "dropped once no longer good");
    }

    #[test]
    fn an_entry_whose_key_is_no_longer_held_is_a_miss_and_is_dropped() {
        let cache = cache();
        cache.insert("token", verdict(100), "B", 50);

        assert_eq!(cache.get("token", 60, held), None);
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.get("token", 60, |_| true), None, "gone, not hidden");
    }

    #[test]
    fn an_expired_verdict_is_not_kept() {
        let cache = cache();
        cache.insert("late", verdict(10), "A", 10);
        assert_eq!(cache.len(), 0);
    }

    /// A hasher under which every token has the same hash.
    #[derive(Default)]
    struct Colliding;

    impl Hasher for Colliding {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn a_token_that_shares_a_verified_tokens_hash_is_not_taken_for_it() {
        let cache =
            VerifiedTokens::<&str, _>::with_hasher(BuildHasherDefault::<Colliding>::default());
        cache.insert("verified", verdict(100), "A", 50);

        assert_eq!(cache.get("forged", 60, held), None);
        assert_eq!(cache.get("verified", 60, held), Some(verdict(100)));

        // A second verified token with the same hash takes the place of the first.
        cache.insert("also verified", verdict(90), "A", 50);
        assert_eq!(cache.get("also verified", 60, held), Some(verdict(90)));
        assert_eq!(cache.get("verified", 60, held), None);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_lookup_does_not_wait_for_a_writer() {
        let cache = cache();
        cache.insert("token", verdict(100), "A", 50);
        let writing = cache.lock();

        let verdict_seen = std::thread::scope(|scope| {
            let reader = scope.spawn(|| cache.get("token", 60, held));
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while !reader.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let finished = reader.is_finished();
            drop(writing);
            (finished, reader.join().unwrap())
        });

        assert_eq!(verdict_seen, (true, Some(verdict(100))));
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity_and_drops_the_oldest_verdict_whatever_its_lifetime()
    {
        let cache = cache();
        let nth = |i: u64| i.to_string();
        let now = 1_000;
        // The first entry is the longest-lived token; every later one expires in a minute.
        cache.insert(&nth(0), verdict(now + 10 * 365 * 86_400), "A", now);
        for i in 1..CAPACITY as u64 {
            cache.insert(&nth(i), verdict(now + 60), "A", now);
        }
        cache.insert(&nth(u64::MAX), verdict(now + 60), "A", now);

        assert_eq!(cache.len(), CAPACITY);
        assert_eq!(cache.get(&nth(0), now, held), None, "the oldest went");
        assert!(cache.get(&nth(1), now, held).is_some());
        assert!(cache.get(&nth(u64::MAX), now, held).is_some());

        // Then the next oldest, and so on: the order holds over replacements.
        cache.insert(&nth(1), verdict(now + 60), "A", now);
        cache.insert("newer", verdict(now + 60), "A", now);
        assert_eq!(cache.len(), CAPACITY);
        assert!(
            cache.get(&nth(1), now, held).is_some(),
            "renewed, so not oldest"
        );
        assert_eq!(cache.get(&nth(2), now, held), None);
    }

    #[test]
    fn when_full_the_verdicts_no_longer_good_go_before_the_oldest() {
        let cache = cache();
        let now = 1_000;
        cache.insert("oldest", verdict(now + 600), "A", now);
        for i in 1..CAPACITY as u64 {
            cache.insert(&i.to_string(), verdict(now + 10), "A", now);
        }

        cache.insert("later", verdict(now + 600), "A", now + 20);

        assert_eq!(cache.len(), 2);
        assert!(cache.get("oldest", now + 20, held).is_some());
    }
}
