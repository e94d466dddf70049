//! Decoding text files whose encoding nobody wrote down: BOM, then UTF-8 if it is valid,
//! then chardetng's guess (CP1251 for most Russian lists).

use super::SourceError;
use encoding_rs::Encoding;
use std::path::Path;

pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    /// Some bytes were not valid in `encoding` (they became U+FFFD).
    pub had_errors: bool,
}

/// Refuses files that are clearly not text: NUL bytes, or many control characters, in the
/// first 64 KiB. UTF-16 files (which have NULs) are caught by their BOM before this.
pub fn check_not_binary(path: &Path, bytes: &[u8], kind: &'static str) -> Result<(), SourceError> {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        if enc != encoding_rs::UTF_8 {
            return Ok(()); // UTF-16: NULs are part of the text
        }
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let mut controls = 0usize;
    for (offset, &b) in head.iter().enumerate() {
        let is_control = b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c);
        if b == 0 {
            return Err(SourceError::Binary {
                path: path.to_path_buf(),
                kind,
                offset,
            });
        }
        if is_control {
            controls += 1;
            if controls > 8 && controls * 20 > offset {
                return Err(SourceError::Binary {
                    path: path.to_path_buf(),
                    kind,
                    offset,
                });
            }
        }
    }
    Ok(())
}

/// Decodes `bytes` with the given label, or detects the encoding.
pub fn decode(path: &Path, bytes: &[u8], label: Option<&str>) -> Result<Decoded, SourceError> {
    let encoding = match label {
        Some(label) => Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            SourceError::UnknownEncoding {
                path: path.to_path_buf(),
                label: label.to_string(),
            }
        })?,
        None => detect(bytes),
    };
    // A BOM wins over the label: it is the file speaking for itself.
    let (text, used, had_errors) = encoding.decode(bytes);
    Ok(Decoded {
        text: text.into_owned(),
        encoding: used,
        had_errors,
    })
}

/// A UTF-8 file with a stray bad byte or two is still UTF-8: decoding it all as CP1251
/// would garble every Cyrillic letter. The rows with the bad bytes are refused instead.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let mut valid_multibyte = 0usize;
    let mut errors = 0usize;
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid_multibyte += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                valid_multibyte += std::str::from_utf8(good)
                    .map(|s| s.chars().filter(|c| !c.is_ascii()).count())
                    .unwrap_or(0);
                errors += 1;
                // Clearly not UTF-8 (a CP1251 list): stop counting early.
                if errors > 20 && errors * 100 > valid_multibyte {
                    return false;
                }
                let skip = e.error_len().unwrap_or(bad.len()).max(1);
                rest = &bad[skip.min(bad.len())..];
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    valid_multibyte >= 20 && errors * 100 <= valid_multibyte
}

fn detect(bytes: &[u8]) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return enc;
    }
    if std::str::from_utf8(bytes).is_ok() || mostly_utf8(bytes) {
        return encoding_rs::UTF_8;
    }
    // The first megabyte decides: chardetng over a whole 100 MB list costs seconds and
    // says nothing more.
    let sample = &bytes[..bytes.len().min(1 << 20)];
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, true);
    // The TLD hint tilts close calls towards Cyrillic encodings, which is what we get.
    detector.guess(Some(b"ru"), chardetng::Utf8Detection::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_cp1251_and_utf8_bom() {
        let (cp, _, _) = encoding_rs::WINDOWS_1251.encode("ФИО;Телефон\nИванов Иван;89161234567\n");
        let d = decode(Path::new("x"), &cp, None).unwrap();
        assert_eq!(d.encoding, encoding_rs::WINDOWS_1251);
        assert!(d.text.starts_with("ФИО;Телефон"));

        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("ФИО,Телефон\n".as_bytes());
        let d = decode(Path::new("x"), &bom, None).unwrap();
        assert_eq!(d.encoding, encoding_rs::UTF_8);
        assert_eq!(d.text, "ФИО,Телефон\n");
    }

    #[test]
    fn explicit_label_and_unknown_label() {
        let (cp, _, _) = encoding_rs::WINDOWS_1251.encode("Город");
        let d = decode(Path::new("x"), &cp, Some("cp1251")).unwrap();
        assert_eq!(d.text, "Город");
        assert!(matches!(
            decode(Path::new("x"), &cp, Some("klingon")),
            Err(SourceError::UnknownEncoding { .. })
        ));
    }

    #[test]
    fn utf16_with_bom_is_text_and_stray_bytes_keep_utf8() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "ФИО\tТелефон\n".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert!(check_not_binary(Path::new("x"), &utf16, "CSV").is_ok());
        let d = decode(Path::new("x"), &utf16, None).unwrap();
        assert_eq!(d.text, "ФИО\tТелефон\n");

        let mut bytes = "ФИО;Телефон\nИванов Иван Иванович;89161234567\n"
            .repeat(5)
            .into_bytes();
        bytes.push(0xFF);
        let d = decode(Path::new("x"), &bytes, None).unwrap();
        assert_eq!(d.encoding, encoding_rs::UTF_8);
        assert!(d.had_errors && d.text.starts_with("ФИО;Телефон"));
    }

    #[test]
    fn binary_is_refused() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        assert!(check_not_binary(Path::new("x"), &bytes, "CSV").is_err());
        assert!(check_not_binary(Path::new("x"), "a;b\r\n1;2\n".as_bytes(), "CSV").is_ok());
    }
}
