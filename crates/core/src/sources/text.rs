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

/// Refuses files that are clearly not text: many control characters (NUL bytes count) in
/// the first 64 KiB, as in a spreadsheet, archive, PDF or UTF-16 without a BOM saved under
/// a `.csv` name. UTF-16 files with a BOM are caught by it before this. A stray NUL in an
/// otherwise text file is not a binary file: it refuses the row that holds it, wherever
/// it is (see `check_cells`), the same at row 3 as at row 150,000.
pub fn check_not_binary(path: &Path, bytes: &[u8], kind: &'static str) -> Result<(), SourceError> {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        if enc != encoding_rs::UTF_8 {
            return Ok(()); // UTF-16: NULs are part of the text
        }
    }
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let mut controls = 0usize;
    for (offset, &b) in head.iter().enumerate() {
        let is_control = b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c);
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

/// How much of a file's start is looked at to sniff its layout and check it is text.
const SNIFF_BYTES: usize = 1 << 16;
/// How much of a file's start chardetng sees (and the first pass keeps).
const DETECT_BYTES: usize = 1 << 20;
/// Read size of the passes over a file.
const CHUNK_BYTES: usize = 1 << 16;

/// What one streaming pass over a text file learns, keeping only its first megabyte.
pub struct Scan {
    /// SHA-256 of the file's bytes.
    pub content_hash: String,
    /// The first [`DETECT_BYTES`] of the file.
    pub head: Vec<u8>,
    utf8: Utf8Scan,
    /// Which bytes 0x80..=0xFF occur (bit `b - 0x80`): enough to tell whether a
    /// single-byte encoding decodes every byte (ASCII always does).
    high_bytes: u128,
}

/// UTF-8 validity of a stream, as [`mostly_utf8`] judges a whole file.
#[derive(Default)]
struct Utf8Scan {
    /// The start of a character cut by the end of the last chunk.
    carry: Vec<u8>,
    buf: Vec<u8>,
    valid_multibyte: usize,
    errors: usize,
    /// Clearly not UTF-8: counting stopped (as `mostly_utf8` stops early).
    not_utf8: bool,
}

impl Utf8Scan {
    fn feed(&mut self, chunk: &[u8], last: bool) {
        let data: &[u8] = if self.carry.is_empty() {
            chunk
        } else {
            self.buf.clear();
            self.buf.append(&mut self.carry);
            self.buf.extend_from_slice(chunk);
            &self.buf
        };
        let mut rest = data;
        let mut carry = Vec::new();
        loop {
            match std::str::from_utf8(rest) {
                Ok(_) => {
                    self.valid_multibyte += lead_bytes(rest);
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    self.valid_multibyte += lead_bytes(good);
                    if e.error_len().is_none() && !last {
                        carry.extend_from_slice(bad); // completed by the next chunk
                        break;
                    }
                    self.errors += 1;
                    if self.errors > 20 && self.errors * 100 > self.valid_multibyte {
                        self.not_utf8 = true;
                    }
                    let skip = e.error_len().unwrap_or(bad.len()).max(1);
                    rest = &bad[skip.min(bad.len())..];
                    if rest.is_empty() {
                        break;
                    }
                }
            }
        }
        self.carry = carry;
    }

    fn is_valid(&self) -> bool {
        self.errors == 0
    }

    /// As [`mostly_utf8`] over the whole file.
    fn mostly(&self) -> bool {
        !self.not_utf8 && self.valid_multibyte >= 20 && self.errors * 100 <= self.valid_multibyte
    }
}

/// Characters of more than one byte in valid UTF-8: one lead byte (0xC0 or above) each.
fn lead_bytes(valid: &[u8]) -> usize {
    valid.iter().filter(|&&b| b >= 0xC0).count()
}

fn high_bytes_in(chunk: &[u8]) -> u128 {
    let mut mask = 0u128;
    let mut words = chunk.chunks_exact(8);
    for w in &mut words {
        let word = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        if word & 0x8080_8080_8080_8080 != 0 {
            for &b in w {
                if b >= 0x80 {
                    mask |= 1u128 << (b - 0x80);
                }
            }
        }
    }
    for &b in words.remainder() {
        if b >= 0x80 {
            mask |= 1u128 << (b - 0x80);
        }
    }
    mask
}

