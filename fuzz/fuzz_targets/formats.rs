//! The readers of uploaded files other than GeoJSON, through the entry the
//! upload uses (`layers::formats::from_bytes`, then `layers::read_layer` with
//! the file's origin): the first byte picks the format (zipped Shapefile,
//! GeoPackage, CSV, Excel) and the second the text encoding, the rest is the
//! file. Each must answer with layers and per-record rejections or an error,
//! never panic, hang or grow without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wangge::layers::formats::{from_bytes, parse_encoding, Format, SourceOptions};
use wangge::layers::{read_layer, LayerKind, ReadOptions};

const FORMATS: [Format; 4] = [
    Format::ShapefileZip,
    Format::GeoPackage,
    Format::Csv,
    Format::Excel,
];
const ENCODINGS: [Option<&str>; 4] = [None, Some("GBK"), Some("UTF-8"), Some("GB18030")];

fuzz_target!(|data: &[u8]| {
    let [f, e, file @ ..] = data else {
        return;
    };
    let format = FORMATS[usize::from(*f) % FORMATS.len()];
    let source = SourceOptions {
        encoding: ENCODINGS[usize::from(*e) % ENCODINGS.len()]
            .map(|name| parse_encoding(name).expect("a known encoding")),
        id_field: Some("id".into()),
        ..Default::default()
    };
    let Ok(opened) = from_bytes(format, file.to_vec(), &source) else {
        return;
    };
    let opts = ReadOptions {
        origin: opened.origin.clone(),
        ..Default::default()
    };
    for kind in [LayerKind::Households, LayerKind::Areas, LayerKind::Cameras] {
        if let Ok((_, report)) = read_layer(kind, &opened, &opts) {
            serde_json::to_string(&report).expect("a layer report serialises");
        }
    }
});
