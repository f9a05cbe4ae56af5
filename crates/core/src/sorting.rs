//! Stable sorting through one sort of positions. The standard library's sort is instantiated
//! anew for every element type and comparison, about 4 KB of wasm each; sorting positions with
//! a comparison behind a reference compiles it once, and only the reordering is per type.

use std::cmp::Ordering;

/// Sorts `items` stably by the key `key` gives each.
pub fn sort_by_key<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `items` stably by `compare`.
pub fn sort_by<T>(items: &mut Vec<T>, compare: impl Fn(&T, &T) -> Ordering) {
    if items.len() < 2 {
        return;
    }
    let order = positions(items.len(), &|a, b| compare(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(
        order
            .into_iter()
            .map(|at| slots[at].take().expect("each position once")),
    );
}

/// `0..len` sorted stably by `compare`.
fn positions(len: usize, compare: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|a, b| compare(*a, *b));
    order
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
}
