//! Tokens already verified, so that a client reusing its token pays one signature check, not one per
//! request. Keyed by the token's SHA-256 (32 bytes, whatever the token's length), bounded, and each
//! entry good until the token's `exp` at the latest. Only verified tokens enter it: garbage cannot
//! fill it.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::token::Verified;

/// How many verified tokens are kept (about 64 bytes each).
pub(super) const CAPACITY: usize = 4096;

type TokenHash = [u8; 32];

/// The verified tokens, by hash.
#[derive(Debug, Default)]
pub(super) struct VerifiedTokens {
    entries: Mutex<HashMap<TokenHash, Verified>>,
}

impl VerifiedTokens {
    /// The hash a token is kept under.
    pub(super) fn hash(token: &str) -> TokenHash {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The verdict on the token with this hash, if it was verified and has not expired at `now`
    /// (seconds since the epoch).
    pub(super) fn get(&self, hash: &TokenHash, now: u64) -> Option<Verified> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(hash).copied().filter(|v| now < v.expires_at)
    }

    /// Keeps a verdict until its token expires. When full, expired entries go first, then the entry
    /// closest to expiry.
    pub(super) fn insert(&self, hash: TokenHash, verified: Verified, now: u64) {
        if verified.expires_at <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&hash) {
            entries.retain(|_, v| now < v.expires_at);
            if entries.len() >= CAPACITY
                && let Some(soonest) = entries
                    .iter()
                    .min_by_key(|(_, v)| v.expires_at)
                    .map(|(k, _)| *k)
            {
                entries.remove(&soonest);
            }
        }
        entries.insert(hash, verified);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
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

    #[test]
    fn an_entry_is_good_until_its_expiry_only() {
        let cache = VerifiedTokens::default();
        let hash = VerifiedTokens::hash("token");
        cache.insert(hash, verdict(100), 50);

        assert_eq!(cache.get(&hash, 99), Some(verdict(100)));
        assert_eq!(cache.get(&hash, 100), None);
        assert_eq!(cache.get(&VerifiedTokens::hash("other"), 50), None);
    }

    #[test]
    fn an_expired_verdict_is_not_kept() {
        let cache = VerifiedTokens::default();
        cache.insert(VerifiedTokens::hash("late"), verdict(10), 10);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity_and_drops_the_soonest_expiry_first() {
        let cache = VerifiedTokens::default();
        let now = 1_000;
        for i in 0..CAPACITY as u64 {
            cache.insert(
                VerifiedTokens::hash(&i.to_string()),
                verdict(now + 10 + i),
                now,
            );
        }
        cache.insert(VerifiedTokens::hash("new"), verdict(now + 50_000), now);

        assert_eq!(cache.len(), CAPACITY);
        assert_eq!(cache.get(&VerifiedTokens::hash("0"), now), None);
        assert!(cache.get(&VerifiedTokens::hash("1"), now).is_some());
        assert!(cache.get(&VerifiedTokens::hash("new"), now).is_some());
    }
}
