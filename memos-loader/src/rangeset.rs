//! A set of record indices kept as merged half-open ranges, so that the acknowledged
//! records of an import of millions take a few bytes when they arrive (mostly) in order.

use std::collections::BTreeMap;

/// Record indices as disjoint, non-adjacent half-open ranges `[start, end)`; saved as
/// `[start, end)` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<[u64; 2]>", into = "Vec<[u64; 2]>")]
pub(crate) struct RangeSet {
    /// start -> end; ranges never overlap or touch.
    ranges: BTreeMap<u64, u64>,
}

impl RangeSet {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Builds a set from `[start, end)` pairs (in any order, possibly overlapping).
    pub(crate) fn from_pairs(pairs: &[[u64; 2]]) -> Self {
        let mut set = Self::new();
        for &[start, end] in pairs {
            set.insert_range(start, end);
        }
        set
    }

    /// The ranges as `[start, end)` pairs, in order.
    pub(crate) fn to_pairs(&self) -> Vec<[u64; 2]> {
        self.ranges.iter().map(|(&s, &e)| [s, e]).collect()
    }

    pub(crate) fn contains(&self, index: u64) -> bool {
        self.ranges
            .range(..=index)
            .next_back()
            .is_some_and(|(_, &end)| index < end)
    }

    pub(crate) fn insert(&mut self, index: u64) {
        self.insert_range(index, index.saturating_add(1));
    }

    pub(crate) fn insert_range(&mut self, mut start: u64, mut end: u64) {
        if start >= end {
            return;
        }
        // Absorb a range that starts before `start` and reaches it.
        if let Some((&s, &e)) = self.ranges.range(..=start).next_back() {
            if e >= start {
                start = s;
                end = end.max(e);
            }
        }
        // Absorb every range that starts inside (or right at the end of) the new one.
        let absorbed: Vec<(u64, u64)> = self
            .ranges
            .range(start..=end)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in absorbed {
            self.ranges.remove(&s);
            end = end.max(e);
        }
        self.ranges.insert(start, end);
    }

    /// How many indices the set holds.
    pub(crate) fn len(&self) -> u64 {
        self.ranges.iter().map(|(s, e)| e - s).sum()
    }

    /// How many indices below `limit` the set holds.
    pub(crate) fn count_below(&self, limit: u64) -> u64 {
        self.ranges
            .iter()
            .take_while(|(&s, _)| s < limit)
            .map(|(&s, &e)| e.min(limit) - s)
            .sum()
    }

    /// The indices in `[0, limit)` that are *not* in the set, as ranges.
    pub(crate) fn gaps_below(&self, limit: u64) -> RangeSet {
        let mut gaps = RangeSet::new();
        let mut next = 0;
        for (&s, &e) in &self.ranges {
            if s >= limit {
                break;
            }
            if s > next {
                gaps.ranges.insert(next, s);
            }
            next = e;
        }
        if next < limit {
            gaps.ranges.insert(next, limit);
        }
        gaps
    }

    /// Whether every index in `[0, limit)` is in the set.
    pub(crate) fn covers(&self, limit: u64) -> bool {
        limit == 0 || self.ranges.get(&0).is_some_and(|&e| e >= limit)
    }
}

impl From<Vec<[u64; 2]>> for RangeSet {
    fn from(pairs: Vec<[u64; 2]>) -> Self {
        Self::from_pairs(&pairs)
    }
}

impl From<RangeSet> for Vec<[u64; 2]> {
    fn from(set: RangeSet) -> Self {
        set.to_pairs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_merge_neighbours() {
        let mut set = RangeSet::new();
        for i in [0, 2, 1, 5, 4, 10] {
            set.insert(i);
        }
        assert_eq!(set.to_pairs(), vec![[0, 3], [4, 6], [10, 11]]);
        set.insert(3);
        assert_eq!(set.to_pairs(), vec![[0, 6], [10, 11]]);
        set.insert_range(7, 12);
        assert_eq!(set.to_pairs(), vec![[0, 6], [7, 12]]);
        assert!(set.contains(5) && !set.contains(6) && set.contains(11) && !set.contains(12));
        assert_eq!(set.len(), 11);
        assert_eq!(set.count_below(8), 7);
        assert_eq!(set.gaps_below(14).to_pairs(), vec![[6, 7], [12, 14]]);
        assert!(!set.covers(12));
        set.insert(6);
        assert!(set.covers(12) && !set.covers(13));
        assert_eq!(RangeSet::from_pairs(&set.to_pairs()), set);
    }

    #[test]
    fn overlapping_pairs_are_normalised() {
        let set = RangeSet::from_pairs(&[[5, 9], [0, 3], [2, 6], [20, 20]]);
        assert_eq!(set.to_pairs(), vec![[0, 9]]);
        assert_eq!(RangeSet::new().gaps_below(3).to_pairs(), vec![[0, 3]]);
        assert!(RangeSet::new().covers(0));
    }
}