/// The first pass over a text source: its hash, its start, and what encoding detection
/// and the check for undecodable bytes need to know about the rest. Memory stays at a
/// megabyte whatever the size of the file.
pub fn scan(path: &Path, input: &super::Input) -> Result<Scan, SourceError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut reader = input.reader().map_err(|e| super::file_error(path, e))?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut utf8 = Utf8Scan::default();
    let mut high_bytes = 0u128;
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut filled = 0;
    loop {
        // Whole chunks (but for the last), so UTF-8 is judged over few boundaries.
        let n = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(super::file_error(path, e)),
        };
        filled += n;
        let last = n == 0;
        if filled < buf.len() && !last {
            continue;
        }
        let chunk = &buf[..filled];
        hasher.update(chunk);
        if head.len() < DETECT_BYTES {
            let take = (DETECT_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        utf8.feed(chunk, last);
        high_bytes |= high_bytes_in(chunk);
        filled = 0;
        if last {
            break;
        }
    }
    Ok(Scan {
        content_hash: hex::encode(hasher.finalize()),
        head,
        utf8,
        high_bytes,
    })
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

/// A file decoded while it is read: neither its bytes nor its decoded text are ever held
/// whole (a 100 MB list took ~150 MB beside the rows being normalised when they were).
pub struct StreamDecoded {
    pub reader: DecodingReader,
    /// The decoded start of the file (up to 64 KiB), for sniffing its layout.
    pub head: String,
    pub encoding: &'static Encoding,
    /// Some bytes were not valid in `encoding` (they become U+FFFD).
    pub had_errors: bool,
    /// Length of the byte order mark skipped.
    bom: usize,
}

impl StreamDecoded {
    /// Another reader of the same text from its start (for a look ahead that keeps nothing).
    pub fn again(&self, path: &Path, input: &super::Input) -> Result<DecodingReader, SourceError> {
        let mut source = input.reader().map_err(|e| super::file_error(path, e))?;
        skip(&mut source, self.bom).map_err(|e| super::file_error(path, e))?;
        Ok(DecodingReader::new(self.encoding, source))
    }
}

/// Like [`decode`], streaming: after the first pass ([`scan`]) the file is read again
/// through the decoder as rows are wanted.
pub fn decode_streaming(
    path: &Path,
    input: &super::Input,
    scan: &Scan,
    label: Option<&str>,
) -> Result<StreamDecoded, SourceError> {
    let chosen = match label {
        Some(_) => choose_encoding(path, &scan.head, label)?,
        None => detect_scanned(scan),
    };
    // A BOM wins over the label, as in `decode`.
    let (encoding, bom) = Encoding::for_bom(&scan.head).unwrap_or((chosen, 0));
    let body_head = &scan.head[bom..];
    // Whether any byte fails to decode must be known before the first row is judged.
    let had_errors = if encoding == encoding_rs::UTF_8 {
        !scan.utf8.is_valid()
    } else if encoding.is_single_byte() {
        // A single-byte decoder is stateless: a byte fails alone or never, so the set of
        // bytes the file holds tells (ASCII decodes in every single-byte encoding; should
        // one not, the whole file is decoded once to know).
        let fails = |b: u8| {
            let mut decoder = encoding.new_decoder_without_bom_handling();
            let mut out = [0u8; 8];
            decoder.decode_to_utf8(&[b], &mut out, true).3
        };
        if (0..0x80u8).any(fails) {
            decode_has_errors(path, input, encoding, bom)?
        } else {
            (0x80..=0xFFu8).any(|b| scan.high_bytes & (1u128 << (b - 0x80)) != 0 && fails(b))
        }
    } else {
        decode_has_errors(path, input, encoding, bom)?
    };
    let head = encoding
        .decode_without_bom_handling(&body_head[..body_head.len().min(SNIFF_BYTES)])
        .0
        .into_owned();
    let mut source = input.reader().map_err(|e| super::file_error(path, e))?;
    skip(&mut source, bom).map_err(|e| super::file_error(path, e))?;
    Ok(StreamDecoded {
        reader: DecodingReader::new(encoding, source),
        head,
        encoding,
        had_errors,
        bom,
    })
}

fn skip(reader: &mut dyn std::io::Read, n: usize) -> std::io::Result<()> {
    let mut buf = [0u8; 8];
    reader.read_exact(&mut buf[..n])
}

/// One more pass, decoding and keeping nothing, for encodings where only decoding tells.
fn decode_has_errors(
    path: &Path,
    input: &super::Input,
    encoding: &'static Encoding,
    bom: usize,
) -> Result<bool, SourceError> {
    use std::io::Read;
    let mut source = input.reader().map_err(|e| super::file_error(path, e))?;
    skip(&mut source, bom).map_err(|e| super::file_error(path, e))?;
    let mut reader = DecodingReader::new(encoding, source);
    let mut scratch = vec![0u8; CHUNK_BYTES];
    while reader
        .read(&mut scratch)
        .map_err(|e| super::file_error(path, e))?
        > 0
    {}
    Ok(reader.had_errors)
}

/// UTF-8 text of a byte stream, produced as it is read.
pub struct DecodingReader {
    source: Box<dyn std::io::Read + Send>,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_pos: usize,
    in_end: usize,
    source_done: bool,
    out: Vec<u8>,
    out_pos: usize,
    done: bool,
    /// Some bytes so far did not decode.
    pub had_errors: bool,
}

impl DecodingReader {
    pub fn new(encoding: &'static Encoding, source: Box<dyn std::io::Read + Send>) -> Self {
        DecodingReader {
            source,
            decoder: encoding.new_decoder_without_bom_handling(),
            input: vec![0u8; 1 << 15],
            in_pos: 0,
            in_end: 0,
            source_done: false,
            out: Vec::with_capacity(1 << 16),
            out_pos: 0,
            done: false,
            had_errors: false,
        }
    }

    /// Decodes the next piece into `out`; false at the end.
    fn refill(&mut self) -> std::io::Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            if self.in_pos == self.in_end && !self.source_done {
                self.in_pos = 0;
                self.in_end = loop {
                    match self.source.read(&mut self.input) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                self.source_done = self.in_end == 0;
            }
            // Decode into a buffer of our own, so a caller's tiny buffer never has to hold
            // a whole character.
            self.out.resize(1 << 16, 0);
            let last = self.source_done;
            let (result, read, written, had) = self.decoder.decode_to_utf8(
                &self.input[self.in_pos..self.in_end],
                &mut self.out,
                last,
            );
            self.had_errors |= had;
            self.in_pos += read;
            self.out.truncate(written);
            self.out_pos = 0;
            if last && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
            if written > 0 {
                return Ok(true);
            }
        }
    }
}

