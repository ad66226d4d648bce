//! Injected randomness. The engine never seeds itself: the `random` strategy draws
//! from a `RandomSource` the caller provides, so a test replays exactly.

/// A source of uniformly distributed 64-bit numbers.
pub trait RandomSource {
    /// The next number.
    fn next_u64(&mut self) -> u64;

    /// A number in `0..bound` (`bound` must not be zero).
    fn below(&mut self, bound: usize) -> usize {
        // Lemire's multiply-shift: the high half of a 64×64 product is uniform enough here.
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

/// SplitMix64: a tiny, fast, seedable generator, good enough to spread offers.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator that yields the same sequence for the same seed.
    pub fn seeded(seed: u64) -> Self {
        Self { state: seed }
    }
}

impl RandomSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_replays_the_same_sequence() {
        let mut a = SplitMix64::seeded(7);
        let mut b = SplitMix64::seeded(7);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
    }

    #[test]
    fn below_stays_in_range_and_reaches_every_value() {
        let mut rng = SplitMix64::seeded(1);
        let mut hits = [0u32; 3];
        for _ in 0..300 {
            hits[rng.below(3)] += 1;
        }
        assert!(hits.iter().all(|&h| h > 50), "{hits:?}");
    }
}
