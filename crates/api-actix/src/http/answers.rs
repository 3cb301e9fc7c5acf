//! Serialized answers of the hot reads (the show list, seat maps), kept while the seat
//! feed says nothing they show has changed. A 1,000-seat map is 100 kB of JSON: writing
//! it again for every request would cost more than everything else the request does.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

/// Kept answers per kind; past it the kind starts over (a few shows are hot at a time).
const MAX_ENTRIES: usize = 256;
/// Also bounds what depends on the clock alone: a show leaves an `upcoming` list at most
/// this late.
const MAX_AGE: Duration = Duration::from_secs(1);

/// The bytes of a list's 200 answer, and its total.
#[derive(Clone)]
pub struct Answer {
    pub body: Bytes,
    pub total: i64,
}

struct Kept<V, A> {
    version: V,
    at: Instant,
    answer: A,
}

/// Answers `A` by key `K`, each valid at its version `V`.
struct Answers<K, V, A> {
    entries: Mutex<HashMap<K, Kept<V, A>>>,
}

impl<K, V, A> Default for Answers<K, V, A> {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
        }
    }
}

impl<K: Hash + Eq, V: PartialEq, A: Clone> Answers<K, V, A> {
    fn get(&self, key: &K, version: &V) -> Option<A> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let kept = entries.get(key)?;
        (kept.version == *version && kept.at.elapsed() < MAX_AGE).then(|| kept.answer.clone())
    }

    fn put(&self, key: K, version: V, answer: A) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(
            key,
            Kept {
                version,
                at: Instant::now(),
                answer,
            },
        );
    }
}

#[derive(Default)]
pub struct AnswerCache {
    /// A seat map's JSON by show, at the show's seat version.
    seat_maps: Answers<i64, (u64, u64), Bytes>,
    /// By the list's query, at the feed's version.
    show_lists: Answers<String, u64, Answer>,
}

impl AnswerCache {
    pub fn seat_map(&self, show: i64, version: Option<(u64, u64)>) -> Option<Bytes> {
        self.seat_maps.get(&show, &version?)
    }

    /// Keeps a seat map's JSON computed after `version` was read.
    pub fn keep_seat_map(&self, show: i64, version: Option<(u64, u64)>, json: Bytes) {
        if let Some(version) = version {
            self.seat_maps.put(show, version, json);
        }
    }

    pub fn show_list(&self, query: &str, version: Option<u64>) -> Option<Answer> {
        self.show_lists.get(&query.to_owned(), &version?)
    }

    /// Keeps an answer computed after `version` was read.
    pub fn keep_show_list(&self, query: String, version: Option<u64>, answer: Answer) {
        if let Some(version) = version {
            self.show_lists.put(query, version, answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &'static str) -> Answer {
        Answer {
            body: Bytes::from_static(text.as_bytes()),
            total: 1,
        }
    }

    #[test]
    fn an_answer_is_reused_at_its_version_only() {
        let cache = AnswerCache::default();
        cache.keep_seat_map(1, Some((5, 0)), Bytes::from_static(b"a"));
        assert_eq!(cache.seat_map(1, Some((5, 0))).unwrap(), "a");
        assert!(cache.seat_map(1, Some((6, 0))).is_none(), "a newer event");
        assert!(
            cache.seat_map(1, Some((5, 1))).is_none(),
            "a catalogue change"
        );
        assert!(
            cache.seat_map(1, None).is_none(),
            "the feed does not follow"
        );
        assert!(cache.seat_map(2, Some((5, 0))).is_none(), "another show");
        cache.keep_seat_map(3, None, Bytes::from_static(b"b"));
        assert!(
            cache.seat_map(3, Some((0, 0))).is_none(),
            "kept without a version"
        );
    }

    #[test]
    fn lists_are_kept_per_query_and_bounded() {
        let cache = AnswerCache::default();
        for i in 0..MAX_ENTRIES + 1 {
            cache.keep_show_list(format!("q{i}"), Some(7), answer("x"));
        }
        assert!(
            cache.show_list("q0", Some(7)).is_none(),
            "started over when full"
        );
        assert!(cache
            .show_list(&format!("q{MAX_ENTRIES}"), Some(7))
            .is_some());
        assert!(cache
            .show_list(&format!("q{MAX_ENTRIES}"), Some(8))
            .is_none());
    }
}
