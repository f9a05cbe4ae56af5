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

/// The city, state and country of a scanned location.
pub fn location_of(scanned: &str) -> Location {
    let mut city = String::with_capacity(scanned.len());
    let words = scanned
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|w| !w.is_empty())
        .take_while(|w| !FACILITY_WORDS.iter().any(|f| f.eq_ignore_ascii_case(w)));
    for word in words {
        if !city.is_empty() {
            city.push(' ');
        }
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            city.extend(first.to_uppercase());
            city.extend(chars.flat_map(char::to_lowercase));
        }
    }
    let state = STATES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(&city))
        .map(|(_, state)| (*state).to_owned())
        .unwrap_or_default();
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
