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

/// The encoding a label names, or the one detected in `bytes` when there is no label.
fn choose_encoding(
    path: &Path,
    bytes: &[u8],
    label: Option<&str>,
) -> Result<&'static Encoding, SourceError> {
    match label {
        Some(label) => Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            SourceError::UnknownEncoding {
                path: path.to_path_buf(),
                label: label.to_string(),
            }
        }),
        None => Ok(detect(bytes)),
    }
}

/// Decodes `bytes` with the given label, or detects the encoding.
pub fn decode(path: &Path, bytes: &[u8], label: Option<&str>) -> Result<Decoded, SourceError> {
    let encoding = choose_encoding(path, bytes, label)?;
    // A BOM wins over the label: it is the file speaking for itself.
    let (text, used, had_errors) = encoding.decode(bytes);
    Ok(Decoded {
        text: text.into_owned(),
        encoding: used,
        had_errors,
    })
}

/// A file decoded while it is read: the decoded text of a 100 MB list is never held whole
/// (it took ~150 MB beside the rows being normalised).
pub struct StreamDecoded {
    pub reader: DecodingReader,
    /// The decoded start of the file (up to 64 KiB), for sniffing its layout.
    pub head: String,
    pub encoding: &'static Encoding,
    /// Some bytes were not valid in `encoding` (they become U+FFFD).
    pub had_errors: bool,
}

/// Like [`decode`], streaming: the bytes are kept, the text is made as it is read.
pub fn decode_streaming(
    path: &Path,
    bytes: Vec<u8>,
    label: Option<&str>,
) -> Result<StreamDecoded, SourceError> {
    let chosen = choose_encoding(path, &bytes, label)?;
    // A BOM wins over the label, as in `decode`.
    let (encoding, bom) = Encoding::for_bom(&bytes).unwrap_or((chosen, 0));
    let body = &bytes[bom..];
    // Whether any byte fails to decode must be known before the first row is judged:
    // one pass that keeps nothing.
    let had_errors = if encoding == encoding_rs::UTF_8 {
        std::str::from_utf8(body).is_err()
    } else if encoding.is_single_byte() {
        // A single-byte decoder is stateless: a byte fails alone or never. Checking bytes
        // against a 256-entry table is ~10x faster than decoding the whole file up front,
        // which ran before any worker could start.
        let unmappable: [bool; 256] = std::array::from_fn(|b| {
            let mut decoder = encoding.new_decoder_without_bom_handling();
            let mut out = [0u8; 8];
            decoder.decode_to_utf8(&[b as u8], &mut out, true).3
        });
        body.iter().any(|&b| unmappable[usize::from(b)])
    } else {
        let mut decoder = encoding.new_decoder_without_bom_handling();
        let mut scratch = vec![0u8; 1 << 16];
        let (mut pos, mut errors) = (0, false);
        loop {
            let (result, read, _, had) = decoder.decode_to_utf8(&body[pos..], &mut scratch, true);
            pos += read;
            errors |= had;
            if result == encoding_rs::CoderResult::InputEmpty {
                break;
            }
        }
        errors
    };
    let head = encoding
        .decode_without_bom_handling(&body[..body.len().min(1 << 16)])
        .0
        .into_owned();
    Ok(StreamDecoded {
        reader: DecodingReader {
            decoder: encoding.new_decoder_without_bom_handling(),
            bytes,
            pos: bom,
            out: Vec::new(),
            out_pos: 0,
            done: false,
        },
        head,
        encoding,
        had_errors,
    })
}

/// UTF-8 text of `bytes`, produced as it is read.
pub struct DecodingReader {
    bytes: Vec<u8>,
    pos: usize,
    decoder: encoding_rs::Decoder,
    out: Vec<u8>,
    out_pos: usize,
    done: bool,
}

impl std::io::Read for DecodingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.out_pos == self.out.len() {
            if self.done {
                return Ok(0);
            }
            // Decode the next piece into a buffer of our own, so a caller's tiny buffer
            // never has to hold a whole character.
            self.out.resize(1 << 16, 0);
            let end = (self.pos + (1 << 15)).min(self.bytes.len());
            let last = end == self.bytes.len();
            let (result, read, written, _) =
                self.decoder
                    .decode_to_utf8(&self.bytes[self.pos..end], &mut self.out, last);
            self.pos += read;
            self.out.truncate(written);
            self.out_pos = 0;
            if last && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
            if written == 0 {
                return if self.done { Ok(0) } else { self.read(buf) };
            }
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
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
    fn streaming_decode_equals_whole_decode() {
        use std::io::Read;
        let cp: Vec<u8> = encoding_rs::WINDOWS_1251
            .encode(&"Иванов;Иван;+7 916 123-45-67\n".repeat(5000))
            .0
            .into_owned();
        let mut utf8_bom = b"\xEF\xBB\xBF".to_vec();
        utf8_bom.extend("Петров;ёж\n".repeat(7000).as_bytes());
        let mut broken = "Сидоров\n".repeat(9000).into_bytes();
        broken.insert(40_000, 0xFF);
        // 0xA5 is unmapped in ISO-8859-3 (the single-byte error scan; WHATWG's CP1251
        // maps every byte).
        let mut latin3_broken = b"Zeynep;Istanbul\n".repeat(4000);
        latin3_broken.insert(50_000, 0xA5);
        let koi8 = encoding_rs::KOI8_R.encode("Смирнова;Анна\n").0.repeat(3000);
        let mut sjis_broken = encoding_rs::SHIFT_JIS.encode("東京;太郎\n").0.repeat(3000);
        sjis_broken.insert(20_001, 0xFF);
        let mut errors = 0;
        for (bytes, label) in [
            (latin3_broken, Some("iso-8859-3")),
            (koi8, Some("koi8-r")),
            (sjis_broken, Some("shift_jis")),
            (cp.clone(), None),
            (cp, Some("cp1251")),
            (utf8_bom, None),
            (broken, Some("utf-8")),
        ] {
            let whole = decode(Path::new("x"), &bytes, label).unwrap();
            let mut streamed = decode_streaming(Path::new("x"), bytes, label).unwrap();
            let mut text = String::new();
            streamed.reader.read_to_string(&mut text).unwrap();
            assert_eq!(text, whole.text);
            assert_eq!(streamed.encoding, whole.encoding);
            assert_eq!(streamed.had_errors, whole.had_errors);
            errors += usize::from(whole.had_errors);
            assert!(whole
                .text
                .starts_with(streamed.head.trim_end_matches('\u{FFFD}')));
        }
        assert_eq!(errors, 3, "three of the inputs have undecodable bytes");
    }

    #[test]
    fn binary_is_refused() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        assert!(check_not_binary(Path::new("x"), &bytes, "CSV").is_err());
        assert!(check_not_binary(Path::new("x"), "a;b\r\n1;2\n".as_bytes(), "CSV").is_ok());
    }
}
