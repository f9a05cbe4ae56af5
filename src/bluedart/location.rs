//! Blue Dart names places like `KOCHI SERVICE CENTRE` or `PUNE HUB`; customers read
//! `Kochi, KL, IN`.

use crate::tracking::model::Location;

/// Words Blue Dart appends to a city name to say which of its facilities scanned the parcel.
const FACILITY_WORDS: &[&str] = &[
    "SERVICE",
    "CENTRE",
    "CENTER",
    "HUB",
    "GATEWAY",
    "APEX",
    "AIRPORT",
    "OFFICE",
    "BRANCH",
    "WAREHOUSE",
    "DC",
    "SC",
];

/// State codes of the cities Blue Dart serves most; others get an empty state.
const STATES: &[(&str, &str)] = &[
    ("AHMEDABAD", "GJ"),
    ("BANGALORE", "KA"),
    ("BENGALURU", "KA"),
    ("CHENNAI", "TN"),
    ("COCHIN", "KL"),
    ("DELHI", "DL"),
    ("ERNAKULAM", "KL"),
    ("GURGAON", "HR"),
    ("GURUGRAM", "HR"),
    ("HYDERABAD", "TS"),
    ("JAIPUR", "RJ"),
    ("KOCHI", "KL"),
    ("KOLKATA", "WB"),
    ("LUCKNOW", "UP"),
    ("MUMBAI", "MH"),
    ("NEW DELHI", "DL"),
    ("NOIDA", "UP"),
    ("PUNE", "MH"),
    ("THIRUVANANTHAPURAM", "KL"),
];

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// The city, state and country of a scanned location.
pub fn location_of(scanned: &str) -> Location {
    let words: Vec<String> = scanned
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let city_words: Vec<&String> = words
        .iter()
        .take_while(|w| !FACILITY_WORDS.contains(&w.as_str()))
        .collect();
    let city_upper = city_words
        .iter()
        .map(|w| w.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let state = STATES
        .iter()
        .find(|(city, _)| *city == city_upper)
        .map(|(_, state)| (*state).to_owned())
        .unwrap_or_default();
    let city = city_words
        .iter()
        .map(|w| title_case(w))
        .collect::<Vec<_>>()
        .join(" ");
    Location {
        city,
        state,
        country: "IN".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(city: &str, state: &str) -> Location {
        Location {
            city: city.into(),
            state: state.into(),
            country: "IN".into(),
        }
    }

    #[test]
    fn facility_words_are_dropped_and_the_city_title_cased() {
        assert_eq!(location_of("KOCHI SERVICE CENTRE"), loc("Kochi", "KL"));
        assert_eq!(location_of("PUNE HUB"), loc("Pune", "MH"));
        assert_eq!(location_of("NEW DELHI APEX"), loc("New Delhi", "DL"));
        assert_eq!(location_of("  MUMBAI  "), loc("Mumbai", "MH"));
    }

    #[test]
    fn unknown_places_keep_their_name_without_a_state() {
        assert_eq!(location_of("TIRUR"), loc("Tirur", ""));
        assert_eq!(location_of(""), loc("", ""));
    }
}
