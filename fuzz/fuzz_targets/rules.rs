//! Rules documents on arbitrary bytes: a document is refused by serde or by
//! `Rules::validate`, or it is accepted and its target lies within its bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wangge::model::Rules;

fuzz_target!(|data: &[u8]| {
    let Ok(rules) = serde_json::from_slice::<Rules>(data) else {
        return;
    };
    if rules.validate().is_ok() {
        let t = rules.target();
        assert!(
            (rules.min_households..=rules.max_households).contains(&t),
            "target {t} outside the bounds of {rules:?}"
        );
    }
});
