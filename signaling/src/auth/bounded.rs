//! A map with a cap on its size that forgets its oldest entries first, so state
//! kept per source address or per nonce cannot grow without bound however many
//! distinct keys an attacker sends. "Oldest" means first inserted: updating an
//! entry does not make it younger.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A `HashMap` of at most `capacity` entries; inserting a new key into a full map
/// evicts the entry inserted longest ago.
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    entries: HashMap<K, (V, u64)>,
    /// Keys in insertion order with the sequence number they were inserted with;
    /// an item whose number no longer matches its entry is a leftover of a removal.
    order: VecDeque<(K, u64)>,
    next_seq: u64,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(value, _)| value)
    }

    /// The entry for `key`, inserted with `make` if absent (which may evict the
    /// oldest entry).
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if !self.entries.contains_key(&key) {
            while self.entries.len() >= self.capacity && self.evict_oldest() {}
            self.compact_order();
            self.order.push_back((key.clone(), self.next_seq));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let (value, _) = self.entries.entry(key).or_insert_with(|| (make(), seq));
        value
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.entries.remove(key).map(|(value, _)| value)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Removes the entry inserted longest ago; false if there was none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, seq)) = self.order.pop_front() {
            if self
                .entries
                .get(&key)
                .is_some_and(|(_, current)| *current == seq)
            {
                self.entries.remove(&key);
                return true;
            }
        }
        false
    }

    /// Drops leftovers of removals once they outnumber the live entries.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.capacity {
            let entries = &self.entries;
            self.order
                .retain(|(key, seq)| entries.get(key).is_some_and(|(_, current)| current == seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_forgets_the_entry_inserted_first() {
        let mut map = BoundedMap::new(2);
        *map.get_or_insert_with("a", || 1) += 10;
        map.get_or_insert_with("b", || 2);
        map.get_or_insert_with("c", || 3);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&"a"), None);
        assert_eq!(map.get(&"b"), Some(&2));
        assert_eq!(map.get(&"c"), Some(&3));
    }

    #[test]
    fn removing_and_reinserting_keys_keeps_the_bookkeeping_bounded() {
        let mut map = BoundedMap::new(4);
        for round in 0..1000 {
            map.get_or_insert_with(round % 3, || round);
            map.remove(&(round % 3));
        }
        assert!(map.order.len() <= 2 * 4 + 1);
        assert_eq!(map.len(), 0);
    }
}
