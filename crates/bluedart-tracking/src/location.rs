//! Blue Dart names facilities, not always cities: `KOCHI SERVICE CENTRE` is in Kochi, but
//! `ITO SERVICE CENTRE` is in New Delhi and `RAMA ROAD HUB` in no city called "Rama Road".
//! Every location keeps the facility's name, tidied for reading; its city and state are filled
//! only where they are known, from the place table in `places.tsv`. Never a guess.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::parse::{is_tidy, tidy};
use tracking_core::model::Location;

/// The checked-in place table (see the file's header for its rows).
const PLACES: &str = include_str!("places.tsv");

/// A city as customers read it, with its state code.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Place {
    city: &'static str,
    state: &'static str,
}

/// Places by name, sorted: the table's lists are a few dozen rows, where a binary search costs
/// less than hashing the name (every scan looks up its area code and its facility).
#[derive(Debug, Default)]
struct Places(Vec<(String, Place)>);

impl Places {
    /// Adds or, as a later row for the same name does, replaces.
    fn insert(&mut self, name: String, place: Place) {
        match self.position(&name) {
            Ok(at) => self.0[at].1 = place,
            Err(at) => self.0.insert(at, (name, place)),
        }
    }

    fn get(&self, name: &str) -> Option<&Place> {
        self.position(name).ok().map(|at| &self.0[at].1)
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(key, _)| key.as_str().cmp(name))
    }
}

#[derive(Debug, Default)]
struct PlaceTable {
    facility_words: Vec<String>,
    acronyms: Vec<String>,
    cities: Places,
    codes: Places,
    facilities: Places,
}

impl PlaceTable {
    /// Reads the table; a malformed row is a bug in the checked-in file, caught by the tests.
    fn parse(text: &'static str) -> Result<PlaceTable, String> {
        let mut table = PlaceTable::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim_end();
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            let place = || match fields[..] {
                [_, _, city, state] if !city.is_empty() => Ok(Place { city, state }),
                _ => Err(format!("places.tsv line {}: {line:?}", number + 1)),
            };
            let key = fields.get(1).map(|k| k.to_ascii_uppercase());
            match (fields[0], key) {
                ("word", Some(word)) => table.facility_words.push(word),
                ("acronym", Some(word)) => table.acronyms.push(word),
                ("city", Some(name)) => {
                    table.cities.insert(name, place()?);
                }
                ("code", Some(code)) => {
                    table.codes.insert(code, place()?);
                }
                ("facility", Some(name)) => {
                    table.facilities.insert(name, place()?);
                }
                _ => return Err(format!("places.tsv line {}: {line:?}", number + 1)),
            }
        }
        Ok(table)
    }

    fn is_facility_word(&self, word: &str) -> bool {
        self.facility_words
            .iter()
            .any(|f| f.eq_ignore_ascii_case(word))
    }

    /// The name's city, once the words naming the facility are dropped.
    fn city_in_name(&self, name: &str) -> Option<&Place> {
        self.cities
            .get(&leading_words(name, |w| self.is_facility_word(w)))
    }

    fn code(&self, code: &str) -> Option<&Place> {
        // Values arrive tidied: ASCII spaces are all a code can have around it.
        let code = code.trim_ascii();
        // Area codes come upper case: look them up as they are, without a copy.
        if code.bytes().any(|b| b.is_ascii_lowercase()) {
            self.codes.get(&code.to_ascii_uppercase())
        } else {
            self.codes.get(code)
        }
    }

    /// `MAHADEVAPURA INDUS. AREA` → `Mahadevapura Indus. Area`, acronyms kept: `ITO Service Centre`.
    fn readable(&self, name: &str) -> String {
        let mut out = String::with_capacity(name.len());
        for (i, word) in name.split(' ').enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if self.acronyms.iter().any(|a| a == word) || word.chars().any(|c| c.is_ascii_digit()) {
                out.push_str(word);
                continue;
            }
            // Cased in ASCII, a byte at a time: place names are ASCII, and a letter outside it
            // is left as sent (Unicode's case tables would cost the wasm about 20 KB).
            let start = out.len();
            out.push_str(word);
            let first = word.chars().next().map_or(0, char::len_utf8);
            let (first, rest) = out[start..].split_at_mut(first);
            first.make_ascii_uppercase();
            rest.make_ascii_lowercase();
        }
        out
    }
}

