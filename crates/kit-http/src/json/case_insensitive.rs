//! Case-insensitive matching of JSON object keys to struct fields, as Go's `encoding/json` does.
//!
//! Go's encoder writes every struct field that has no `json:"..."` tag under its exported, hence
//! capitalised, Go name, so a Go client happily sends `{"A":1,"B":2}` to an endpoint whose
//! request type has the fields `a` and `b`. Go's own decoder accepts that, because it
//! matches object keys to struct fields case-insensitively; serde does not. [`from_slice`] closes
//! the gap for any `#[derive(Deserialize)]` type without an intermediate `serde_json::Value`: it
//! streams straight from the input bytes, borrows where serde_json would, and only does extra
//! work for keys that do not already match a field exactly.
//!
//! # Matching rule
//!
//! For every key of a JSON object that is being deserialized into a *struct* (including a struct
//! variant of an enum), with `fields` being the names serde knows for that struct (after
//! `rename`/`rename_all`, including `alias`es):
//!
//! 1. if the key equals one of `fields` exactly, that field is used;
//! 2. otherwise, if the key equals one of `fields` ignoring case, the first such field in
//!    declaration order is used (ASCII case-folding for ASCII names; for other names characters
//!    are compared through their single-character lower- and upper-case mappings, which
//!    approximates Go's Unicode simple folding);
//! 3. otherwise the key is handed on unchanged, so it is ignored, or rejected under
//!    `#[serde(deny_unknown_fields)]`, exactly as serde_json would.
//!
//! Keys of JSON objects that are deserialized into maps (`HashMap<String, _>`, `BTreeMap`, ...)
//! are never rewritten, and enum variant names are matched exactly.
//!
//! # Differences from Go that remain
//!
//! * A struct that receives the same field twice (`{"a":1,"A":2}` for a struct with only `a`) is
//!   rejected with serde's "duplicate field" error; Go keeps the last value.
//! * Types that serde buffers before deserializing (`#[serde(flatten)]`, `#[serde(untagged)]` and
//!   internally or adjacently tagged enums) see their struct keys matched exactly, because serde
//!   does not tell the deserializer about their fields.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// Deserializes `T` from JSON bytes, matching object keys to struct field names case-insensitively
/// (exact matches win), as Go's encoding/json does.
///
/// Apart from key matching this behaves like [`serde_json::from_slice`]: borrowed fields borrow
/// from `bytes`, trailing non-whitespace input is rejected, and errors are serde_json's own,
/// with their line and column.
///
/// # Errors
///
/// Returns serde_json's error if `bytes` is not valid JSON, does not match `T`, or has trailing
/// characters after the value.
pub fn from_slice<'de, T: serde::Deserialize<'de>>(
    bytes: &'de [u8],
) -> Result<T, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(CaseInsensitive(&mut deserializer))?;
    deserializer.end()?;
    Ok(value)
}

/// The field names of a struct whose object is being read, and where the next key is expected.
struct StructFields {
    /// The names serde reported for the struct (renamed, aliases included), in declaration order.
    names: &'static [&'static str],
    /// The position after the last field a key resolved to. Objects usually list fields in
    /// declaration order (Go's encoder and serde's serializers both do), so checking this
    /// position first makes exact matches cost a single comparison.
    next: usize,
}

impl StructFields {
    /// Starts reading an object of a struct with the field names `names`.
    fn new(names: &'static [&'static str]) -> Self {
        Self { names, next: 0 }
    }

    /// Returns the field name that the object key `key` stands for: the name equal to `key` if
    /// there is one, else the first name equal to it ignoring case, else `None`.
    fn resolve(&mut self, key: &str) -> Option<&'static str> {
        let names = self.names;
        let position = if names.get(self.next) == Some(&key) {
            self.next
        } else {
            names
                .iter()
                .position(|name| *name == key)
                .or_else(|| names.iter().position(|name| eq_ignore_case(name, key)))?
        };
        self.next = position + 1;
        Some(names[position])
    }
}

