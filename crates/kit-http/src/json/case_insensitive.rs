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
//! # Where else decoding follows Go rather than serde_json
//!
//! * A struct, or a struct variant, is read from a JSON object only. serde's derived struct
//!   visitors also take an array of the field values in declaration order (`[1,2]` for
//!   `{"a":1,"b":2}`), which Go refuses (`json: cannot unmarshal array into Go value of type
//!   main.Pair`); here that is serde's "invalid type: sequence, expected struct Pair" error.
//!   Tuples, tuple structs, tuple variants, arrays and sequences are still read from arrays, as Go
//!   reads arrays into slices and arrays.
//! * `-0` is the integer 0 for the signed integers `i8` to `i64`, as Go's decoder, which reads
//!   integers with `strconv.ParseInt`, has it; serde_json reads `-0` as the float `-0.0` and so
//!   refuses it for an integer. `-0` is still refused for the unsigned integers, as Go reads
//!   those with `strconv.ParseUint`, which permits no sign (serde_json itself already reads `-0`
//!   as 0 for `i128` and refuses it for `u128`). Numbers with a fraction or an exponent are
//!   refused for integers as before (`1.0`, `1e2`), except those that are a negative zero; see
//!   below.
//!
//! # Differences from Go that remain
//!
//! * A struct that receives the same field twice (`{"a":1,"A":2}` for a struct with only `a`) is
//!   rejected with serde's "duplicate field" error; Go keeps the last value.
//! * `null` for a struct (not an `Option`) is serde's "invalid type: null" error; Go leaves the
//!   struct as it was.
//! * Types that serde buffers before deserializing (`#[serde(flatten)]`, `#[serde(untagged)]` and
//!   internally or adjacently tagged enums) see their struct keys matched exactly, their structs
//!   read from arrays too and their signed integers refuse `-0`, because serde deserializes them
//!   from its buffer rather than through this module.
//! * Integer map keys are read by serde_json alone, so `{"-0":1}` does not fit `HashMap<i64, _>`.
//! * serde_json hands a visitor the same float `-0.0` for `-0`, `-0.0`, `-0e5` and `-1e-400`, so
//!   a signed integer reads all of them as 0, where Go refuses all but `-0`. Telling them apart
//!   would take a second look at the text of every integer (serde_json shows a value's text only
//!   when asked for it *instead of* the value); an earlier version did so by decoding such input
//!   again, which cost every decode about 16% more instructions for these few odd spellings
//!   of zero, so the decoder is lenient about them instead.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

/// Deserializes `T` from JSON bytes, matching object keys to struct field names case-insensitively
/// (exact matches win), as Go's encoding/json does.
///
/// Apart from key matching this behaves like [`serde_json::from_slice`]: borrowed fields borrow
/// from `bytes`, trailing non-whitespace input is rejected, and errors are serde_json's own,
/// with their line and column. In two ways it follows Go's decoder instead: a struct (or a
/// struct variant) is not read from a JSON array, and the signed integers `i8` to `i64` read `-0`
/// as 0 (and, more leniently than Go, any other negative zero such as `-0.0`, which serde_json
/// does not tell apart from `-0`). Keys match exactly first, then ignoring case, the first
/// such field in declaration order winning; keys of maps and enum variant names match
/// exactly; types serde buffers (`flatten`, `untagged`, internally or adjacently tagged enums)
/// see their keys matched exactly.
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

/// Whether `value` is the float `-0.0`, which serde_json hands on for a negative zero literal.
fn is_negative_zero(value: f64) -> bool {
    value.to_bits() == (-0.0_f64).to_bits()
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

/// A [`Deserializer`] that delegates to `de` and wraps every visitor it passes down in [`Visit`],
/// so that objects read as structs, at any depth, get case-insensitive field matching, and
/// signed integers read `-0` as 0.
struct CaseInsensitive<D>(D);

/// Implements `Deserializer` methods that take a visitor (after the listed arguments) by
/// forwarding them to the inner deserializer with the visitor wrapped in [`Visit`].
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Visit::new(visitor, Kind::Other))
        }
    )*};
}

