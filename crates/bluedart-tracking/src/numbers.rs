//! Tests only: a small generator of pseudo-random numbers (xorshift), the same every run, for
//! the tests that compare a word-at-a-time routine with a byte-by-byte one over many inputs.

/// The numbers from `seed` (not zero), one a call.
pub(crate) fn numbers(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
