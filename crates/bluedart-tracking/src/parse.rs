//! Reads Blue Dart's tracking XML.
//!
//! The rules it follows (see the protocol notes): waybill and reference are attributes, every
//! value stays a string (leading zeros matter), one `<Shipment>` or `<ScanDetail>` is still a
//! list, unknown elements are ignored, entities are decoded and odd whitespace tidied. "No
//! information" is a valid empty answer; anything it cannot read is an error, never an empty
//! answer, so that the caller falls back to its cache.

use std::borrow::Cow;

use crate::xml::{self, Malformed, Reader, Token};

/// A value as sent, tidied: a slice of the answer when it needed no decoding or tidying (most
/// do), so that reading an answer copies none of them.
pub type Value<'a> = Cow<'a, str>;

/// One `<ScanDetail>`, values as sent (kept for admins by `payload`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CarrierScan<'a> {
    pub scan: Value<'a>,
    pub code: Value<'a>,
    pub scan_type: Value<'a>,
    pub group: Value<'a>,
    pub date: Value<'a>,
    pub time: Value<'a>,
    pub location: Value<'a>,
    pub location_code: Value<'a>,
}

/// One `<Shipment>`, values as sent. Consignee fields are read past, never kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CarrierShipment<'a> {
    pub waybill: Value<'a>,
    pub ref_no: Value<'a>,
    pub status: Value<'a>,
    pub status_type: Value<'a>,
    pub status_date: Value<'a>,
    pub status_time: Value<'a>,
    pub expected_delivery: Value<'a>,
    pub new_waybill: Value<'a>,
    pub origin: Value<'a>,
    pub origin_area_code: Value<'a>,
    pub destination: Value<'a>,
    pub destination_area_code: Value<'a>,
    /// Newest first, as sent.
    pub scans: Vec<CarrierScan<'a>>,
}

/// Why an answer could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not tracking XML at all (an HTML page, JSON, empty body).
    NotTrackingXml,
    /// XML that breaks off or does not nest.
    Malformed,
    /// `<Error>License Mismatch</Error>` and its kind: an account problem.
    LicenseMismatch,
    /// Some other `<Error>` text.
    CarrierError(String),
}

/// Collapses runs of whitespace and trims: `OUT FOR DELIVERY,  DETAILS` → one space.
pub fn tidy(text: &str) -> String {
    // Most values arrive tidy: those are copied as they are, unsplit.
    if is_tidy(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether `text` is printable ASCII with single spaces between words and none at either end,
/// which `tidy` would leave as it is. Anything else (other whitespace, non-ASCII text, which
/// may hold Unicode spaces) is not, and is tidied word by word.
///
/// Every value read passes here, so eight bytes are checked at a time (`tidy_word`), the rest
/// one by one.
pub(crate) fn is_tidy(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ') {
        return false;
    }
    let mut words = bytes.chunks_exact(8);
    let mut after_space = false;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        match tidy_word(word, after_space) {
            Some(ends_in_space) => after_space = ends_in_space,
            None => return false,
        }
    }
    for &c in words.remainder() {
        if c == b' ' && after_space || !(b' '..=b'~').contains(&c) {
            return false;
        }
        after_space = c == b' ';
    }
    true
}

/// Eight bytes of text (the first in the low byte), after a space when `after_space`: whether
/// its last byte is a space, or `None` if a byte is not printable ASCII or two spaces meet.
fn tidy_word(word: u64, after_space: bool) -> Option<bool> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Printable ASCII is 0x20..=0x7e. Adding 1 to each byte shows the high bit of every byte
    // from 0x7f up (UTF-8 has no 0xff, so no carry leaves a byte); then, all at most 0x7e,
    // adding 0x60 shows it on every byte from 0x20 up, again without a carry.
    let printable =
        word.wrapping_add(LOW) & HIGH == 0 && word.wrapping_add(0x60 * LOW) & HIGH == HIGH;
    if !printable {
        return None;
    }
    // The high bit of each byte that is a space: XOR makes spaces zero, and adding 0x7f to a
    // byte below 0x80 (all are, being printable) sets its high bit unless it was zero, with no
    // carry into the next byte.
    let zero = word ^ (0x20 * LOW);
    let spaces = !(zero + !HIGH) & HIGH;
    let doubled = spaces & (spaces << 8) != 0 || after_space && spaces & 0x80 != 0;
    (!doubled).then_some(spaces >> 63 != 0)
}