/// Implements the `Deserializer` methods of the signed integers up to 64 bits, which read a
/// negative zero as 0.
macro_rules! deserialize_signed {
    ($($method:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(Visit::new(visitor, Kind::SignedInt))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for CaseInsensitive<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
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

    deserialize_signed! {
        deserialize_i8;
        deserialize_i16;
        deserialize_i32;
        deserialize_i64;
    }

    /// The one place where field names are learnt: the object that follows is read with them.
    /// An array is refused (see [`Visit::visit_seq`]).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = Visit::new(visitor, Kind::Struct(fields));
        self.0.deserialize_struct(name, fields, visitor)
    }

    /// Ignored values contain no structs, so the visitor is passed down unwrapped.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// What a [`Visit`]or's value is read as, as far as this module cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A struct, or a struct variant, with these field names.
    Struct(&'static [&'static str]),
    /// A signed integer of up to 64 bits.
    SignedInt,
    /// Anything else.
    Other,
}

/// A [`Visitor`] that delegates to `visitor`, wrapping the deserializers and accesses it is
/// handed. For a struct (a `deserialize_struct` or `struct_variant` call), an object has its keys
/// matched against the fields and an array is refused; for a signed integer, a negative zero may
/// be handed on as 0.
struct Visit<V> {
    /// The visitor of the type being deserialized.
    visitor: V,
    /// What the value is read as.
    kind: Kind,
}

