//! RFC 8785 JSON Canonicalization Scheme (JCS) with strict parsing.
//!
//! Parsing rejects duplicate object keys (RFC 8785 section 3.1 requires unique keys, and a
//! parser that silently keeps the last one would let two different documents share a
//! digest). Serialization is done by `serde_jcs`: keys sorted by UTF-16 code units, numbers
//! written as ECMAScript doubles, minimal string escaping, no whitespace.
//!
//! Unicode is not normalised: two strings that look the same but use different code points
//! (such as a precomposed `é` and `e` followed by a combining accent) give different digests.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use thiserror::Error;

/// Why a document could not be canonicalized.
#[derive(Debug, Error)]
pub enum JcsError {
    #[error("{0}")]
    Parse(serde_json::Error),
    #[error("cannot write canonical form: {0}")]
    Serialize(serde_json::Error),
}

/// Parses `bytes` strictly and returns the canonical JCS bytes.
pub fn canonicalize(bytes: &[u8]) -> Result<Vec<u8>, JcsError> {
    let StrictValue(value) = serde_json::from_slice(bytes).map_err(JcsError::Parse)?;
    serde_jcs::to_vec(&value).map_err(JcsError::Serialize)
}

/// A JSON value whose parser rejects duplicate keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom(format!("number {v} is not finite")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?}; JCS requires unique keys, so remove one of them"
                )));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        String::from_utf8(canonicalize(text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        assert_eq!(canonical("{ \"b\" : [1, 2],\n \"a\": {\"d\": true, \"c\": null} }"), r#"{"a":{"c":null,"d":true},"b":[1,2]}"#);
    }

    #[test]
    fn rfc8785_number_examples() {
        // Numbers from RFC 8785 section 3.2.2.3 and appendix B.
        assert_eq!(canonical("[1e30, 4.50, 2e-3, 0.000001, 1E21, -0, 333333333.33333329, 9007199254740993]"),
            "[1e+30,4.5,0.002,0.000001,1e+21,0,333333333.3333333,9007199254740992]");
    }

    #[test]
    fn rfc8785_sorting_example() {
        // Key-sorting example from RFC 8785 section 3.2.3: keys compare by UTF-16 code units.
        let input = "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canonical(input), expected);
    }

    #[test]
    fn rejects_duplicate_keys() {
        let err = canonicalize(br#"{"a": 1, "a": 2}"#).unwrap_err().to_string();
        assert!(err.contains("duplicate key \"a\""), "{err}");
        let nested = canonicalize(br#"{"x": [{"k": 1, "k": 1}]}"#);
        assert!(nested.is_err());
    }

    #[test]
    fn rejects_trailing_garbage_and_lone_surrogates() {
        assert!(canonicalize(b"{} x").is_err());
        assert!(canonicalize(br#"["\ud800"]"#).is_err());
    }

    #[test]
    fn unicode_is_not_normalised() {
        assert_ne!(canonical("\"\u{e9}\""), canonical("\"e\u{301}\""));
    }
}