/// Compares two names ignoring case: ASCII case-folding when both are ASCII, otherwise
/// character by character with [`chars_eq_ignore_case`].
fn eq_ignore_case(a: &str, b: &str) -> bool {
    // Cheap checks first; non-ASCII bytes never compare equal to ASCII ones here, so a `true`
    // is always right, and a `false` is final when both names are ASCII.
    if a.len() == b.len() && a.eq_ignore_ascii_case(b) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    let (mut a, mut b) = (a.chars(), b.chars());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if chars_eq_ignore_case(x, y) => {}
            _ => return false,
        }
    }
}

/// Whether two characters are equal or have the same single-character lower-case or upper-case
/// mapping. This approximates Unicode simple case folding (as used by Go's `bytes.EqualFold`):
/// it equates `K` (Kelvin sign) with `k`, `ſ` with `s` and `ς` with `σ`, but never maps one
/// character to several (`ß` does not equal `ss`).
fn chars_eq_ignore_case(a: char, b: char) -> bool {
    fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
        let first = chars.next()?;
        chars.next().is_none().then_some(first)
    }
    let same = |x: Option<char>, y: Option<char>| x.is_some() && x == y;
    a == b
        || same(single(a.to_lowercase()), single(b.to_lowercase()))
        || same(single(a.to_uppercase()), single(b.to_uppercase()))
}

/// A [`Deserializer`] that delegates to `D` and wraps every visitor it passes down in [`Visit`],
/// so that objects read as structs, at any depth, get case-insensitive field matching.
struct CaseInsensitive<D>(D);

/// Implements `Deserializer` methods that take a visitor (after the listed arguments) by
/// forwarding them to the inner deserializer with the visitor wrapped in [`Visit`].
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Visit::new(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for CaseInsensitive<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }

    /// The one place where field names are learnt: the object that follows is read with them.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_struct(name, fields, Visit::for_struct(visitor, fields))
    }

    /// Ignored values contain no structs, so the visitor is passed down unwrapped.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A [`Visitor`] that delegates to `visitor`, wrapping the deserializers and accesses it is
/// handed. `fields` is set when it visits the value of a `deserialize_struct` or
/// `struct_variant` call; an object it then receives has its keys matched against `fields`.
struct Visit<V> {
    /// The visitor of the type being deserialized.
    visitor: V,
    /// The struct's field names, or `None` when the value is not read as a struct.
    fields: Option<&'static [&'static str]>,
}

impl<V> Visit<V> {
    /// Wraps the visitor of a value that is not read as a struct.
    fn new(visitor: V) -> Self {
        Self {
            visitor,
            fields: None,
        }
    }

    /// Wraps the visitor of a struct (or struct variant) with the field names `fields`.
    fn for_struct(visitor: V, fields: &'static [&'static str]) -> Self {
        Self {
            visitor,
            fields: Some(fields),
        }
    }
}

/// Implements `Visitor` methods that receive a plain value by forwarding them unchanged.
macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
            self.visitor.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Visit<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(CaseInsensitive(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.visitor
            .visit_newtype_struct(CaseInsensitive(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let fields = self.fields.map(StructFields::new);
        self.visitor.visit_map(Map { map, fields })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(Enum(data))
    }
}

/// A [`DeserializeSeed`] that hands the seed a [`CaseInsensitive`] deserializer.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(CaseInsensitive(deserializer))
    }
}

