//! Known field names per place in the document, read from the serde types themselves, so that
//! an unknown-field error can say what was expected.

use crate::model::*;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;

/// A deserializer that only records the field list serde asks for, then stops.
struct Probe<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// "; expected one of: a, b" for the object that holds the unknown field at `path`.
pub(crate) fn expected_at(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let parent: Vec<&str> = segs
        .iter()
        .take(segs.len().saturating_sub(1))
        .map(|s| {
            if s.bytes().all(|b| b.is_ascii_digit()) {
                "#"
            } else {
                s
            }
        })
        .collect();
    let fields = match parent.as_slice() {
        ["units", "#"] => fields_of::<Unit>(),
        ["keys", "#"] => fields_of::<ShardKey>(),
        ["rules", "#"] => fields_of::<MappingRule>(),
        ["rules", "#", "exact", "#"] => fields_of::<ExactItem>(),
        ["rules", "#", "ranges", "#"] => fields_of::<RangeItem>(),
        ["rules", "#", "consistent_hash"] => fields_of::<ConsistentHash>(),
        ["apis", "#"] => fields_of::<ApiClass>(),
        ["apis", "#", "match"] => fields_of::<ApiMatch>(),
        ["default_api"] => fields_of::<DefaultApi>(),
        ["gray", "#"] => fields_of::<GrayRule>(),
        ["gray", "#", "when"] => fields_of::<GrayWhen>(),
        ["isolation"] => fields_of::<Isolation>(),
        ["isolation", "api_switches", "#"] => fields_of::<ApiSwitch>(),
        ["isolation", "write_forbidden", "#"] => fields_of::<WriteForbid>(),
        ["isolation", "breaker"] => fields_of::<BreakerConfig>(),
        _ => &[],
    };
    if fields.is_empty() {
        String::new()
    } else {
        format!("; expected one of: {}", fields.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_field_lists_from_the_types() {
        assert_eq!(fields_of::<Unit>(), &["name", "role", "cloud", "upstream"]);
        assert_eq!(
            expected_at("/apis/3/match/prefx"),
            "; expected one of: prefix, exact, regex, methods"
        );
        assert_eq!(expected_at("/nowhere/x"), "");
    }
}