/// The words of `name` up to the first that `ends` (split at whitespace, `,` and `-`), joined
/// by single spaces: the city part of a facility's name.
fn leading_words(name: &str, ends: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(name.len());
    let words = name
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|w| !w.is_empty())
        .take_while(|w| !ends(w));
    for word in words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

static TABLE: LazyLock<PlaceTable> =
    LazyLock::new(|| PlaceTable::parse(PLACES).expect("places.tsv is well formed"));

/// Where a scan was made. The city comes from, in order: the scan's area code, the facility's
/// own row, the facility's name once its facility words are dropped, and — for a delivery scan
/// only, where the parcel is by definition at its destination — `destination` (the shipment's
/// `DestinationAreaCode` and `Destination`).
pub fn location_of(scanned: &str, code: &str, destination: Option<(&str, &str)>) -> Location {
    let table = &*TABLE;
    // Names arrive tidy and in capitals: those are read where they stand, without a copy.
    let name: Cow<str> = if is_tidy(scanned) && !scanned.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Borrowed(scanned)
    } else {
        let mut name = tidy(scanned);
        name.make_ascii_uppercase();
        Cow::Owned(name)
    };
    let place = table
        .code(code)
        .or_else(|| table.facilities.get(&name))
        .or_else(|| table.city_in_name(&name))
        .or_else(|| {
            let (area_code, city) = destination?;
            table
                .code(area_code)
                .or_else(|| table.city_in_name(&tidy(city).to_ascii_uppercase()))
        });
    Location {
        facility: table.readable(&name),
        city: place.map_or("", |p| p.city).into(),
        state: place.map_or("", |p| p.state).into(),
        country: "IN".into(),
    }
}

/// What a scan says of its place: the facility's name and area code as sent, and the
/// shipment's destination when the scan is a delivery (see [`location_of`]).
type Said<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);

/// The places of one answer's scans, each worked out once. A batch's shipments pass through
/// the same few facilities (a store's pickup hub, the gateways, the destination's centre), and
/// working a place out (its area code looked up, its name cased, its key cut) had been a fifth
/// of a sync batch's CPU in wasm.
#[derive(Default)]
pub struct ScanPlaces<'a>(Vec<(Said<'a>, Location, String)>);

/// Places remembered per answer: past them, a place is worked out each time, so that an answer
/// naming hundreds of facilities is not searched through for every scan.
const REMEMBERED: usize = 64;

impl<'a> ScanPlaces<'a> {
    /// The scan's location and place key: [`location_of`] and [`place_key`].
    pub fn of(
        &mut self,
        scanned: &'a str,
        code: &'a str,
        destination: Option<(&'a str, &'a str)>,
    ) -> (Location, String) {
        let said = (scanned, code, destination);
        if let Some((_, location, key)) = self.0.iter().find(|(seen, ..)| *seen == said) {
            return (location.clone(), key.clone());
        }
        let location = location_of(scanned, code, destination);
        let key = place_key(scanned);
        if self.0.len() < REMEMBERED {
            self.0.push((said, location.clone(), key.clone()));
        }
        (location, key)
    }
}

