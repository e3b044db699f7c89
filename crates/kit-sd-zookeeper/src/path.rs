//! Node paths: checking them, and making a service's node when it is missing.

use kit::Error;
use zookeeper_client as zk;

use crate::Client;

/// Checks that `path` is a ZooKeeper path a service's instances can live under: absolute, no
/// trailing `/`, no empty, `.` or `..` segments, not the root.
pub(crate) fn validate(path: &str) -> Result<(), Error> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(invalid(path, "it must start with `/`"));
    };
    if rest.is_empty() {
        return Err(invalid(
            path,
            "instances cannot live directly under the root",
        ));
    }
    if rest
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(invalid(
            path,
            "it has an empty, `.` or `..` segment (or a trailing `/`)",
        ));
    }
    Ok(())
}

fn invalid(path: &str, why: &str) -> Error {
    Error::invalid_argument(format!("zookeeper: bad service path `{path}`: {why}"))
}

/// Creates `path` and its missing parents as persistent nodes with the client's ACL, unless
/// it exists (as Go kit's `CreateParentNodes`). Existing nodes are only looked at, which no
/// ACL forbids, so a client that may only read a service can still watch it.
pub(crate) async fn ensure_exists(
    client: &Client,
    session: &zk::Client,
    path: &str,
) -> Result<(), Error> {
    let exists = session
        .check_stat(path)
        .await
        .map_err(|err| client.error(err, &format!("look up {path}")))?;
    if exists.is_some() {
        return Ok(());
    }
    let options = zk::CreateMode::Persistent.with_acls(client.acls());
    session
        .mkdir(path, &options)
        .await
        .map_err(|err| client.error(err, &format!("create {path}")))
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn service_paths() {
        assert!(validate("/services/addsvc/http").is_ok());
        assert!(validate("/a").is_ok());
        for (path, why) in [
            ("services/addsvc", "it must start with `/`"),
            ("/", "instances cannot live directly under the root"),
            (
                "/services/",
                "it has an empty, `.` or `..` segment (or a trailing `/`)",
            ),
            (
                "/a//b",
                "it has an empty, `.` or `..` segment (or a trailing `/`)",
            ),
            (
                "/a/../b",
                "it has an empty, `.` or `..` segment (or a trailing `/`)",
            ),
        ] {
            let err = validate(path).unwrap_err();
            assert_eq!(err.code(), kit::Code::InvalidArgument);
            assert_eq!(
                err.message(),
                format!("zookeeper: bad service path `{path}`: {why}")
            );
        }
    }
}
