//! Typed, borrowed, lenient `serde` building blocks for log records read straight from their
//! JSON text (no `serde_json::Value` tree): a record type made of these deserialises from any
//! JSON object whatever its fields hold, and the same type reads a `Value` too (through
//! `&Value`'s deserializer), so one normalisation serves both paths.
//!
//! - [`Leaf`]: a scalar (string, number, boolean) kept as the record wrote it; anything else
//!   (null, object, array) reads as absent instead of failing the record.
//! - [`Obj`]: a nested object of a typed shape; any other JSON there reads as absent.
//! - [`Present`]: only whether a key is there (envelope markers).
//! - [`FirstItem`]: the first element of an array of objects (CloudTrail `resources`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// A scalar as written in the record.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(Number),
    Bool(bool),
}

/// A field that holds a scalar, or is absent (missing, null, or of another JSON type).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Leaf<'a>(pub Option<Scalar<'a>>);

impl<'a> Leaf<'a> {
    /// The field as text, with [`super::fields::as_text`]'s rules: strings as they are
    /// (blank ones are absent), numbers and booleans spelled out.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        match &self.0 {
            Some(Scalar::Str(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Scalar::Num(n)) => Some(Cow::Owned(n.to_string())),
            Some(Scalar::Bool(b)) => Some(Cow::Owned(b.to_string())),
            _ => None,
        }
    }

    /// [`Leaf::text`] as an owned `String`.
    pub fn string(&self) -> Option<String> {
        self.text().map(Cow::into_owned)
    }

    /// The field as a JSON value of its own type (for `attributes`).
    pub fn value(&self) -> Option<Value> {
        match &self.0 {
            Some(Scalar::Str(s)) => Some(Value::String(s.to_string())),
            Some(Scalar::Num(n)) => Some(Value::Number(n.clone())),
            Some(Scalar::Bool(b)) => Some(Value::Bool(*b)),
            None => None,
        }
    }

    /// A boolean written as `true` or `"true"` (any case), like [`super::fields::flag`].
    pub fn flag(&self) -> Option<bool> {
        match &self.0 {
            Some(Scalar::Bool(b)) => Some(*b),
            Some(Scalar::Str(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Scalar::Str(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Leaf<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Leaf<'a>, D::Error> {
        d.deserialize_any(LeafVisitor(PhantomData))
    }
}

struct LeafVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for LeafVisitor<'a> {
    type Value = Leaf<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Leaf<'a>, E> {
        Ok(Leaf(Some(Scalar::Str(Cow::Borrowed(v)))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Leaf<'a>, E> {
        Ok(Leaf(Some(Scalar::Str(Cow::Owned(v.to_string())))))
    }
    fn visit_string<E>(self, v: String) -> Result<Leaf<'a>, E> {
        Ok(Leaf(Some(Scalar::Str(Cow::Owned(v)))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Leaf<'a>, E> {
        Ok(Leaf(Some(Scalar::Num(v.into()))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Leaf<'a>, E> {
        Ok(Leaf(Some(Scalar::Num(v.into()))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Leaf<'a>, E> {
        Ok(Leaf(Number::from_f64(v).map(Scalar::Num)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Leaf<'a>, E> {
        Ok(Leaf(Some(Scalar::Bool(v))))
    }
    fn visit_unit<E>(self) -> Result<Leaf<'a>, E> {
        Ok(Leaf(None))
    }
    fn visit_none<E>(self) -> Result<Leaf<'a>, E> {
        Ok(Leaf(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Leaf<'a>, D::Error> {
        Leaf::deserialize(d)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Leaf<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Leaf(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Leaf<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Leaf(None))
    }
}

/// The visitor methods of a wrapper `$t<T>(Option<T>)` for every scalar: absent.
macro_rules! scalars_are_absent {
    ($t:ident) => {
        fn visit_borrowed_str<E>(self, _: &'de str) -> Result<$t<T>, E> {
            Ok($t(None))
        }
        fn visit_str<E>(self, _: &str) -> Result<$t<T>, E> {
            Ok($t(None))
        }
        fn visit_i64<E>(self, _: i64) -> Result<$t<T>, E> {
            Ok($t(None))
        }
        fn visit_u64<E>(self, _: u64) -> Result<$t<T>, E> {
            Ok($t(None))
        }
        fn visit_f64<E>(self, _: f64) -> Result<$t<T>, E> {
            Ok($t(None))
        }
        fn visit_bool<E>(self, _: bool) -> Result<$t<T>, E> {
            Ok($t(None))
        }
        fn visit_unit<E>(self) -> Result<$t<T>, E> {
            Ok($t(None))
        }
        fn visit_none<E>(self) -> Result<$t<T>, E> {
            Ok($t(None))
        }
    };
}

/// A nested object read as `T`; any other JSON there reads as absent.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Obj<T> {
        Obj(None)
    }
}

impl<T> Obj<T> {
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Obj<T>, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Obj<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Obj(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Obj<T>, D::Error> {
        Obj::deserialize(d)
    }
    scalars_are_absent!(Obj);
}

/// Whether a key is there at all (its value is skipped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Present(pub bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Present, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Present(true))
    }
}

/// The first element of an array, read as an [`Obj`]; the others are skipped. Anything but
/// an array reads as absent.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstItem<T>(pub Option<T>);

impl<T> Default for FirstItem<T> {
    fn default() -> FirstItem<T> {
        FirstItem(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FirstItem<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FirstItem<T>, D::Error> {
        d.deserialize_any(FirstVisitor(PhantomData))
    }
}

struct FirstVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
    type Value = FirstItem<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstItem<T>, A::Error> {
        let first = seq.next_element::<Obj<T>>()?.and_then(|o| o.0);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FirstItem(first))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstItem<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FirstItem(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<FirstItem<T>, D::Error> {
        FirstItem::deserialize(d)
    }
    scalars_are_absent!(FirstItem);
}

/// An array read as `Vec<T>`; any other JSON there reads as absent.
#[derive(Debug, Clone, PartialEq)]
pub struct Arr<T>(pub Option<Vec<T>>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Arr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Arr<T>, D::Error> {
        d.deserialize_any(ArrVisitor(PhantomData))
    }
}

struct ArrVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ArrVisitor<T> {
    type Value = Arr<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Arr<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(Arr(Some(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Arr<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Arr(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Arr<T>, D::Error> {
        Arr::deserialize(d)
    }
    scalars_are_absent!(Arr);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Default, Debug)]
    #[serde(default)]
    struct Inner<'a> {
        #[serde(borrow)]
        arn: Leaf<'a>,
    }

    #[derive(Deserialize, Default, Debug)]
    #[serde(default)]
    struct Rec<'a> {
        #[serde(borrow)]
        a: Leaf<'a>,
        #[serde(borrow)]
        b: Obj<Inner<'a>>,
        #[serde(borrow)]
        list: FirstItem<Inner<'a>>,
        marker: Present,
    }

    #[test]
    fn wrong_types_read_as_absent_and_text_and_values_read_the_same() {
        let text =
            r#"{"a": 5, "b": "not an object", "list": [{"arn": "x"}, 3], "z": [1, {"q": null}]}"#;
        let r: Rec = serde_json::from_str(text).expect("lenient");
        assert_eq!(r.a.text().as_deref(), Some("5"));
        assert!(r.b.get().is_none());
        assert_eq!(
            r.list.0.as_ref().and_then(|i| i.arn.string()),
            Some("x".into())
        );
        assert!(!r.marker.0);
        let v = json!({"a": {"deep": 1}, "b": {"arn": true}, "list": {}, "marker": null});
        let r = Rec::deserialize(&v).expect("from a value");
        assert!(!r.a.is_some());
        assert_eq!(r.b.get().and_then(|i| i.arn.flag()), Some(true));
        assert!(r.list.0.is_none());
        assert!(r.marker.0);
        // Strings without escapes are borrowed from the text.
        let r: Rec = serde_json::from_str(r#"{"a": "plain", "b": {"arn": "q\"x"}}"#).expect("ok");
        assert!(matches!(r.a.0, Some(Scalar::Str(Cow::Borrowed("plain")))));
        assert_eq!(r.b.get().and_then(|i| i.arn.string()), Some("q\"x".into()));
    }
}