impl std::io::Read for DecodingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::BufRead;
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl std::io::BufRead for DecodingReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.out_pos == self.out.len() && !self.refill()? {
            return Ok(&[]);
        }
        Ok(&self.out[self.out_pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.out_pos = (self.out_pos + amt).min(self.out.len());
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

/// [`detect`] from a first pass: the same answer, from what the pass counted.
fn detect_scanned(scan: &Scan) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(&scan.head) {
        return enc;
    }
    if scan.utf8.is_valid() || scan.utf8.mostly() {
        return encoding_rs::UTF_8;
    }
    chardet(&scan.head)
}

fn chardet(bytes: &[u8]) -> &'static Encoding {
    // The first megabyte decides: chardetng over a whole 100 MB list costs seconds and
    // says nothing more.
    let sample = &bytes[..bytes.len().min(DETECT_BYTES)];
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, true);
    // The TLD hint tilts close calls towards Cyrillic encodings, which is what we get.
    detector.guess(Some(b"ru"), chardetng::Utf8Detection::Allow)
}

fn detect(bytes: &[u8]) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return enc;
    }
    if std::str::from_utf8(bytes).is_ok() || mostly_utf8(bytes) {
        return encoding_rs::UTF_8;
    }
    chardet(bytes)
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
            let input = crate::sources::Input::bytes(bytes);
            let scanned = scan(Path::new("x"), &input).unwrap();
            let mut streamed = decode_streaming(Path::new("x"), &input, &scanned, label).unwrap();
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
    fn utf8_scan_in_chunks_judges_as_the_whole_file() {
        // Cut at every offset near multi-byte characters and bad bytes.
        let mut bytes = "ФИО;ёж;€\n".repeat(40).into_bytes();
        bytes.insert(37, 0xFF);
        bytes.insert(90, 0xE0);
        let cp1251 = encoding_rs::WINDOWS_1251
            .encode(&"Жук;Ёж\n".repeat(50))
            .0
            .into_owned();
        for sample in [bytes, cp1251, b"plain ascii\n".repeat(30)] {
            let whole = std::str::from_utf8(&sample).is_ok() || mostly_utf8(&sample);
            for chunk in 1..12 {
                let mut scan = Utf8Scan::default();
                let pieces: Vec<&[u8]> = sample.chunks(chunk).collect();
                for (i, piece) in pieces.iter().enumerate() {
                    scan.feed(piece, i + 1 == pieces.len());
                }
                assert_eq!(scan.is_valid() || scan.mostly(), whole, "chunk {chunk}");
                assert_eq!(scan.is_valid(), std::str::from_utf8(&sample).is_ok());
            }
        }
    }

    #[test]
    fn binary_is_refused() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        assert!(check_not_binary(Path::new("x"), &bytes, "CSV").is_err());
        assert!(check_not_binary(Path::new("x"), "a;b\r\n1;2\n".as_bytes(), "CSV").is_ok());
    }
}
