//! Stable sorting, written here rather than taken from the standard library: its stable sort
//! compiles anew for every element type and comparison, about 4 KB of wasm each (the last
//! three, 14 KB raw, were 9.5 KB of the gzipped full worker). Here an input already in order,
//! as Blue Dart's scans and a snapshot's history nearly always are, costs one pass; any other
//! is sorted as positions, merged through a comparison behind a reference (compiled once), and
//! only the check and the reordering are per type.

use std::cmp::Ordering;

/// Sorts `items` stably by the key `key` gives each.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `items` stably by `compare`.
pub fn sort_by<T>(items: &mut [T], compare: impl Fn(&T, &T) -> Ordering) {
    if items
        .windows(2)
        .all(|pair| compare(&pair[0], &pair[1]) != Ordering::Greater)
    {
        return;
    }
    let order = positions(items.len(), &|a, b| compare(&items[a], &items[b]));
    permute(items, order);
}

/// A number for each of `keys`, the same for equal keys and different for different ones (all
/// below `keys.len()`): what a hash map would group, by one sort, so that the wasm needs no
/// hash table code.
pub fn group_numbers<K: Ord>(keys: &[K]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    sort_by(&mut order, |a, b| keys[*a].cmp(&keys[*b]));
    let mut numbers = vec![0; keys.len()];
    let mut group = 0;
    for (rank, &at) in order.iter().enumerate() {
        if rank > 0 && keys[order[rank - 1]] != keys[at] {
            group += 1;
        }
        numbers[at] = group;
    }
    numbers
}

/// `0..len` sorted stably by `compare`: a bottom-up merge sort.
fn positions(len: usize, compare: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut merged = vec![0; len];
    let mut width = 1;
    while width < len {
        let mut start = 0;
        while start < len {
            let middle = (start + width).min(len);
            let end = (start + 2 * width).min(len);
            let (mut left, mut right) = (start, middle);
            for slot in &mut merged[start..end] {
                // Equal keys take the left run's first: that keeps the sort stable.
                let take_left = right == end
                    || (left < middle && compare(order[left], order[right]) != Ordering::Greater);
                *slot = if take_left {
                    left += 1;
                    order[left - 1]
                } else {
                    right += 1;
                    order[right - 1]
                };
            }
            start = end;
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    order
}

/// Moves the item at `order[i]` to `i`, for every `i`, by swaps in place, one cycle of the
/// permutation at a time: each swap puts one item where it belongs, so the work is linear.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..items.len() {
        let mut at = start;
        while order[at] != DONE {
            let from = std::mem::replace(&mut order[at], DONE);
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_key_keeping_the_order_of_equal_keys() {
        let mut items = vec![(3, "a"), (1, "b"), (3, "c"), (2, "d"), (1, "e")];
        sort_by_key(&mut items, |(key, _)| *key);
        assert_eq!(items, [(1, "b"), (1, "e"), (2, "d"), (3, "a"), (3, "c")]);
    }

    #[test]
    fn sorts_two_and_leaves_fewer_alone() {
        // Moved, not cloned: the items need not be Clone.
        let mut two = vec![String::from("b"), String::from("a")];
        sort_by(&mut two, Ord::cmp);
        assert_eq!(two, ["a", "b"]);
        let mut one = vec![String::from("z")];
        sort_by(&mut one, Ord::cmp);
        assert_eq!(one, ["z"]);
        let mut none: Vec<String> = Vec::new();
        sort_by(&mut none, Ord::cmp);
        assert!(none.is_empty());
    }

    #[test]
    fn sorts_as_the_standard_stable_sort_does() {
        // A fixed scrambled sequence with many equal keys, each item telling where it was.
        let items: Vec<(u32, usize)> = (0..500).map(|i| ((i * 7919 % 101) as u32, i)).collect();
        let mut ours = items.clone();
        sort_by_key(&mut ours, |item| std::cmp::Reverse(item.0));
        let mut standard = items;
        standard.sort_by_key(|item| std::cmp::Reverse(item.0));
        assert_eq!(ours, standard);
    }

    /// Every arrangement of `len` keys drawn from `0..distinct`, each item telling where it was.
    fn arrangements(len: usize, distinct: u32) -> Vec<Vec<(u32, usize)>> {
        let mut all = vec![Vec::new()];
        for at in 0..len {
            all = all
                .into_iter()
                .flat_map(|prefix: Vec<(u32, usize)>| {
                    (0..distinct).map(move |key| {
                        let mut next = prefix.clone();
                        next.push((key, at));
                        next
                    })
                })
                .collect();
        }
        all
    }

    #[test]
    fn sorts_every_short_arrangement_as_the_standard_stable_sort_does() {
        // Distinct keys (every order of up to 6 items comes up) and repeated ones (stability).
        for (len, distinct) in [(2, 2), (3, 3), (5, 5), (6, 6), (7, 3), (8, 2)] {
            for items in arrangements(len, distinct) {
                let mut ours = items.clone();
                sort_by_key(&mut ours, |item| item.0);
                let mut standard = items.clone();
                standard.sort_by_key(|item| item.0);
                assert_eq!(ours, standard, "from {items:?}");
            }
        }
    }

    #[test]
    fn sorts_long_inputs_in_and_against_order_and_scrambled() {
        let ascending: Vec<(u32, usize)> = (0..1000).map(|i| (i as u32 / 3, i)).collect();
        let descending: Vec<(u32, usize)> = ascending.iter().rev().copied().collect();
        // A fixed pseudo-random sequence (a linear congruential generator), with repeats.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let scrambled: Vec<(u32, usize)> = (0..1537)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                ((state >> 33) as u32 % 400, i)
            })
            .collect();
        for items in [ascending, descending, scrambled] {
            let mut ours = items.clone();
            sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut standard = items;
            standard.sort_by_key(|a| a.0);
            assert_eq!(ours, standard);
        }
    }

    #[test]
    fn groups_equal_keys_under_one_number() {
        let keys = ["b", "a", "c", "a", "b", "b"];
        let numbers = group_numbers(&keys);
        for (i, a) in keys.iter().enumerate() {
            assert!(numbers[i] < keys.len());
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(numbers[i] == numbers[j], a == b, "{a} and {b}");
            }
        }
        assert!(group_numbers::<&str>(&[]).is_empty());
    }
}
