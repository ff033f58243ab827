//! The GeoJSON layer reader on arbitrary bytes, as every kind, with the default
//! read options: it must answer with layers, per-feature rejections or a
//! `LayerError`, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wangge::layers::{read_layer, LayerKind, ReadOptions};

fuzz_target!(|data: &[u8]| {
    // Files reach the reader as UTF-8 text (`layers::read_text` refuses others).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = ReadOptions::default();
    for kind in LayerKind::ALL {
        if let Ok((_, report)) = read_layer(kind, text, &opts) {
            // The report's JSON form is served to clients: it must serialise.
            serde_json::to_string(&report).expect("a layer report serialises");
        }
    }
});