/// The value of the field being read. Most values are one piece of raw text that is already
/// tidy and has no reference: that piece is kept as a slice of the answer and copied once, at
/// the field's end. Anything else is decoded piece by piece and tidied at the end.
#[derive(Default)]
struct FieldText<'a> {
    plain: Option<&'a str>,
    decoded: String,
}

impl<'a> FieldText<'a> {
    fn clear(&mut self) {
        self.plain = None;
        self.decoded.clear();
    }

    /// Adds raw XML text (references not yet decoded; `plain` if it has none).
    fn push_raw(&mut self, raw: &'a str, plain: bool) -> Result<(), Malformed> {
        if plain && self.plain.is_none() && self.decoded.is_empty() && is_tidy(raw) {
            self.plain = Some(raw);
            return Ok(());
        }
        self.spill();
        xml::decode(raw, Some(&mut self.decoded))
    }

    /// Adds decoded text (a CDATA section's).
    fn push_decoded(&mut self, text: &str) {
        self.spill();
        self.decoded.push_str(text);
    }

    fn spill(&mut self) {
        if let Some(plain) = self.plain.take() {
            self.decoded.push_str(plain);
        }
    }

    /// The value, tidied.
    fn value(&mut self) -> Value<'a> {
        match self.plain.take() {
            Some(plain) => Cow::Borrowed(plain),
            None => Cow::Owned(tidy(&self.decoded)),
        }
    }
}

/// Where the reader is: the elements that matter, and everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Root,
    Shipment,
    Scans,
    ScanDetail,
    Error,
    /// A shipment's kept field (its index in `SHIPMENT_FIELDS`).
    ShipmentField(u8),
    /// A scan's kept field (its index in `SCAN_FIELDS`).
    ScanField(u8),
    Other,
}

impl Tag {
    /// Whether the text directly inside this element is read. Only fields and `<Error>` are:
    /// the indentation between elements and the values read past are never decoded.
    fn keeps_text(self) -> bool {
        matches!(self, Tag::ShipmentField(_) | Tag::ScanField(_) | Tag::Error)
    }
}

impl From<Malformed> for ParseError {
    fn from(_: Malformed) -> Self {
        ParseError::Malformed
    }
}

/// A `<Shipment>` from its tag: the waybill and the reference, tidied.
fn shipment(attributes: &str) -> Result<CarrierShipment<'_>, ParseError> {
    let mut shipment = CarrierShipment::default();
    for attribute in xml::attributes(attributes) {
        let (name, value) = attribute?;
        let field = match name {
            "WaybillNo" => &mut shipment.waybill,
            "RefNo" => &mut shipment.ref_no,
            _ => continue,
        };
        let mut text = FieldText::default();
        text.push_raw(value, !value.contains('&'))?;
        *field = text.value();
    }
    Ok(shipment)
}

/// Where a kept field's value goes.
type ShipmentField = for<'s, 'a> fn(&'s mut CarrierShipment<'a>) -> &'s mut Value<'a>;
type ScanField = for<'s, 'a> fn(&'s mut CarrierScan<'a>) -> &'s mut Value<'a>;

/// The shipment's kept fields, by element name.
const SHIPMENT_FIELDS: [(&str, ShipmentField); 10] = [
    ("Status", |s| &mut s.status),
    ("StatusType", |s| &mut s.status_type),
    ("StatusDate", |s| &mut s.status_date),
    ("StatusTime", |s| &mut s.status_time),
    ("ExpectedDeliveryDate", |s| &mut s.expected_delivery),
    ("NewWaybillNo", |s| &mut s.new_waybill),
    ("Origin", |s| &mut s.origin),
    ("OriginAreaCode", |s| &mut s.origin_area_code),
    ("Destination", |s| &mut s.destination),
    ("DestinationAreaCode", |s| &mut s.destination_area_code),
];

