//! A small in-process cache with a time-to-live and a size bound, used to keep JetStream KV
//! lookups off the hot path (key metadata by key id, edge existence).
//!
//! Invalidation is race-free against lookups in flight: a caller reads [`TtlCache::epoch`]
//! before its KV get and stores the result with [`TtlCache::insert_if`], which drops it when an
//! invalidation happened in between (so a value read before a revoke is never cached after it).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    max: usize,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    map: HashMap<K, (Instant, V)>,
    epoch: u64,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// Entries live `ttl`; at most `max` are kept.
    pub fn new(ttl: Duration, max: usize) -> TtlCache<K, V> {
        TtlCache {
            ttl,
            max: max.max(1),
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                epoch: 0,
            }),
        }
    }

    /// A fresh value, if any.
    pub fn get(&self, k: &K) -> Option<V> {
        let inner = self.inner.lock().ok()?;
        match inner.map.get(k) {
            Some((at, v)) if at.elapsed() < self.ttl => Some(v.clone()),
            _ => None,
        }
    }

    /// Read before the lookup whose result goes to [`TtlCache::insert_if`].
    pub fn epoch(&self) -> u64 {
        self.inner.lock().map(|i| i.epoch).unwrap_or(u64::MAX)
    }

    /// Store `v` unless an invalidation happened since `epoch` was read.
    pub fn insert_if(&self, epoch: u64, k: K, v: V) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.epoch != epoch {
            return;
        }
        if inner.map.len() >= self.max && !inner.map.contains_key(&k) {
            let ttl = self.ttl;
            inner.map.retain(|_, (at, _)| at.elapsed() < ttl);
            if inner.map.len() >= self.max {
                inner.map.clear();
            }
        }
        inner.map.insert(k, (Instant::now(), v));
    }

    /// Forget `k` (and refuse results of lookups that started before this call).
    pub fn invalidate(&self, k: &K) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.map.remove(k);
            inner.epoch = inner.epoch.wrapping_add(1);
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_bound_and_invalidation() {
        let c: TtlCache<String, u32> = TtlCache::new(Duration::from_millis(50), 2);
        let e = c.epoch();
        c.insert_if(e, "a".into(), 1);
        assert_eq!(c.get(&"a".into()), Some(1));
        // An invalidation between the epoch read and the insert drops the insert.
        let e = c.epoch();
        c.invalidate(&"a".into());
        c.insert_if(e, "a".into(), 2);
        assert_eq!(c.get(&"a".into()), None);
        // Bounded.
        let e = c.epoch();
        for (i, k) in ["x", "y", "z"].iter().enumerate() {
            c.insert_if(e, k.to_string(), i as u32);
        }
        assert!(c.len() <= 2);
        assert_eq!(c.get(&"z".into()), Some(2));
        // Expires.
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get(&"z".into()), None);
    }
}
