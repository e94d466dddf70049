//! Phone numbers → E.164 with validity and line type, via `rlibphonenumber` (a port of
//! Google's libphonenumber; see README "Why rlibphonenumber" for the differential test that
//! chose it over the `phonenumber` crate).

use rlibphonenumber::{PhoneNumber, PhoneNumberType, Region, PHONE_NUMBER_UTIL};

/// A number we could read, valid or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneInfo {
    /// E.164 (`+79161234567`). Only set when libphonenumber calls the number valid.
    pub e164: Option<String>,
    pub line_type: LineType,
    /// Extension typed after the number (`доб. 12`, `ext 12`).
    pub extension: Option<String>,
    /// ISO region the number belongs to (RU, KZ, …), when valid.
    pub region: Option<String>,
}

impl PhoneInfo {
    pub fn is_valid(&self) -> bool {
        self.e164.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineType {
    Mobile,
    FixedLine,
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    Uan,
    Voicemail,
    Unknown,
}

impl LineType {
    pub fn as_str(self) -> &'static str {
        match self {
            LineType::Mobile => "mobile",
            LineType::FixedLine => "fixed_line",
            LineType::FixedLineOrMobile => "fixed_line_or_mobile",
            LineType::TollFree => "toll_free",
            LineType::PremiumRate => "premium_rate",
            LineType::SharedCost => "shared_cost",
            LineType::Voip => "voip",
            LineType::PersonalNumber => "personal_number",
            LineType::Pager => "pager",
            LineType::Uan => "uan",
            LineType::Voicemail => "voicemail",
            LineType::Unknown => "unknown",
        }
    }

    fn from_lib(t: PhoneNumberType) -> LineType {
        match t {
            PhoneNumberType::Mobile => LineType::Mobile,
            PhoneNumberType::FixedLine => LineType::FixedLine,
            PhoneNumberType::FixedLineOrMobile => LineType::FixedLineOrMobile,
            PhoneNumberType::TollFree => LineType::TollFree,
            PhoneNumberType::PremiumRate => LineType::PremiumRate,
            PhoneNumberType::SharedCost => LineType::SharedCost,
            PhoneNumberType::VoIP => LineType::Voip,
            PhoneNumberType::PersonalNumber => LineType::PersonalNumber,
            PhoneNumberType::Pager => LineType::Pager,
            PhoneNumberType::UAN => LineType::Uan,
            PhoneNumberType::VoiceMail => LineType::Voicemail,
            _ => LineType::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("empty")]
    Empty,
    #[error("{0:?} is not a phone number: {1}")]
    NotANumber(String, String),
    #[error("{0:?} is not a valid number")]
    Invalid(String),
}

/// The normaliser, configured with the region assumed for numbers typed without `+`.
#[derive(Debug, Clone, Copy)]
pub struct PhoneNormaliser {
    region: Region,
    country_code: u32,
}

impl Default for PhoneNormaliser {
    fn default() -> Self {
        PhoneNormaliser {
            region: Region::RU,
            country_code: 7,
        }
    }
}

/// Words that introduce an extension in Russian and English lists.
const EXTENSION_MARKERS: [&str; 8] = ["добавочный", "доб", "вн", "ext", "extension", "x", "#", "д"];

impl PhoneNormaliser {
    /// `region` is an ISO 3166 code such as `RU`; `None` if libphonenumber does not know it.
    pub fn for_region(region: &str) -> Option<PhoneNormaliser> {
        let region: Region = region.trim().to_ascii_uppercase().parse().ok()?;
        let country_code = PHONE_NUMBER_UTIL.get_country_code_for_region(region)?;
        Some(PhoneNormaliser {
            region,
            country_code: u32::try_from(country_code).ok()?,
        })
    }

    /// Normalises one number (with an optional extension).
    pub fn normalise(&self, raw: &str) -> Result<PhoneInfo, PhoneError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let (number_part, extension) = split_extension(trimmed);
        let number = match self.fast_parse(number_part) {
            Some(n) => n,
            None => PhoneNumber::parse(number_part, Some(self.region))
                .map_err(|e| PhoneError::NotANumber(raw.to_string(), format!("{e:?}")))?,
        };
        // libphonenumber's isValidNumber is "the number's type is known" for the region
        // found from the number itself, so one type lookup answers both questions (each
        // runs the region's patterns; the differential test holds this to libphonenumber).
        let line_type = number.get_type();
        if line_type == PhoneNumberType::Unknown {
            return Err(PhoneError::Invalid(raw.to_string()));
        }
        let extension = extension.or_else(|| {
            let ext = number.extension();
            (!ext.is_empty()).then(|| ext.to_string())
        });
        Ok(PhoneInfo {
            e164: Some(
                number
                    .format_as(rlibphonenumber::PhoneNumberFormat::E164)
                    .into_owned(),
            ),
            line_type: LineType::from_lib(line_type),
            extension,
            region: number.get_region_code().map(|r| r.to_string()),
        })
    }

    /// Most cells are plain digits with `+ ( ) - . space`. For those, the national number is
    /// found by the same rules libphonenumber applies for a region with a trunk prefix of
    /// 8 and country code 7 (strip `+7`, `7`, or `8` from 11 digits), skipping its regex-based
    /// parser, which is most of the cost. The differential test checks this path against
    /// libphonenumber itself. Anything else takes the full parser.
    fn fast_parse(&self, s: &str) -> Option<PhoneNumber> {
        if self.country_code != 7 {
            return None;
        }
        let mut digits = [0u8; 16];
        let mut n = 0;
        let mut plus = false;
        for (i, b) in s.bytes().enumerate() {
            match b {
                b'0'..=b'9' => {
                    if n == digits.len() {
                        return None;
                    }
                    digits[n] = b - b'0';
                    n += 1;
                }
                b'+' if i == 0 => plus = true,
                b' ' | b'(' | b')' | b'-' | b'.' => {}
                _ => return None,
            }
        }
        let national = match (plus, n, digits[0]) {
            (true, 11, 7) => &digits[1..11],
            (false, 11, 8) | (false, 11, 7) => &digits[1..11],
            (false, 10, d) if d != 8 && d != 7 => &digits[..10],
            _ => return None,
        };
        let national_number = national.iter().fold(0u64, |acc, &d| acc * 10 + d as u64);
        Some(PhoneNumber {
            country_code: 7,
            national_number,
            ..PhoneNumber::default()
        })
    }

    /// Splits a cell that may hold several numbers and normalises each candidate.
    pub fn normalise_cell(&self, cell: &str) -> Vec<(String, Result<PhoneInfo, PhoneError>)> {
        split_phones(cell)
            .into_iter()
            .map(|part| {
                let r = self.normalise(part);
                (part.to_string(), r)
            })
            .collect()
    }
}

/// The national display form of an E.164 number, as a person in that country dials it
/// (`8 (916) 123-45-67` for `+79161234567`).
pub fn national_display(e164: &str) -> Option<String> {
    let n = PhoneNumber::parse(e164, None).ok()?;
    Some(
        n.format_as(rlibphonenumber::PhoneNumberFormat::National)
            .into_owned(),
    )
}

/// The international display form of an E.164 number (`+7 916 123-45-67` for
/// `+79161234567`): dialable anywhere, and text (not a number) to every spreadsheet.
pub fn international_display(e164: &str) -> Option<String> {
    let n = PhoneNumber::parse(e164, None).ok()?;
    Some(
        n.format_as(rlibphonenumber::PhoneNumberFormat::International)
            .into_owned(),
    )
}

/// Splits `number доб. 12` into the number and `12`. Only a marker followed by digits to the
/// end counts, so letters inside a number (`8-800-GO-…`) are left to the parser.
fn split_extension(s: &str) -> (&str, Option<String>) {
    // Every marker has a letter or `#`: a cell of digits, spaces and punctuation (almost
    // every number) has none, and skips the lowercasing and the eight searches.
    if s.bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_alphabetic() && b != b'#')
    {
        return (s, None);
    }
    let lower = s.to_lowercase();
    // Work on byte offsets of `lower`; lowercase of these markers keeps byte lengths for
    // ASCII and Cyrillic alike, so offsets carry over when `s` and `lower` have equal length.
    if lower.len() != s.len() {
        return (s, None);
    }
    for marker in EXTENSION_MARKERS {
        let Some(pos) = lower.rfind(marker) else {
            continue;
        };
        let after = lower[pos + marker.len()..].trim_start_matches(['.', ':', ' ', '№']);
        if after.is_empty() || !after.chars().all(|c| c.is_ascii_digit()) || after.len() > 6 {
            continue;
        }
        // The number must have ended before the marker (a digit, space or bracket there).
        let before = s[..pos].trim_end_matches([' ', ',', '(', ')', ';', '.']);
        if before.chars().filter(|c| c.is_ascii_digit()).count() < 6 {
            continue;
        }
        return (before, Some(after.to_string()));
    }
    (s, None)
}