/// A scan's kept fields, by element name.
const SCAN_FIELDS: [(&str, ScanField); 8] = [
    ("Scan", |s| &mut s.scan),
    ("ScanCode", |s| &mut s.code),
    ("ScanType", |s| &mut s.scan_type),
    ("ScanGroupType", |s| &mut s.group),
    ("ScanDate", |s| &mut s.date),
    ("ScanTime", |s| &mut s.time),
    ("ScannedLocation", |s| &mut s.location),
    ("ScannedLocationCode", |s| &mut s.location_code),
];

/// The position of `name` among `fields`, which a `Tag` carries.
fn field_index<F>(fields: &[(&str, F)], name: &str) -> Option<u8> {
    let n = fields
        .iter()
        .position(|(field, _)| xml::same(field.as_bytes(), name.as_bytes()))?;
    u8::try_from(n).ok()
}

/// Whether an `<Error>` text is Blue Dart's "no information about this waybill".
fn is_no_information(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("no information") || lower.contains("incorrect waybill")
}

/// The shipments in a tracking answer. An empty list means Blue Dart knows none of the
/// waybills asked for.
pub fn parse_tracking(xml: &str) -> Result<Vec<CarrierShipment<'_>>, ParseError> {
    let mut reader = Reader::new(xml);
    let mut path: Vec<Tag> = Vec::with_capacity(6);
    let mut text = FieldText::default();
    let mut shipments: Vec<CarrierShipment> = Vec::new();
    let mut error: Option<String> = None;
    let mut closed = false;

    while let Some(token) = reader.next()? {
        match token {
            Token::Start {
                name,
                attributes,
                empty: false,
            } => {
                let tag = match (path.as_slice(), name) {
                    ([], "ShipmentData") => Tag::Root,
                    ([], _) => return Err(ParseError::NotTrackingXml),
                    ([Tag::Root], "Shipment") => {
                        shipments.push(shipment(attributes)?);
                        Tag::Shipment
                    }
                    ([Tag::Root], "Error") => Tag::Error,
                    ([Tag::Root, Tag::Shipment], "Scans") => Tag::Scans,
                    ([Tag::Root, Tag::Shipment], name) => {
                        field_index(&SHIPMENT_FIELDS, name).map_or(Tag::Other, Tag::ShipmentField)
                    }
                    ([Tag::Root, Tag::Shipment, Tag::Scans], "ScanDetail") => {
                        if let Some(shipment) = shipments.last_mut() {
                            shipment.scans.push(CarrierScan::default());
                        }
                        Tag::ScanDetail
                    }
                    ([Tag::Root, Tag::Shipment, Tag::Scans, Tag::ScanDetail], name) => {
                        field_index(&SCAN_FIELDS, name).map_or(Tag::Other, Tag::ScanField)
                    }
                    _ => Tag::Other,
                };
                // A field's (or `<Error>`'s) value is its own text: what elements inside it hold
                // is never added.
                if tag.keeps_text() {
                    text.clear();
                }
                path.push(tag);
            }
            Token::Start {
                name,
                attributes,
                empty: true,
            } => {
                match (path.as_slice(), name) {
                    // `<ShipmentData/>`: a well-formed answer with nothing in it.
                    ([], "ShipmentData") => {
                        closed = true;
                        break;
                    }
                    ([], _) => return Err(ParseError::NotTrackingXml),
                    ([Tag::Root], "Shipment") => shipments.push(shipment(attributes)?),
                    _ => {}
                }
            }
            // Checked wherever it stands in the answer, decoded only where it is kept: an
            // unknown entity is malformed XML in whichever element.
            Token::Text { raw, plain } if !path.is_empty() => {
                if path.last().is_some_and(|tag| tag.keeps_text()) {
                    text.push_raw(raw, plain)?;
                } else if !plain {
                    xml::decode(raw, None)?;
                }
            }
            // Before the root: a plain-text page is judged by its missing root, not its `&`.
            Token::Text { .. } => {}
            Token::CData(t) if path.last().is_some_and(|tag| tag.keeps_text()) => {
                text.push_decoded(t);
            }
            Token::CData(_) => {}
            Token::End => {
                let tag = path.pop().ok_or(ParseError::Malformed)?;
                match (path.as_slice(), tag) {
                    ([], _) => {
                        closed = true;
                        break;
                    }
                    ([Tag::Root], Tag::Error) => error = Some(text.value().into_owned()),
                    ([Tag::Root, Tag::Shipment], Tag::ShipmentField(n)) => {
                        if let Some(shipment) = shipments.last_mut() {
                            *SHIPMENT_FIELDS[usize::from(n)].1(shipment) = text.value();
                        }
                    }
                    (
                        [Tag::Root, Tag::Shipment, Tag::Scans, Tag::ScanDetail],
                        Tag::ScanField(n),
                    ) => {
                        if let Some(scan) = shipments.last_mut().and_then(|s| s.scans.last_mut()) {
                            *SCAN_FIELDS[usize::from(n)].1(scan) = text.value();
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if !closed {
        return Err(if shipments.is_empty() && path.is_empty() {
            ParseError::NotTrackingXml
        } else {
            ParseError::Malformed
        });
    }
    if let Some(message) = error {
        return if is_no_information(&message) {
            Ok(Vec::new())
        } else if message.to_ascii_lowercase().contains("license mismatch") {
            Err(ParseError::LicenseMismatch)
        } else {
            Err(ParseError::CarrierError(message))
        };
    }
    // The older "not found" form: a shipment whose type is NF.
    shipments.retain(|s| !s.status_type.eq_ignore_ascii_case("NF"));
    Ok(shipments)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The copy of values that arrive tidy and the word-by-word path agree on every kind of
    /// text; only printable ASCII that `tidy` leaves unchanged takes the copy.
    /// The word-at-a-time check says what a byte-by-byte one says, for every length around the
    /// word's and every mix of the bytes that matter.
    #[test]
    fn tidy_text_is_found_eight_bytes_at_a_time_as_byte_by_byte() {
        let byte_by_byte = |text: &[u8]| {
            let mut previous = b' ';
            for &c in text {
                if c == b' ' && previous == b' ' || !(b' '..=b'~').contains(&c) {
                    return false;
                }
                previous = c;
            }
            previous != b' ' || text.is_empty()
        };
        let alphabet = [b'A', b'A', b'~', b' ', b' ', b'\t', 0x1f, 0x7f, b'&'];
        let mut next = crate::numbers::numbers(0x2545_f491_4f6c_dd1d_u64);
        for _ in 0..20_000 {
            let len = (next() % 26) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let text = String::from_utf8(text).unwrap();
            assert_eq!(is_tidy(&text), byte_by_byte(text.as_bytes()), "{text:?}");
        }
        // A space, two spaces and a byte out of range at every place of three words' length.
        for at in 0..24 {
            for insert in [" ", "  ", "\u{1f}", "\u{7f}", "é"] {
                let mut text = "A".repeat(24);
                text.replace_range(at..(at + insert.len()).min(24), insert);
                assert_eq!(is_tidy(&text), byte_by_byte(text.as_bytes()), "{text:?}");
            }
        }
    }

    #[test]
    fn tidy_trims_and_collapses_every_kind_of_whitespace() {
        let by_words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        for (text, copied) in [
            ("", true),
            ("A", true),
            ("OUT FOR DELIVERY", true),
            ("~!@ #$%", true),
            ("A & B", true),
            (" ", false),
            ("OUT  FOR DELIVERY", false),
            (" OUT FOR DELIVERY", false),
            ("OUT FOR DELIVERY ", false),
            ("OUT\tFOR\nDELIVERY\r", false),
            ("OUT\u{0b}FOR", false),
            ("OUT\u{a0}FOR", false),
            ("KÖLN  HUB", false),
            ("KÖLN HUB", false),
            ("\u{1}A", false),
            ("A\u{7f}", false),
        ] {
            assert_eq!(tidy(text), by_words(text), "{text:?}");
            assert_eq!(is_tidy(text), copied, "{text:?}");
        }
    }

    const SAMPLE: &str = r#"<ShipmentData>
  <Shipment WaybillNo="01234567890" RefNo="ORD-2291">
    <Service>Dart Apex - Door To Door</Service>
    <Consignee>ASHA MENON</Consignee>
    <ConsigneeTelNo>9847012345</ConsigneeTelNo>
    <Status>SHIPMENT OUT FOR DELIVERY</Status>
    <StatusType>UD</StatusType>
    <ExpectedDeliveryDate>24 January 2026</ExpectedDeliveryDate>
    <StatusDate>24 January 2026</StatusDate>
    <StatusTime>09:12</StatusTime>
    <NewWaybillNo></NewWaybillNo>
    <Origin>PUNE</Origin>
    <OriginAreaCode>PNQ</OriginAreaCode>
    <Destination>KOCHI</Destination>
    <DestinationAreaCode>COK</DestinationAreaCode>
    <SomethingNew><Nested>x</Nested></SomethingNew>
    <Scans>
      <ScanDetail>
        <Scan>OUT FOR DELIVERY,  DETAILS &amp; MORE</Scan><ScanCode>002</ScanCode><ScanType>UD</ScanType>
        <ScanGroupType>S</ScanGroupType><ScanDate>24-Jan-2026</ScanDate><ScanTime>09:12</ScanTime>
        <ScannedLocation>KOCHI SERVICE CENTRE</ScannedLocation><ScannedLocationCode>COK</ScannedLocationCode>
      </ScanDetail>
    </Scans>
  </Shipment>
</ShipmentData>"#;

    #[test]
    fn reads_attributes_fields_and_a_single_scan_as_a_list() {
        let shipments = parse_tracking(SAMPLE).unwrap();
        assert_eq!(shipments.len(), 1);
        let s = &shipments[0];
        assert_eq!(s.waybill, "01234567890", "leading zero kept");
        assert_eq!(s.ref_no, "ORD-2291");
        assert_eq!(s.status_type, "UD");
        assert_eq!(s.expected_delivery, "24 January 2026");
        assert_eq!(s.new_waybill, "");
        assert_eq!(
            [
                &s.origin,
                &s.origin_area_code,
                &s.destination,
                &s.destination_area_code
            ],
            ["PUNE", "PNQ", "KOCHI", "COK"]
        );
        assert_eq!(s.scans.len(), 1);
        assert_eq!(
            s.scans[0],
            CarrierScan {
                scan: "OUT FOR DELIVERY, DETAILS & MORE".into(),
                code: "002".into(),
                scan_type: "UD".into(),
                group: "S".into(),
                date: "24-Jan-2026".into(),
                time: "09:12".into(),
                location: "KOCHI SERVICE CENTRE".into(),
                location_code: "COK".into(),
            }
        );
    }

    #[test]
    fn personal_data_is_not_kept() {
        let shipments = parse_tracking(SAMPLE).unwrap();
        let debug = format!("{shipments:?}");
        assert!(!debug.contains("ASHA"));
        assert!(!debug.contains("9847012345"));
    }

    #[test]
    fn no_information_is_an_empty_answer_in_both_forms() {
        let error_form = "<ShipmentData><Error>Incorrect waybill number or No information</Error></ShipmentData>";
        assert_eq!(parse_tracking(error_form), Ok(vec![]));
        // Either phrase alone says the same.
        for text in ["No Information", "Incorrect Waybill number"] {
            let alone = format!("<ShipmentData><Error>{text}</Error></ShipmentData>");
            assert_eq!(parse_tracking(&alone), Ok(vec![]), "{text}");
        }
        let nf_form = "<ShipmentData>\n<Shipment WaybillNo=\"1\"><Status>Incorrect Waybill number or No Information</Status><StatusType>NF</StatusType></Shipment></ShipmentData>";
        assert_eq!(parse_tracking(nf_form), Ok(vec![]));
        assert_eq!(parse_tracking("<ShipmentData/>"), Ok(vec![]));
        assert_eq!(
            parse_tracking("<?xml version=\"1.0\"?><ShipmentData></ShipmentData>"),
            Ok(vec![])
        );
    }

    #[test]
    fn licence_and_other_carrier_errors_are_errors() {
        assert_eq!(
            parse_tracking("<ShipmentData><Error>License Mismatch</Error></ShipmentData>"),
            Err(ParseError::LicenseMismatch)
        );
        assert_eq!(
            parse_tracking("<ShipmentData><Error>Service unavailable</Error></ShipmentData>"),
            Err(ParseError::CarrierError("Service unavailable".into()))
        );
    }

    #[test]
    fn html_truncated_and_malformed_answers_are_errors_not_empty_answers() {
        let html = "<!DOCTYPE html><html><body><p>Maintenance</p></body></html>";
        assert_eq!(parse_tracking(html), Err(ParseError::NotTrackingXml));
        assert_eq!(parse_tracking(""), Err(ParseError::NotTrackingXml));
        for text in ["{\"fault\":{}}", "Service Unavailable & retry later"] {
            assert_eq!(
                parse_tracking(text),
                Err(ParseError::NotTrackingXml),
                "{text}"
            );
        }
        let lower_case_page = "<!doctype html><html><body>Down</body></html>";
        assert_eq!(
            parse_tracking(lower_case_page),
            Err(ParseError::NotTrackingXml)
        );
        assert_eq!(
            parse_tracking(&SAMPLE[..SAMPLE.len() / 2]),
            Err(ParseError::Malformed)
        );
        let broken =
            "<ShipmentData><Shipment WaybillNo=\"1\"><Status>X</Stat></Shipment></ShipmentData>";
        assert_eq!(parse_tracking(broken), Err(ParseError::Malformed));
        let bad_entity = "<ShipmentData><Shipment WaybillNo=\"1\"><Status>A &bogus; B</Status></Shipment></ShipmentData>";
        assert_eq!(parse_tracking(bad_entity), Err(ParseError::Malformed));
        // In an element read past as well, whose text is never decoded.
        let bad_entity_unread = "<ShipmentData><Shipment WaybillNo=\"1\"><Consignee>A &bogus; B</Consignee></Shipment></ShipmentData>";
        assert_eq!(
            parse_tracking(bad_entity_unread),
            Err(ParseError::Malformed)
        );
        // Cut off before its first shipment: a tracking answer, broken.
        assert_eq!(parse_tracking("<ShipmentData>"), Err(ParseError::Malformed));
        // Another document's empty root first: not an answer, whatever follows.
        assert_eq!(
            parse_tracking("<html/><ShipmentData/>"),
            Err(ParseError::NotTrackingXml)
        );
    }

    #[test]
    fn several_shipments_keep_their_order() {
        let xml = "<ShipmentData><Shipment WaybillNo=\"1\" RefNo=\"A\"><StatusType>RT</StatusType><NewWaybillNo>2</NewWaybillNo></Shipment><Shipment WaybillNo=\"2\" RefNo=\"RTO - 1\"><StatusType>DL</StatusType></Shipment></ShipmentData>";
        let shipments = parse_tracking(xml).unwrap();
        let waybills: Vec<&str> = shipments.iter().map(|s| &*s.waybill).collect();
        assert_eq!(waybills, ["1", "2"]);
        assert_eq!(shipments[0].new_waybill, "2");
        assert_eq!(shipments[1].ref_no, "RTO - 1");
    }

    /// A value is the field's own text: text, CDATA and entities inside an element nested in
    /// it (which Blue Dart never sends) are left out, and so is the text around fields.
    #[test]
    fn a_value_is_its_own_text_without_what_nested_elements_hold() {
        let xml = "<ShipmentData><Shipment WaybillNo=\"1\">around<Status>ON<Note>x<![CDATA[y]]>&amp;&#66;</Note> TIME</Status>after<StatusType>UD</StatusType></Shipment></ShipmentData>";
        let shipment = &parse_tracking(xml).unwrap()[0];
        assert_eq!(shipment.status, "ON TIME");
        assert_eq!(shipment.status_type, "UD");
    }

    #[test]
    fn character_references_and_cdata_are_decoded() {
        let xml = "<ShipmentData><Shipment WaybillNo=\"1\"><Status><![CDATA[A < B]]> &#65;</Status></Shipment></ShipmentData>";
        assert_eq!(parse_tracking(xml).unwrap()[0].status, "A < B A");
        // In attributes too, and their whitespace tidied.
        let xml =
            "<ShipmentData><Shipment WaybillNo='1' RefNo=\"SHOP&amp;CO &#9; 7\"/></ShipmentData>";
        assert_eq!(parse_tracking(xml).unwrap()[0].ref_no, "SHOP&CO 7");
    }
}
