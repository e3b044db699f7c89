//! The query string of a request, read parameter by parameter.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use http::request;
use kit::Error;
use percent_encoding::percent_decode_str;

/// The parameters of a request's query string (`?a=1&b=x%20y`), percent-decoded, with `+`
/// read as a space (HTML forms' encoding, which clients send).
///
/// ```
/// use kit_http::QueryParams;
///
/// let parts = http::Request::get("/notes?limit=10&q=a+b%21").body(()).unwrap().into_parts().0;
/// let query = QueryParams::of(&parts);
/// assert_eq!(query.parse::<u32>("limit").unwrap(), 10);
/// assert_eq!(query.get("q").as_deref(), Some("a b!"));
/// assert_eq!(query.parse_optional::<u32>("offset").unwrap(), None);
/// assert_eq!(query.parse::<u32>("q").unwrap_err().message(), "invalid query parameter q \"a b!\": invalid digit found in string");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct QueryParams<'a> {
    query: &'a str,
}

impl<'a> QueryParams<'a> {
    /// The query parameters of the request with these `parts`.
    pub fn of(parts: &'a request::Parts) -> Self {
        QueryParams {
            query: parts.uri.query().unwrap_or_default(),
        }
    }

    /// The first value of `name`, decoded; `None` if it is absent.
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.iter().find(|(key, _)| key == name).map(|(_, v)| v)
    }

    /// Every parameter, in order, decoded.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)> + 'a {
        self.query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(key), decode(value))
            })
    }

    /// The value of `name` parsed as a `T`: a `400` (`InvalidArgument`) that names the
    /// parameter if it is absent or does not parse.
    pub fn parse<T>(&self, name: &str) -> Result<T, Error>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.parse_optional(name)?
            .ok_or_else(|| Error::invalid_argument(format!("missing query parameter {name}")))
    }

    /// The value of `name` parsed as a `T`, `None` if it is absent.
    pub fn parse_optional<T>(&self, name: &str) -> Result<Option<T>, Error>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        value.parse().map(Some).map_err(|err| {
            Error::invalid_argument(format!("invalid query parameter {name} {value:?}: {err}"))
        })
    }
}

fn decode(raw: &str) -> Cow<'_, str> {
    let spaced = if raw.contains('+') {
        Cow::Owned(raw.replace('+', " "))
    } else {
        Cow::Borrowed(raw)
    };
    match spaced {
        Cow::Borrowed(raw) => percent_decode_str(raw).decode_utf8_lossy(),
        Cow::Owned(raw) => Cow::Owned(percent_decode_str(&raw).decode_utf8_lossy().into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str) -> request::Parts {
        http::Request::get(uri).body(()).unwrap().into_parts().0
    }

    #[test]
    fn parameters_are_decoded_and_the_first_one_wins() {
        let parts = parts("/x?a=1&a=2&b&c=%E2%82%AC+%2B&&d=");
        let query = QueryParams::of(&parts);
        assert_eq!(query.get("a").as_deref(), Some("1"));
        assert_eq!(query.get("b").as_deref(), Some(""));
        assert_eq!(query.get("c").as_deref(), Some("€ +"));
        assert_eq!(query.get("d").as_deref(), Some(""));
        assert_eq!(query.get("e"), None);
        assert_eq!(query.iter().count(), 5);
    }

    #[test]
    fn absent_and_malformed_parameters_are_client_errors() {
        let parts = parts("/x?n=x");
        let query = QueryParams::of(&parts);
        let err = query.parse::<u8>("m").unwrap_err();
        assert_eq!(
            (err.code(), err.message()),
            (kit::Code::InvalidArgument, "missing query parameter m")
        );
        let err = query.parse_optional::<u8>("n").unwrap_err();
        assert_eq!(
            err.message(),
            "invalid query parameter n \"x\": invalid digit found in string"
        );
        assert_eq!(
            QueryParams::of(&parts).parse_optional::<u8>("m").unwrap(),
            None
        );
        let no_query = self::parts("/x");
        assert_eq!(QueryParams::of(&no_query).iter().count(), 0);
    }
}