/// Splits a cell with several numbers: `,` `;` `/` `|` newlines and the words и / или / or.
pub fn split_phones(cell: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for piece in cell.split([',', ';', '/', '|', '\n', '\r']) {
        // Most pieces are digits and punctuation: no word to look for.
        if !piece.bytes().any(|b| b.is_ascii_alphabetic() || b >= 0x80) {
            push_part(&mut parts, piece);
            continue;
        }
        let mut rest = piece;
        loop {
            let lower_hit = [" или ", " и ", " or ", " and "]
                .iter()
                .filter_map(|w| rest.find(w).map(|p| (p, w.len())))
                .min();
            match lower_hit {
                Some((p, len)) => {
                    push_part(&mut parts, &rest[..p]);
                    rest = &rest[p + len..];
                }
                None => {
                    push_part(&mut parts, rest);
                    break;
                }
            }
        }
    }
    parts
}

fn push_part<'a>(parts: &mut Vec<&'a str>, p: &'a str) {
    let p = p.trim();
    if p.is_empty() {
        return;
    }
    // A piece without digits ("моб.", "раб.") is a label, not a number: glue nothing, drop it.
    if !p.chars().any(|c| c.is_ascii_digit()) {
        return;
    }
    // A short digit group after a separator is usually an extension or a second ending
    // (`123-45-67, 68`), not a number of its own; leave it with the parser to reject.
    parts.push(p);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(s: &str) -> Option<String> {
        PhoneNormaliser::default()
            .normalise(s)
            .ok()
            .and_then(|i| i.e164)
    }

    #[test]
    fn russian_formats_agree() {
        for s in [
            "8 (916) 123-45-67",
            "+79161234567",
            "+7 916 123 45 67",
            "79161234567",
            "9161234567",
            "8-916-123-45-67",
            "+7(916)1234567",
            "8 916 1234567 доб. 12",
        ] {
            assert_eq!(e164(s).as_deref(), Some("+79161234567"), "{s}");
        }
    }

    #[test]
    fn toll_free_8800_is_kept_whole() {
        let info = PhoneNormaliser::default()
            .normalise("8-800-555-35-35")
            .unwrap();
        assert_eq!(info.e164.as_deref(), Some("+78005553535"));
        assert_eq!(info.line_type, LineType::TollFree);
        assert_eq!(e164("+78005553535").as_deref(), Some("+78005553535"));
        assert_eq!(e164("88005553535").as_deref(), Some("+78005553535"));
    }

    #[test]
    fn line_types_and_regions() {
        let n = PhoneNormaliser::default();
        assert_eq!(
            n.normalise("+7 916 123-45-67").unwrap().line_type,
            LineType::Mobile
        );
        let moscow = n.normalise("+7 495 123-45-67").unwrap();
        assert_eq!(moscow.line_type, LineType::FixedLine);
        assert_eq!(moscow.region.as_deref(), Some("RU"));
        let kz = n.normalise("+7 701 123 4567").unwrap();
        assert_eq!(kz.region.as_deref(), Some("KZ"));
        let de = n.normalise("+49 30 901820").unwrap();
        assert_eq!(de.e164.as_deref(), Some("+4930901820"));
    }

    #[test]
    fn extensions() {
        let n = PhoneNormaliser::default();
        for (s, ext) in [
            ("+7 495 123-45-67 доб. 123", "123"),
            ("8 (495) 123-45-67, доб 4", "4"),
            ("+7 495 123 45 67 ext. 55", "55"),
            ("84951234567 вн.12", "12"),
        ] {
            let info = n.normalise(s).unwrap();
            assert_eq!(info.e164.as_deref(), Some("+74951234567"), "{s}");
            assert_eq!(info.extension.as_deref(), Some(ext), "{s}");
        }
    }

    #[test]
    fn invalid_and_garbage() {
        let n = PhoneNormaliser::default();
        assert_eq!(n.normalise("   "), Err(PhoneError::Empty));
        assert!(n.normalise("12345").is_err());
        assert!(n.normalise("+7 000 000 00 00").is_err());
        assert!(n.normalise("не звонить").is_err());
        assert!(n.normalise("8 (916) 123-45").is_err());
    }

    #[test]
    fn several_numbers_in_one_cell() {
        let parts =
            split_phones("8 916 123-45-67, +7 495 765 43 21; моб. 89261112233 или 8 800 555 35 35");
        assert_eq!(
            parts,
            vec![
                "8 916 123-45-67",
                "+7 495 765 43 21",
                "моб. 89261112233",
                "8 800 555 35 35"
            ]
        );
        let n = PhoneNormaliser::default();
        let got: Vec<_> = n
            .normalise_cell("8 916 123-45-67 / 8 (495) 765-43-21")
            .into_iter()
            .filter_map(|(_, r)| r.ok().and_then(|i| i.e164))
            .collect();
        assert_eq!(got, vec!["+79161234567", "+74957654321"]);
    }

    #[test]
    fn other_default_region() {
        let n = PhoneNormaliser::for_region("de").unwrap();
        assert_eq!(
            n.normalise("030 901820").unwrap().e164.as_deref(),
            Some("+4930901820")
        );
        assert!(PhoneNormaliser::for_region("QQ").is_none());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = PhoneNormaliser::default().normalise_cell(&s);
        }

        /// Any Russian mobile written in any of the common ways gives one E.164.
        #[test]
        fn formats_converge(code in 900u32..=999, rest in 0u32..10_000_000, style in 0usize..6) {
            let a = rest / 100_000;
            let b = (rest / 1000) % 100;
            let c = (rest / 10) % 100;
            let d = rest % 10;
            let digits7 = format!("{a:02}{b:02}{c:02}{d}");
            let shown = match style {
                0 => format!("8 ({code}) {}-{}-{}", &digits7[..3], &digits7[3..5], &digits7[5..]),
                1 => format!("+7{code}{digits7}"),
                2 => format!("7{code}{digits7}"),
                3 => format!("{code}{digits7}"),
                4 => format!("+7 {code} {} {} {}", &digits7[..3], &digits7[3..5], &digits7[5..]),
                _ => format!("8-{code}-{digits7} доб. 7"),
            };
            let canonical = PhoneNormaliser::default().normalise(&format!("+7{code}{digits7}"));
            let got = PhoneNormaliser::default().normalise(&shown);
            prop_assert_eq!(
                canonical.ok().and_then(|i| i.e164),
                got.ok().and_then(|i| i.e164)
            );
        }
    }
}