impl<V> Visit<V> {
    /// Wraps the visitor of a value read as `kind`.
    fn new(visitor: V, kind: Kind) -> Self {
        Self { visitor, kind }
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
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    /// serde_json hands on `-0` (and `-0.0`, ...) as `-0.0`; a signed integer takes it as 0.
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<V::Value, E> {
        match self.kind {
            Kind::SignedInt if is_negative_zero(value) => self.visitor.visit_i64(0),
            _ => self.visitor.visit_f64(value),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(CaseInsensitive(de))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(CaseInsensitive(de))
    }

    /// An array is refused where a struct is expected, as Go refuses it, although serde's derived
    /// struct visitors would take the fields in order from it.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if let Kind::Struct(_) = self.kind {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self.visitor));
        }
        self.visitor.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let fields = match self.kind {
            Kind::Struct(fields) => Some(StructFields::new(fields)),
            Kind::SignedInt | Kind::Other => None,
        };
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

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(CaseInsensitive(de))
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
/// object has its keys matched against the variant's fields, and an array is refused for it.
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
        self.0.tuple_variant(len, Visit::new(visitor, Kind::Other))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0
            .struct_variant(fields, Visit::new(visitor, Kind::Struct(fields)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::fmt;
    use std::num::NonZeroI64;

    use serde::Deserialize;
    use serde::de::{self, Deserializer, Visitor};

    use super::from_slice;

    /// Deserializes with [`from_slice`], panicking with the error.
    fn parse<'de, T: Deserialize<'de>>(json: &'de str) -> T {
        from_slice(json.as_bytes()).unwrap_or_else(|err| panic!("{json}: {err}"))
    }

    /// The error message [`from_slice`] returns for `json`.
    fn error<'de, T: Deserialize<'de> + fmt::Debug>(json: &'de str) -> String {
        from_slice::<T>(json.as_bytes())
            .expect_err(json)
            .to_string()
    }

    /// serde_json's own error message for `json`.
    fn serde_json_error<'de, T: Deserialize<'de> + fmt::Debug>(json: &'de str) -> String {
        serde_json::from_str::<T>(json).expect_err(json).to_string()
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
    fn wide_integers() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Wide {
            big: u128,
            small: i128,
        }
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

    #[test]
    fn struct_rejects_array() {
        // Go: `json: cannot unmarshal array into Go value of type main.Pair`.
        assert_eq!(
            error::<Pair>("[1,2]"),
            "invalid type: sequence, expected struct Pair at line 1 column 1"
        );
        assert_eq!(
            error::<Pair>(" []"),
            "invalid type: sequence, expected struct Pair at line 1 column 3"
        );
        assert_eq!(
            error::<Pair>(r#"[{"a":1,"b":2}]"#),
            "invalid type: sequence, expected struct Pair at line 1 column 1"
        );

        #[derive(Debug, Deserialize)]
        struct Outer {
            #[allow(dead_code)]
            inner: Option<Pair>,
        }
        assert_eq!(
            error::<Outer>(r#"{"Inner":[1,2]}"#),
            "invalid type: sequence, expected struct Pair at line 1 column 10"
        );
        assert_eq!(
            error::<Vec<Pair>>(r#"[{"A":1,"B":2},[3,4]]"#),
            "invalid type: sequence, expected struct Pair at line 1 column 16"
        );
        // Other non-objects were already refused, with serde_json's errors.
        for json in ["1", "-0", r#""ab""#, "true", "null"] {
            assert_eq!(
                error::<Pair>(json),
                serde_json_error::<Pair>(json),
                "{json}"
            );
        }
    }

    #[test]
    fn arrays_still_decode_into_sequences_and_tuples() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct TuplePair(i64, i64);

        assert_eq!(parse::<(i64, i64)>("[1,2]"), (1, 2));
        assert_eq!(parse::<Vec<i64>>("[1,2]"), [1, 2]);
        assert_eq!(parse::<[i64; 2]>("[1,2]"), [1, 2]);
        assert_eq!(parse::<TuplePair>("[1,2]"), TuplePair(1, 2));
        assert_eq!(
            parse::<Vec<Pair>>(r#"[{"A":1,"B":2},{"a":3,"b":4}]"#),
            [Pair { a: 1, b: 2 }, Pair { a: 3, b: 4 }]
        );
        assert_eq!(
            parse::<(Pair, Vec<i64>)>(r#"[{"A":1,"b":2},[3]]"#),
            (Pair { a: 1, b: 2 }, vec![3])
        );
    }

    #[test]
    fn struct_variant_rejects_array() {
        #[derive(Debug, PartialEq, Deserialize)]
        enum Shape {
            Rect { width: u32, height: u32 },
            Line(u32, u32),
        }
        assert_eq!(
            parse::<Shape>(r#"{"Rect":{"WIDTH":2,"Height":3}}"#),
            Shape::Rect {
                width: 2,
                height: 3
            }
        );
        assert_eq!(
            error::<Shape>(r#"{"Rect":[2,3]}"#),
            "invalid type: sequence, expected struct variant Shape::Rect at line 1 column 9"
        );
        // A tuple variant is still read from an array.
        assert_eq!(parse::<Shape>(r#"{"Line":[2,3]}"#), Shape::Line(2, 3));
    }

    #[test]
    fn minus_zero_into_signed_integers() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Widths {
            a: i8,
            b: i16,
            c: i32,
            d: i64,
            e: Option<i64>,
            f: Vec<i64>,
        }
        assert_eq!(parse::<Pair>(r#"{"a":-0,"b":5}"#), Pair { a: 0, b: 5 });
        assert_eq!(parse::<Pair>(r#"{"A": -0 ,"B":-0}"#), Pair { a: 0, b: 0 });
        assert_eq!(parse::<i64>("-0"), 0);
        assert_eq!(parse::<i64>(" -0 "), 0);
        assert_eq!(
            parse::<Widths>(r#"{"A":-0,"B":-0,"C":-0,"D":-0,"E":-0,"F":[-0,1,-0]}"#),
            Widths {
                a: 0,
                b: 0,
                c: 0,
                d: 0,
                e: Some(0),
                f: vec![0, 1, 0]
            }
        );
        // serde_json already reads `-0` into i128 as 0.
        assert_eq!(parse::<i128>("-0"), 0);
        // Floats and untyped values keep the sign, as Go's float64 and interface{} do.
        let float = parse::<f64>("-0");
        assert!(float == 0.0 && float.is_sign_negative());
        let value = parse::<serde_json::Value>("[-0]");
        assert_eq!(value, serde_json::json!([-0.0]));
        assert!(value[0].as_f64().is_some_and(f64::is_sign_negative));
    }

    #[test]
    fn other_numbers_with_fraction_or_exponent_still_rejected_for_integers() {
        // Go reads an integer with strconv.ParseInt, which refuses any fraction or exponent,
        // even one that leaves an integral value (`1.0`, `1e2`); so does this decoder, except
        // for a negative zero (see `minus_zero_among_other_negative_zeros`).
        let inputs = ["-0.5", "0.0", "1.0", "1.5", "1e2", "1e3", "-1.0", "0e0"];
        for json in inputs {
            assert_eq!(error::<i64>(json), serde_json_error::<i64>(json), "{json}");
            assert_eq!(error::<i8>(json), serde_json_error::<i8>(json), "{json}");
            let object = format!(r#"{{"a":{json},"b":1}}"#);
            assert_eq!(error::<Pair>(&object), serde_json_error::<Pair>(&object));
            let object = format!(r#"{{"a":1,"b":{json}}}"#);
            assert_eq!(error::<Pair>(&object), serde_json_error::<Pair>(&object));
        }
        assert_eq!(
            error::<i64>("1.0"),
            "invalid type: floating point `1.0`, expected i64 at line 1 column 3"
        );
    }

    #[test]
    fn minus_zero_into_unsigned_integers_still_rejected() {
        // Go reads an unsigned integer with strconv.ParseUint, which permits no sign: `-0` into
        // a uint is `json: cannot unmarshal number -0 into Go value of type uint64`.
        for json in ["-0", "[-0]", "-0.0"] {
            assert_eq!(error::<u64>(json), serde_json_error::<u64>(json), "{json}");
            assert_eq!(
                error::<Vec<u32>>(json),
                serde_json_error::<Vec<u32>>(json),
                "{json}"
            );
        }
        assert!(
            error::<u64>("-0").starts_with("invalid type: floating point `-0.0`, expected u64")
        );
        assert!(error::<u128>("-0").starts_with("number out of range"));
        assert!(error::<u8>("-1").starts_with("invalid value: integer `-1`, expected u8"));
    }

    #[test]
    fn minus_zero_among_other_negative_zeros() {
        // Every spelling of a negative zero is 0 for a signed integer (see the module docs:
        // serde_json hands them all on alike).
        assert_eq!(parse::<Vec<i64>>("[-0,-0.0,-0e1,-1e-400]"), [0, 0, 0, 0]);
        assert_eq!(parse::<Pair>(r#"{"A":-0,"B":-0.0}"#), Pair { a: 0, b: 0 });
        // A visitor that refuses the 0 that `-0` stands for fails where `0` would.
        assert_eq!(
            error::<Vec<NonZeroI64>>("[1, -0]"),
            serde_json_error::<Vec<NonZeroI64>>("[1,  0]")
        );
        let many = format!("[{}]", ["-0"; 1000].join(","));
        assert_eq!(parse::<Vec<i64>>(&many), [0; 1000]);
    }

    /// A number read as an integer by a visitor that also takes floats, as some custom types do.
    #[derive(Debug, PartialEq)]
    enum Lenient {
        Int(i64),
        Float(f64),
    }

    impl<'de> Deserialize<'de> for Lenient {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct LenientVisitor;
            impl Visitor<'_> for LenientVisitor {
                type Value = Lenient;
                fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                    formatter.write_str("a number")
                }
                fn visit_i64<E: de::Error>(self, value: i64) -> Result<Lenient, E> {
                    Ok(Lenient::Int(value))
                }
                fn visit_u64<E: de::Error>(self, value: u64) -> Result<Lenient, E> {
                    i64::try_from(value)
                        .map(Lenient::Int)
                        .map_err(|_| E::custom("too big"))
                }
                fn visit_f64<E: de::Error>(self, value: f64) -> Result<Lenient, E> {
                    Ok(Lenient::Float(value))
                }
            }
            deserializer.deserialize_i64(LenientVisitor)
        }
    }

    #[test]
    fn minus_zero_with_a_visitor_that_takes_floats() {
        let values = parse::<Vec<Lenient>>("[-0.0,-0,1,-0e3,-0,2.5]");
        assert_eq!(
            values,
            [
                Lenient::Int(0),
                Lenient::Int(0),
                Lenient::Int(1),
                Lenient::Int(0),
                Lenient::Int(0),
                Lenient::Float(2.5)
            ]
        );
    }

    #[test]
    fn case_insensitive_matching_still_works() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Item {
            id: i64,
            name: String,
        }
        assert_eq!(
            parse::<Vec<Item>>(r#"[{"ID":-0,"Name":"x"},{"id":2,"NAME":"y"}]"#),
            [
                Item {
                    id: 0,
                    name: "x".into()
                },
                Item {
                    id: 2,
                    name: "y".into()
                }
            ]
        );
    }
}