/// Words that once ended the city part of a name. Frozen: stored events are unique on the key
/// built with them, so a change here would store the same scan twice.
const KEY_FACILITY_WORDS: &[&str] = &[
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

/// The place part of an event's identity: the scanned name up to its first facility word, upper
/// case (`KOCHI SERVICE CENTRE` → `KOCHI`). It is what the city column held before facilities
/// were kept apart, so events stored then and the same scans read now have the same identity.
pub fn place_key(scanned: &str) -> String {
    let mut key = leading_words(scanned, |w| {
        KEY_FACILITY_WORDS.iter().any(|f| f.eq_ignore_ascii_case(w))
    });
    key.make_ascii_uppercase();
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(facility: &str, city: &'static str, state: &'static str) -> Location {
        Location {
            facility: facility.into(),
            city: city.into(),
            state: state.into(),
            country: "IN".into(),
        }
    }

    /// A later row for a name replaces the earlier one, as the table's rows are read; every
    /// name is found wherever it was inserted, and no other.
    #[test]
    fn places_are_found_by_name_and_replaced_by_a_later_row() {
        let place = |city| Place { city, state: "KL" };
        let mut places = Places::default();
        for name in ["PUNE", "COK", "AMD", "ZZZ", "BOM", "A"] {
            places.insert(name.into(), place("First"));
        }
        places.insert("BOM".into(), place("Mumbai"));
        assert_eq!(places.get("BOM"), Some(&place("Mumbai")));
        for name in ["PUNE", "COK", "AMD", "ZZZ", "A"] {
            assert_eq!(places.get(name), Some(&place("First")), "{name}");
        }
        for name in ["", "B", "CO", "COKE", "pune", "ZZZZ"] {
            assert_eq!(places.get(name), None, "{name}");
        }
        assert_eq!(places.0.len(), 6);
    }

    #[test]
    fn the_place_table_reads_and_refuses_malformed_rows() {
        let table = PlaceTable::parse(PLACES).unwrap();
        assert!(table.cities.0.len() >= 20);
        assert_eq!(table.code("cok").unwrap().city, "Kochi");
        assert!(PlaceTable::parse("city\tPUNE").is_err());
        assert!(
            PlaceTable::parse("city\tPUNE\t\tMH").is_err(),
            "a place needs a city"
        );
        assert!(PlaceTable::parse("town\tPUNE\tPune\tMH").is_err());
        assert!(PlaceTable::parse("# only a comment\n\n").is_ok());
    }

    #[test]
    fn a_city_in_the_name_is_read_once_facility_words_are_dropped() {
        assert_eq!(
            location_of("KOCHI SERVICE CENTRE", "", None),
            loc("Kochi Service Centre", "Kochi", "KL")
        );
        assert_eq!(
            location_of("PUNE HUB", "", None),
            loc("Pune Hub", "Pune", "MH")
        );
        assert_eq!(
            location_of("PUNE-HUB", "", None),
            loc("Pune-hub", "Pune", "MH")
        );
        assert_eq!(
            location_of("NEW DELHI APEX", "", None),
            loc("New Delhi Apex", "New Delhi", "DL")
        );
        assert_eq!(
            location_of("GURGAON CPC", "", None),
            loc("Gurgaon CPC", "Gurgaon", "HR")
        );
        assert_eq!(
            location_of("  mumbai  ", "", None),
            loc("Mumbai", "Mumbai", "MH")
        );
    }

    #[test]
    fn facilities_are_not_cities() {
        // Named after a locality: the table knows where it is.
        assert_eq!(
            location_of("ITO SERVICE CENTRE", "", None),
            loc("ITO Service Centre", "New Delhi", "DL")
        );
        assert_eq!(
            location_of("RAMA ROAD HUB", "", None),
            loc("Rama Road Hub", "New Delhi", "DL")
        );
        assert_eq!(
            location_of("MAHADEVAPURA INDUS. AREA", "", None),
            loc("Mahadevapura Indus. Area", "Bangalore", "KA")
        );
        // Unknown: the facility only, no city made up from its name.
        assert_eq!(
            location_of("OVALI WAREHOUSE", "", None),
            loc("Ovali Warehouse", "", "")
        );
        assert_eq!(location_of("TIRUR", "", None), loc("Tirur", "", ""));
        assert_eq!(location_of("", "", None), loc("", "", ""));
    }

    #[test]
    fn the_area_code_outranks_the_name() {
        assert_eq!(
            location_of("OVALI WAREHOUSE", "BOM", None),
            loc("Ovali Warehouse", "Mumbai", "MH")
        );
        assert_eq!(
            location_of("PUNE HUB", "COK", None),
            loc("Pune Hub", "Kochi", "KL")
        );
        // An unknown code: the name decides.
        assert_eq!(
            location_of("PUNE HUB", "XYZ", None),
            loc("Pune Hub", "Pune", "MH")
        );
    }

    #[test]
    fn a_delivery_falls_back_to_the_destination() {
        assert_eq!(
            location_of("OVALI WAREHOUSE", "", Some(("COK", "KOCHI"))),
            loc("Ovali Warehouse", "Kochi", "KL")
        );
        assert_eq!(
            location_of("", "", Some(("", "PUNE"))),
            loc("", "Pune", "MH")
        );
        assert_eq!(
            location_of("X", "", Some(("", "NOWHERE"))),
            loc("X", "", "")
        );
    }

    #[test]
    fn the_identity_key_is_what_the_city_column_once_held() {
        assert_eq!(place_key("KOCHI SERVICE CENTRE"), "KOCHI");
        assert_eq!(place_key("NEW DELHI APEX"), "NEW DELHI");
        assert_eq!(place_key("GURGAON CPC"), "GURGAON CPC");
        assert_eq!(place_key("ITO SERVICE CENTRE"), "ITO");
        assert_eq!(place_key("pune-hub"), "PUNE");
        assert_eq!(place_key(""), "");
    }

    /// Words are cased a byte at a time, in ASCII; for ASCII names the result is what casing
    /// each char gives, and a letter outside ASCII is left as sent.
    #[test]
    fn names_read_as_casing_each_char_reads_them() {
        let table = PlaceTable::parse(PLACES).unwrap();
        let by_chars = |name: &str| {
            name.split(' ')
                .map(|word| {
                    if table.acronyms.iter().any(|a| a == word)
                        || word.chars().any(|c| c.is_ascii_digit())
                    {
                        return word.to_owned();
                    }
                    let mut chars = word.chars();
                    chars.next().map_or(String::new(), |first| {
                        first
                            .to_uppercase()
                            .chain(chars.flat_map(char::to_lowercase))
                            .collect()
                    })
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        for name in [
            "KOCHI SERVICE CENTRE",
            "ITO SERVICE CENTRE",
            "MAHADEVAPURA INDUS. AREA",
            "A",
            "",
            "  DOUBLE  SPACE ",
            "12TH CROSS",
        ] {
            assert_eq!(table.readable(name), by_chars(name), "{name:?}");
        }
        assert_eq!(table.readable("ÉTOILE HUB"), "Étoile Hub");
        assert_eq!(table.readable("KÖLN GATEWAY"), "KÖln Gateway");
        assert_eq!(table.readable("ÆRØ"), "ÆrØ");
        assert_eq!(table.readable("PUNE-HUB"), "Pune-hub");
    }

    /// What an answer's places remember is what working each out gives, whichever scan asks
    /// first: the same name with or without a destination, by another code, and more places
    /// than are remembered.
    #[test]
    fn remembered_places_are_the_places_worked_out() {
        let names: Vec<String> = (0..REMEMBERED + 10)
            .map(|n| format!("TOWN{n} HUB"))
            .chain(["OVALI WAREHOUSE", "KOCHI SERVICE CENTRE", "PUNE HUB", ""].map(String::from))
            .collect();
        let said: Vec<Said> = names
            .iter()
            .flat_map(|name| {
                [
                    (name.as_str(), "", None),
                    (name.as_str(), "BOM", None),
                    (name.as_str(), "", Some(("COK", "KOCHI"))),
                    (name.as_str(), "", Some(("", "PUNE"))),
                ]
            })
            .collect();
        let mut places = ScanPlaces::default();
        // Twice through: the second time, the first places come from memory.
        for (scanned, code, destination) in said.iter().chain(&said).copied() {
            assert_eq!(
                places.of(scanned, code, destination),
                (location_of(scanned, code, destination), place_key(scanned)),
                "{scanned:?} {code:?} {destination:?}"
            );
        }
        assert_eq!(places.0.len(), REMEMBERED);
        // A delivery at an unknown facility takes its destination's city, other scans there do
        // not: the destination is part of what is remembered.
        let mut places = ScanPlaces::default();
        let (delivered, _) = places.of("OVALI WAREHOUSE", "", Some(("COK", "KOCHI")));
        let (passing, _) = places.of("OVALI WAREHOUSE", "", None);
        assert_eq!(delivered.city, "Kochi");
        assert_eq!(passing.city, "");
    }
}
