//! Where a client sends its requests: an instance's base URL, and the paths under it.

use std::fmt;

use http::Uri;
use kit::Error;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// The characters a path segment cannot hold as they are: everything but RFC 3986's
/// unreserved characters and sub-delimiters allowed in segments.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The characters a query value cannot hold as they are.
const QUERY_VALUE: &AsciiSet = &SEGMENT.add(b'&').add(b'=').add(b'+');

/// An instance's base URL: `http://host:port` with an optional path prefix, from the forms
/// users write (`host:port`, `http://host:port`, `http://host:port/prefix/`), or
/// `https://host:port` with kit-http's `tls` feature.
///
/// ```
/// use kit_http::client::Target;
///
/// let target = Target::parse("127.0.0.1:8081").unwrap();
/// assert_eq!(target.uri("/sum").unwrap(), "http://127.0.0.1:8081/sum");
/// let target = Target::parse("http://svc.internal:80/api/").unwrap();
/// assert_eq!(target.uri("/notes/7").unwrap(), "http://svc.internal:80/api/notes/7");
/// # #[cfg(feature = "tls")]
/// assert_eq!(Target::parse("https://x/v1").unwrap().uri("/a").unwrap(), "https://x/v1/a");
/// # #[cfg(not(feature = "tls"))]
/// assert_eq!(
///     Target::parse("https://x:1").unwrap_err().message(),
///     "invalid address \"https://x:1\": https needs kit-http's `tls` feature"
/// );
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    base: String,
    given: String,
}

impl Target {
    /// Reads an address: `host:port` or an `http://` URL, or an `https://` URL with the
    /// `tls` feature (refused without it). HTTPS also needs a pool with TLS settings
    /// (`Pool::with_tls`).
    pub fn parse(instance: &str) -> Result<Target, Error> {
        let bad = |why: &dyn fmt::Display| {
            Error::invalid_argument(format!("invalid address {instance:?}: {why}"))
        };
        let (scheme, rest) = match instance.strip_prefix("https://") {
            Some(_) if cfg!(not(feature = "tls")) => {
                return Err(bad(&"https needs kit-http's `tls` feature"));
            }
            Some(rest) => ("https://", rest),
            None => (
                "http://",
                instance.strip_prefix("http://").unwrap_or(instance),
            ),
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad(&"no host"));
        }
        let base = format!("{scheme}{}", rest.trim_end_matches('/'));
        let uri: Uri = base.parse().map_err(|e| bad(&e))?;
        if uri.query().is_some() {
            return Err(bad(&"a base address has no query"));
        }
        Ok(Target {
            base,
            given: instance.to_owned(),
        })
    }

    /// Whether the address has a path of its own (`http://host:port/rpc`).
    pub fn has_path(&self) -> bool {
        self.base
            .split_once("://")
            .is_some_and(|(_, rest)| rest.contains('/'))
    }

    /// The server's host and port (80, or 443 for `https`, when the address names none), as
    /// the spans of calls report them (`server.address`, `server.port`).
    ///
    /// ```
    /// use kit_http::client::Target;
    ///
    /// assert_eq!(Target::parse("127.0.0.1:8082").unwrap().host_port(), ("127.0.0.1".to_owned(), 8082));
    /// assert_eq!(Target::parse("http://svc/rpc").unwrap().host_port(), ("svc".to_owned(), 80));
    /// ```
    pub fn host_port(&self) -> (String, u16) {
        let uri: Uri = self
            .base
            .parse()
            .expect("the base parsed when the target was made");
        let authority = uri.authority().expect("the base has a host");
        let default_port = if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            443
        } else {
            80
        };
        (
            authority.host().to_owned(),
            authority.port_u16().unwrap_or(default_port),
        )
    }

    /// The URL of `path_and_query` (which starts with `/`) under the base.
    pub fn uri(&self, path_and_query: &str) -> Result<Uri, Error> {
        format!("{}{path_and_query}", self.base)
            .parse()
            .map_err(|e| Error::invalid_argument(format!("invalid address {:?}: {e}", self.given)))
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Target").field(&self.base).finish()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// `value` as one path segment: percent-encoded so that a `/`, `?` or `%` in it stays data.
///
/// ```
/// assert_eq!(kit_http::client::path_segment("a b/c?"), "a%20b%2Fc%3F");
/// assert_eq!(kit_http::client::path_segment(42), "42");
/// ```
pub fn path_segment(value: impl fmt::Display) -> String {
    utf8_percent_encode(&value.to_string(), SEGMENT).to_string()
}

/// Appends `name=value` to a query string under construction (`?` first, `&` after),
/// percent-encoding both.
///
/// ```
/// let mut url = String::from("/notes");
/// kit_http::client::push_query(&mut url, "q", "a&b c");
/// kit_http::client::push_query(&mut url, "limit", 10);
/// assert_eq!(url, "/notes?q=a%26b%20c&limit=10");
/// ```
pub fn push_query(url: &mut String, name: &str, value: impl fmt::Display) {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.extend(utf8_percent_encode(name, QUERY_VALUE).map(str::to_owned));
    url.push('=');
    url.extend(utf8_percent_encode(&value.to_string(), QUERY_VALUE).map(str::to_owned));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_every_form_users_write() {
        let uri = |instance: &str, path: &str| Target::parse(instance).unwrap().uri(path).unwrap();
        assert_eq!(uri("localhost:8081", "/sum"), "http://localhost:8081/sum");
        assert_eq!(uri("http://127.0.0.1:1/", "/sum"), "http://127.0.0.1:1/sum");
        assert_eq!(uri("[::1]:9", "/a?b=c"), "http://[::1]:9/a?b=c");
        assert!(!Target::parse("h:1").unwrap().has_path());
        assert!(Target::parse("http://h:1/rpc").unwrap().has_path());
        let err = Target::parse("http://").unwrap_err();
        assert_eq!(err.code(), kit::Code::InvalidArgument);
        assert_eq!(err.message(), "invalid address \"http://\": no host");
        assert!(Target::parse("h:1:2:3").is_err());
        assert_eq!(
            Target::parse("h:1/?x").unwrap_err().message(),
            "invalid address \"h:1/?x\": a base address has no query"
        );
    }

    #[test]
    fn segments_and_query_values_keep_their_data() {
        assert_eq!(path_segment("ü%"), "%C3%BC%25");
        let mut url = String::from("/x");
        push_query(&mut url, "a=b", "1+1=2");
        assert_eq!(url, "/x?a%3Db=1%2B1%3D2");
    }
}
