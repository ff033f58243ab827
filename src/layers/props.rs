//! A feature's properties as borrowed raw JSON values, so only the fields a
//! layer needs are ever parsed (a million household features carry many
//! properties wangge never reads).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

/// A JSON string borrowed from the input where it has no escapes, owned only
/// where it has. (serde's own `Cow<str>` always allocates, unless it is a
/// struct field marked `borrow`; keys and tags are read millions of times.)
pub(super) struct JsonStr<'de>(pub(super) Cow<'de, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Property name → unparsed value, in input order.
#[derive(Debug, Default)]
pub(crate) struct Props<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Props<'a> {
    /// Every property, in input order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// The named property as an id: text, or a number written as text.
    pub fn id(&self, name: &str) -> Option<String> {
        let (_, raw) = self.0.iter().find(|(k, _)| k == name)?;
        if raw.get().starts_with('"') {
            // The common case, without building a `Value` first.
            serde_json::from_str::<Cow<'_, str>>(raw.get())
                .ok()
                .map(Cow::into_owned)
        } else {
            serde_json::from_str(raw.get())
                .ok()
                .as_ref()
                .and_then(id_text)
        }
    }

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
                while let Some(JsonStr(k)) = map.next_key::<JsonStr<'de>>()? {
                    v.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(Props(v))
            }
        }
        d.deserialize_map(V)
    }
}

pub(super) fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(
            integral(n)
                .map(|i| i.to_string())
                .unwrap_or_else(|| n.to_string()),
        ),
        _ => None,
    }
}

/// A JSON number as an integer, accepting `124.0` (common in exported tables).
pub(super) fn integral(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
            .map(|f| f as i64)
    })
}

/// An optional non-negative integer property.
pub(super) fn count_field(props: &Props<'_>, name: &str) -> Result<Option<u32>, String> {
    match props.get(name).as_ref() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match integral(n) {
            Some(i) if (0..=u32::MAX as i64).contains(&i) => Ok(Some(i as u32)),
            _ => Err(format!("{name:?} must be a whole number ≥ 0, got {n}")),
        },
        Some(other) => Err(format!("{name:?} must be a whole number ≥ 0, got {other}")),
    }
}

pub(super) fn text_field(props: &Props<'_>, name: &str) -> Result<Option<String>, String> {
    match props.get(name).as_ref() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{name:?} must be text, got {other}")),
    }
}

pub(super) fn number_field(props: &Props<'_>, name: &str) -> Result<Option<f64>, String> {
    match props.get(name).as_ref() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("{name:?} is not a usable number")),
        Some(other) => Err(format!("{name:?} must be a number, got {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are borrowed from the text where they can be and unescaped where
    /// they must be.
    #[test]
    fn keys_with_and_without_escapes() {
        let text = r#"{"households":3,"h\u0068_id":"a","名称":"村"}"#;
        let props: Props<'_> = serde_json::from_str(text).unwrap();
        let keys: Vec<(&str, bool)> = props
            .0
            .iter()
            .map(|(k, _)| (k.as_ref(), matches!(k, Cow::Borrowed(_))))
            .collect();
        assert_eq!(
            keys,
            [("households", true), ("hh_id", false), ("名称", true)]
        );
        assert_eq!(props.get("hh_id"), Some(Value::String("a".into())));
    }
}
