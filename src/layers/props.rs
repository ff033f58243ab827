//! A feature's properties as borrowed raw JSON values, so only the fields a
//! layer needs are ever parsed (a million household features carry many
//! properties wangge never reads).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

/// Property name → unparsed value, in input order.
#[derive(Debug, Default)]
pub(crate) struct Props<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl Props<'_> {
    /// The named property, parsed; `None` when absent.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| serde_json::from_str(v.get()).ok())
    }
}

impl<'de> Deserialize<'de> for Props<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Props<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                    v.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(Props(v))
            }
        }
        d.deserialize_map(V)
    }
}
