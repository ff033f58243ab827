//! Text encodings of Shapefile attributes and CSV files.
//!
//! Chinese offices' Shapefiles come from ArcGIS with GBK text (code page 936),
//! newer ones with UTF-8; a `.cpg` beside the `.dbf` says which, and so does,
//! sometimes, the language driver byte of the `.dbf` header. Text that does
//! not decode in the chosen encoding is an error naming the record and field,
//! never replacement characters in the output.

use encoding_rs::Encoding;

use super::FormatError;

/// The encoding a label names: WHATWG labels (`utf-8`, `gbk`, `gb2312`,
/// `gb18030`, `big5`, `windows-1252`, …) and the code page numbers a `.cpg`
/// may hold (`936`, `54936`, `65001`, `950`, `1252`, `88591`), with or
/// without a `CP` prefix.
pub fn parse_encoding(label: &str) -> Result<&'static Encoding, FormatError> {
    let trimmed = label.trim().trim_start_matches('\u{feff}').trim();
    let lower = trimmed.to_ascii_lowercase();
    let number = lower
        .strip_prefix("cp")
        .or_else(|| lower.strip_prefix("windows-"))
        .unwrap_or(&lower);
    let by_page = match number {
        "936" => Some(encoding_rs::GBK),
        "54936" => Some(encoding_rs::GB18030),
        "65001" | "utf8" => Some(encoding_rs::UTF_8),
        "950" => Some(encoding_rs::BIG5),
        "1252" | "88591" | "8859_1" => Some(encoding_rs::WINDOWS_1252),
        "932" => Some(encoding_rs::SHIFT_JIS),
        "949" => Some(encoding_rs::EUC_KR),
        _ => None,
    };
    by_page
        .or_else(|| Encoding::for_label(lower.as_bytes()))
        .ok_or_else(|| FormatError::UnknownEncoding(trimmed.to_string()))
}

/// The encoding a `.dbf` header's language driver id names, for the Chinese
/// and other code pages GIS software writes there; `None` when it names none.
pub(super) fn from_ldid(ldid: u8) -> Option<&'static Encoding> {
    match ldid {
        0x4d | 0x7a => Some(encoding_rs::GBK),
        0x4f | 0x78 => Some(encoding_rs::BIG5),
        0x57 | 0x03 => Some(encoding_rs::WINDOWS_1252),
        _ => None,
    }
}

/// Decodes `bytes` strictly: an error naming `what` when they are not text in
/// `encoding` (with a hint when UTF-8 was only assumed).
pub(super) fn decode(
    bytes: &[u8],
    encoding: &'static Encoding,
    what: impl FnOnce() -> String,
    assumed: bool,
) -> Result<String, FormatError> {
    let bytes = bytes
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .filter(|_| encoding == encoding_rs::UTF_8)
        .unwrap_or(bytes);
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
        .ok_or_else(|| undecodable(what(), encoding, assumed))
}

pub(super) fn undecodable(what: String, encoding: &'static Encoding, assumed: bool) -> FormatError {
    FormatError::Undecodable {
        what,
        encoding: encoding.name(),
        hint: if assumed {
            " (no .cpg or --encoding said which encoding it is in: give --encoding, e.g. --encoding GBK; encoding=GBK on an upload)"
        } else {
            " (check the .cpg or --encoding)"
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_code_pages() {
        for (label, enc) in [
            ("GBK", encoding_rs::GBK),
            ("936", encoding_rs::GBK),
            ("CP936", encoding_rs::GBK),
            ("gb2312", encoding_rs::GBK),
            ("GB18030", encoding_rs::GB18030),
            ("UTF-8\n", encoding_rs::UTF_8),
            ("65001", encoding_rs::UTF_8),
            ("88591", encoding_rs::WINDOWS_1252),
        ] {
            assert_eq!(parse_encoding(label).unwrap(), enc, "{label}");
        }
        assert!(parse_encoding("klingon").is_err());
        let gbk = encoding_rs::GBK.encode("社区").0;
        assert_eq!(
            decode(&gbk, encoding_rs::GBK, String::new, false).unwrap(),
            "社区"
        );
        let err = decode(&gbk, encoding_rs::UTF_8, || "record 3".into(), true).unwrap_err();
        assert!(
            err.to_string().contains("record 3 is not valid UTF-8"),
            "{err}"
        );
    }
}
