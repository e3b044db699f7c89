use std::os::unix::fs::PermissionsExt;

use kit_testkit::{require_binary, temp_dir};

use crate::panic_message;

#[test]
fn finds_sh_on_path() {
    let sh = require_binary("sh", "apt-get install -y dash");
    assert!(sh.is_absolute(), "{}", sh.display());
    assert_eq!(sh.file_name().unwrap(), "sh");
}

#[test]
fn accepts_an_absolute_path() {
    let sh = require_binary("sh", "apt-get install -y dash");
    assert_eq!(require_binary(sh.to_str().unwrap(), "unused"), sh);
}

#[test]
#[should_panic(
    expected = "`kit-no-such-server` is not installed (not found on PATH or in /usr/sbin, /sbin): \
                install it with `apt-get install -y kit-no-such-server`"
)]
fn missing_binary_panics_with_install_hint() {
    require_binary(
        "kit-no-such-server",
        "apt-get install -y kit-no-such-server",
    );
}

#[test]
fn missing_absolute_path_panics_with_install_hint() {
    let message = panic_message(|| {
        require_binary("/nonexistent/bin/etcd", "apt-get install -y etcd-server");
    });
    assert_eq!(
        message,
        "`/nonexistent/bin/etcd` is not installed (no executable file at that path): \
         install it with `apt-get install -y etcd-server`"
    );
}

#[test]
fn non_executable_file_is_not_a_binary() {
    let dir = temp_dir("kit-testkit-bin-");
    let file = dir.path().join("server");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let message = panic_message(|| {
        require_binary(file.to_str().unwrap(), "make server");
    });
    assert!(
        message.contains("install it with `make server`"),
        "{message}"
    );

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(require_binary(file.to_str().unwrap(), "make server"), file);
}

#[test]
fn directories_are_not_binaries() {
    let message = panic_message(|| {
        require_binary("/tmp", "nothing");
    });
    assert!(message.contains("is not installed"), "{message}");
}