/// A [`SeqAccess`] whose elements are read through [`CaseInsensitive`].
struct Seq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// A [`MapAccess`] whose values are read through [`CaseInsensitive`] and whose keys are
/// matched against `fields` when the object is read as a struct.
struct Map<A> {
    /// The inner access.
    map: A,
    /// The struct's field names; `None` for plain maps, whose keys are passed through as is.
    fields: Option<StructFields>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        match self.fields {
            Some(ref mut fields) => self.map.next_key_seed(FieldKey { seed, fields }),
            None => self.map.next_key_seed(seed),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.map.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// Reads an object key as a string and hands `seed` (serde's field identifier) the field name
/// it resolves to with [`StructFields::resolve`], or the key itself if it resolves to none.
///
/// It is both the [`DeserializeSeed`] given to the inner [`MapAccess`] and the [`Visitor`]
/// of the key string.
struct FieldKey<'a, S> {
    /// The seed that identifies the field.
    seed: S,
    /// The struct's field names.
    fields: &'a mut StructFields,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for FieldKey<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for FieldKey<'_, S> {
    type Value = S::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a field name")
    }

    /// The common case: an unescaped key, borrowed from the input.
    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<S::Value, E> {
        let name = self.fields.resolve(key).unwrap_or(key);
        self.seed.deserialize(BorrowedStrDeserializer::new(name))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<S::Value, E> {
        match self.fields.resolve(key) {
            Some(name) => self.seed.deserialize(BorrowedStrDeserializer::new(name)),
            None => self.seed.deserialize(StrDeserializer::new(key)),
        }
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<S::Value, E> {
        match self.fields.resolve(&key) {
            Some(name) => self.seed.deserialize(BorrowedStrDeserializer::new(name)),
            None => self.seed.deserialize(StringDeserializer::new(key)),
        }
    }
}

/// An [`EnumAccess`] whose variant payload is read through [`Variant`]. Variant names are
/// passed through unchanged, so they match exactly.
struct Enum<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(seed)?;
        Ok((value, Variant(variant)))
    }
}

/// A [`VariantAccess`] whose payload is read through [`CaseInsensitive`]; a struct variant's
/// object has its keys matched against the variant's fields.
struct Variant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Visit::new(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0
            .struct_variant(fields, Visit::for_struct(visitor, fields))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::Deserialize;

    use super::from_slice;

    /// Deserializes with [`from_slice`], panicking with the error.
    fn parse<'de, T: Deserialize<'de>>(json: &'de str) -> T {
        from_slice(json.as_bytes()).unwrap_or_else(|err| panic!("{json}: {err}"))
    }

    /// The error message [`from_slice`] returns for `json`.
    fn error<'de, T: Deserialize<'de> + std::fmt::Debug>(json: &'de str) -> String {
        from_slice::<T>(json.as_bytes())
            .expect_err(json)
            .to_string()
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Pair {
        a: i32,
        b: i32,
    }

    #[test]
    fn exact_keys() {
        assert_eq!(parse::<Pair>(r#"{"a":1,"b":2}"#), Pair { a: 1, b: 2 });
    }

    #[test]
    fn capitalised_keys() {
        assert_eq!(parse::<Pair>(r#"{"A":1,"B":2}"#), Pair { a: 1, b: 2 });
        assert_eq!(
            parse::<Pair>(r#" { "B" : 2 , "a" : 1 } "#),
            Pair { a: 1, b: 2 }
        );
    }

    #[test]
    fn mixed_case_keys() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Sum {
            sum: i64,
        }
        assert_eq!(parse::<Sum>(r#"{"sUm":3}"#), Sum { sum: 3 });
        assert_eq!(parse::<Sum>(r#"{"SUM":4}"#), Sum { sum: 4 });
    }

    #[test]
    fn exact_match_preferred() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Both {
            #[serde(rename = "a")]
            lower: i32,
            #[serde(rename = "A")]
            upper: i32,
        }
        let both = parse::<Both>(r#"{"A":1,"a":2}"#);
        assert_eq!(both, Both { lower: 2, upper: 1 });
        let both = parse::<Both>(r#"{"a":3,"A":4}"#);
        assert_eq!(both, Both { lower: 3, upper: 4 });
    }

    #[test]
    fn inexact_match_takes_first_declared_field() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Twins {
            #[serde(rename = "ab", default)]
            first: i32,
            #[serde(rename = "AB", default)]
            second: i32,
        }
        assert_eq!(
            parse::<Twins>(r#"{"Ab":1}"#),
            Twins {
                first: 1,
                second: 0
            }
        );
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Item {
        id: u32,
        name: String,
    }

    #[test]
    fn nested_structs_in_vec_option_map_and_newtype() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Wrapper(Item);

        #[derive(Debug, PartialEq, Deserialize)]
        struct Order {
            items: Vec<Item>,
            first: Option<Item>,
            none: Option<Item>,
            by_key: HashMap<String, Item>,
            wrapped: Wrapper,
            boxed: Box<Item>,
        }
        let json = r#"{
            "Items": [{"ID": 1, "Name": "x"}, {"id": 2, "NAME": "y"}],
            "First": {"Id": 3, "name": "z"},
            "None": null,
            "By_Key": {"K": {"ID": 4, "Name": "w"}},
            "Wrapped": {"iD": 5, "nAME": "v"},
            "BOXED": {"Id": 6, "Name": "u"}
        }"#;
        let item = |id, name: &str| Item {
            id,
            name: name.to_owned(),
        };
        let order = parse::<Order>(json);
        assert_eq!(order.items, [item(1, "x"), item(2, "y")]);
        assert_eq!(order.first, Some(item(3, "z")));
        assert_eq!(order.none, None);
        assert_eq!(
            order.by_key,
            HashMap::from([("K".to_owned(), item(4, "w"))])
        );
        assert_eq!(order.wrapped, Wrapper(item(5, "v")));
        assert_eq!(order.boxed, Box::new(item(6, "u")));
    }

    #[test]
    fn map_keys_untouched() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Labelled {
            labels: BTreeMap<String, i32>,
        }
        let map = parse::<HashMap<String, i32>>(r#"{"A":1,"a":2,"Labels":3}"#);
        let expected = [("A", 1), ("a", 2), ("Labels", 3)].map(|(k, v)| (k.to_owned(), v));
        assert_eq!(map, HashMap::from(expected));

        let labelled = parse::<Labelled>(r#"{"Labels":{"Labels":1,"KEY":2}}"#);
        let expected = [("Labels", 1), ("KEY", 2)].map(|(k, v)| (k.to_owned(), v));
        assert_eq!(labelled.labels, BTreeMap::from(expected));

        let numeric = parse::<BTreeMap<u32, bool>>(r#"{"7":true}"#);
        assert_eq!(numeric, BTreeMap::from([(7, true)]));
    }

    #[test]
    fn rename_rename_all_and_alias() {
        #[derive(Debug, PartialEq, Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct User {
            #[serde(rename = "userID")]
            user_id: u64,
            display_name: String,
            #[serde(alias = "mail")]
            email: String,
        }
        let user = parse::<User>(r#"{"UserId":1,"DisplayName":"Ann","MAIL":"a@b"}"#);
        let expected = User {
            user_id: 1,
            display_name: "Ann".into(),
            email: "a@b".into(),
        };
        assert_eq!(user, expected);
        let user = parse::<User>(r#"{"userID":1,"displayName":"Ann","email":"a@b"}"#);
        assert_eq!(user, expected);
    }

    #[test]
    fn defaults_options_and_skipped_fields() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Settings {
            #[serde(default)]
            retries: u32,
            timeout: Option<u32>,
            label: Option<String>,
            #[serde(skip)]
            hidden: u8,
        }
        let settings = parse::<Settings>(r#"{"Timeout":5,"LABEL":null,"Hidden":9}"#);
        let expected = Settings {
            retries: 0,
            timeout: Some(5),
            label: None,
            hidden: 0,
        };
        assert_eq!(settings, expected);
        let settings = parse::<Settings>("{}");
        assert_eq!(
            settings,
            Settings {
                timeout: None,
                ..expected
            }
        );
    }

    #[test]
    fn deny_unknown_fields_still_rejects_unknown_keys() {
        #[derive(Debug, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            a: i32,
        }
        assert_eq!(parse::<Strict>(r#"{"A":1}"#), Strict { a: 1 });
        let message = error::<Strict>(r#"{"A":1,"Zzz":2}"#);
        assert_eq!(
            message,
            "unknown field `Zzz`, expected `a` at line 1 column 12"
        );
        let expected = serde_json::from_str::<Strict>(r#"{"a":1,"Zzz":2}"#).unwrap_err();
        assert_eq!(message, expected.to_string());
    }

    #[test]
    fn borrowed_str_fields() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Borrowed<'a> {
            name: &'a str,
            #[serde(borrow)]
            tags: Vec<&'a str>,
        }
        let json = String::from(r#"{"Name":"ann","TAGS":["x","y"]}"#);
        let borrowed = parse::<Borrowed<'_>>(&json);
        assert_eq!(
            borrowed,
            Borrowed {
                name: "ann",
                tags: vec!["x", "y"]
            }
        );
        assert!(
            json.as_bytes()
                .as_ptr_range()
                .contains(&borrowed.name.as_ptr())
        );
    }

    #[test]
    fn escaped_and_unicode_keys() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Fruit {
            #[serde(rename = "äpfel")]
            apples: u8,
            kelvin: u8,
            #[serde(rename = "size")]
            size: u8,
        }
        // `\u0041` is `A`, `\u212a` the Kelvin sign, `ſ` folds to `s`.
        let json = r#"{"ÄPFEL":1,"\u212aELVIN":2,"ſize":3}"#;
        assert_eq!(
            parse::<Fruit>(json),
            Fruit {
                apples: 1,
                kelvin: 2,
                size: 3
            }
        );
        assert_eq!(
            parse::<Pair>(r#"{"\u0041":1,"\u0062":2}"#),
            Pair { a: 1, b: 2 }
        );
    }

    #[test]
    fn case_folding_rules() {
        use super::eq_ignore_case;
        assert!(eq_ignore_case("userId", "USERID"));
        assert!(!eq_ignore_case("userId", "user_id"));
        assert!(!eq_ignore_case("a", "ab"));
        assert!(eq_ignore_case("äpfel", "ÄPFEL"));
        assert!(eq_ignore_case("kelvin", "\u{212a}elvin"));
        assert!(eq_ignore_case("size", "\u{17f}ize"));
        assert!(eq_ignore_case("\u{3c3}", "\u{3c2}"));
        assert!(!eq_ignore_case("straße", "strasse"));
        assert!(!eq_ignore_case("\u{130}", "i"));
    }

    #[test]
    fn keys_in_any_order_and_repeated_objects() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Triple {
            x: u8,
            #[serde(rename = "a")]
            lower: u8,
            #[serde(rename = "A")]
            upper: u8,
        }
        let json = r#"[{"x":1,"A":2,"a":3},{"a":4,"X":5,"A":6},{"A":7,"a":8,"x":9}]"#;
        let triples = parse::<Vec<Triple>>(json);
        let expected =
            [(1, 3, 2), (5, 4, 6), (9, 8, 7)].map(|(x, lower, upper)| Triple { x, lower, upper });
        assert_eq!(triples, expected);
    }

    #[test]
    fn trailing_garbage_rejected() {
        for json in [r#"{"A":1,"B":2} x"#, r#"{"a":1,"B":2}{}"#] {
            // serde_json reports the same error for the same input with lower-case keys.
            let lower = json.to_ascii_lowercase();
            let expected = serde_json::from_str::<Pair>(&lower)
                .unwrap_err()
                .to_string();
            assert!(expected.starts_with("trailing characters"), "{expected}");
            assert_eq!(error::<Pair>(json), expected);
        }
        assert_eq!(parse::<Pair>("{\"A\":1,\"B\":2} \n\t"), Pair { a: 1, b: 2 });
    }

    #[test]
    fn errors_are_serde_jsons() {
        let message = error::<Pair>(r#"{"A":"x","B":2}"#);
        assert_eq!(
            message,
            r#"invalid type: string "x", expected i32 at line 1 column 8"#
        );
        assert_eq!(
            error::<Pair>(r#"{"A":1}"#),
            "missing field `b` at line 1 column 7"
        );
        assert_eq!(
            error::<Pair>(r#"{"a":1,"A":2}"#),
            "duplicate field `a` at line 1 column 10"
        );

        // Wherever keys already match exactly, errors are identical to serde_json's.
        let inputs = [
            r#"{"a":1,"b":2"#,
            r#"{"a":1,}"#,
            r#"{"a":-1,"b":1e99}"#,
            r#"[1]"#,
            r#""pair""#,
            "",
            r#"{"a":1,"b":2,"a":3}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a\x":1}"#,
        ];
        for json in inputs {
            let expected = serde_json::from_str::<Pair>(json).unwrap_err().to_string();
            assert_eq!(error::<Pair>(json), expected, "{json}");
            let expected = serde_json::from_str::<Vec<Option<Pair>>>(json).unwrap_err();
            assert_eq!(
                error::<Vec<Option<Pair>>>(json),
                expected.to_string(),
                "{json}"
            );
        }
    }

    #[test]
    fn struct_from_array_and_wide_integers() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Wide {
            big: u128,
            small: i128,
        }
        assert_eq!(parse::<Pair>("[1,2]"), Pair { a: 1, b: 2 });
        let wide = parse::<Wide>(r#"{"Big":340282366920938463463374607431768211455,"SMALL":-1}"#);
        assert_eq!(
            wide,
            Wide {
                big: u128::MAX,
                small: -1
            }
        );
    }

    #[test]
    fn enum_variants_with_struct_payloads() {
        #[derive(Debug, PartialEq, Deserialize)]
        enum Shape {
            Rect { width: u32, height: u32 },
            Named(Item),
            Pairs(Pair, Pair),
            Empty,
        }
        let rect = parse::<Shape>(r#"{"Rect":{"Width":2,"HEIGHT":3}}"#);
        assert_eq!(
            rect,
            Shape::Rect {
                width: 2,
                height: 3
            }
        );
        let named = parse::<Shape>(r#"{"Named":{"ID":1,"Name":"n"}}"#);
        assert_eq!(
            named,
            Shape::Named(Item {
                id: 1,
                name: "n".into()
            })
        );
        let pairs = parse::<Shape>(r#"{"Pairs":[{"A":1,"B":2},{"a":3,"b":4}]}"#);
        assert_eq!(
            pairs,
            Shape::Pairs(Pair { a: 1, b: 2 }, Pair { a: 3, b: 4 })
        );
        assert_eq!(parse::<Vec<Shape>>(r#"["Empty"]"#), [Shape::Empty]);
        // Variant names themselves match exactly, as serde_json's do.
        assert!(error::<Shape>(r#"{"rect":{"width":2,"height":3}}"#).contains("unknown variant"));
    }

    #[test]
    fn untyped_values_keep_their_keys() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Envelope {
            kind: String,
            payload: serde_json::Value,
        }
        let envelope = parse::<Envelope>(r#"{"Kind":"k","Payload":{"A":[{"B":1}]}}"#);
        assert_eq!(envelope.kind, "k");
        assert_eq!(envelope.payload, serde_json::json!({"A": [{"B": 1}]}));
    }

    #[test]
    fn recursion_limit_still_applies() {
        #[derive(Debug, Deserialize)]
        struct Node {
            next: Option<Box<Node>>,
        }
        fn depth(node: &Node) -> usize {
            node.next.as_deref().map_or(1, |next| 1 + depth(next))
        }
        let nested = |depth: usize| "{\"Next\":".repeat(depth) + "null" + &"}".repeat(depth);
        assert_eq!(depth(&parse::<Node>(&nested(100))), 100);
        let message = error::<Node>(&nested(200));
        assert!(message.starts_with("recursion limit exceeded"), "{message}");
        let deep_array = "[".repeat(100) + &"]".repeat(100);
        parse::<serde_json::Value>(&deep_array);
    }
}
