use super::*;

#[test]
fn numbers_and_names_round_trip_every_code() {
    for code in Code::ALL {
        assert_eq!(Code::from_number(code.number()), Some(code));
        assert_eq!(code.as_str().parse::<Code>(), Ok(code));
    }
    assert_eq!(Code::from_number(0), None);
    assert_eq!(Code::from_number(17), None);
    assert_eq!(Code::from_number(-1), None);
    assert_eq!("aborted".parse::<Code>(), Err(UnknownCode));
    assert_eq!("OK".parse::<Code>(), Err(UnknownCode));
}

#[test]
fn the_table_says_what_codes_mean() {
    let retryable: Vec<Code> = Code::ALL
        .into_iter()
        .filter(|c| c.class().retryable)
        .collect();
    assert_eq!(
        retryable,
        [
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Aborted,
            Code::Unavailable
        ]
    );
    let failures: Vec<Code> = Code::ALL
        .into_iter()
        .filter(|c| c.class().failure)
        .collect();
    assert_eq!(
        failures,
        [
            Code::Unknown,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Internal,
            Code::Unavailable,
            Code::DataLoss
        ]
    );
    // Every code is exactly one of: the callee's failure, the caller's fault, or neither
    // (a conflict).
    for code in Code::ALL {
        let class = code.class();
        assert!(!(class.failure && class.caller_fault), "{code}");
        assert_eq!(
            class.failure || class.caller_fault,
            code != Code::Aborted,
            "{code}"
        );
    }
}

#[test]
fn business_errors_are_neither_failures_nor_retryable() {
    let err = Error::invalid_argument("integer overflow");
    assert!(!err.code().class().failure);
    assert!(err.code().class().caller_fault);
    assert!(!err.is_retryable());
    assert!(Error::unavailable("down").is_retryable());
    assert!(!Error::cancelled().code().class().failure);
}

#[test]
fn errors_that_may_have_run_are_retried_only_for_idempotent_calls() {
    let lost = Error::unavailable("connection reset").with_delivery(Delivery::MaybeExecuted);
    assert_eq!(lost.delivery(), Delivery::MaybeExecuted);
    assert!(!lost.is_replay_safe());
    assert!(!lost.is_retryable());
    assert!(!may_retry(&ByCode, &lost, false));
    assert!(may_retry(&ByCode, &lost, true));

    let lost = lost.idempotent_call();
    assert!(lost.is_idempotent_call());
    assert!(lost.is_replay_safe());
    assert!(lost.is_retryable());

    let refused = Error::unavailable("connection refused").with_delivery(Delivery::NotSent);
    assert!(refused.is_retryable());

    // Safety never widens what the class allows.
    let rejected = Error::invalid_argument("no").with_delivery(Delivery::NotSent);
    assert!(!may_retry(&ByCode, &rejected, true));
    // An answer from the callee is classified by its code.
    assert_eq!(
        Error::resource_exhausted("slow down").delivery(),
        Delivery::Answered
    );
    assert!(Error::resource_exhausted("slow down").is_retryable());
}

#[test]
fn classifiers_override_the_table() {
    let conflict_retried = classify_with(|err: &Error| {
        (err.code() == Code::AlreadyExists && err.message().contains("lock"))
            .then(|| err.code().class().with_retryable(true))
    });
    let locked = Error::already_exists("row lock held");
    assert!(conflict_retried.classify(&locked).retryable);
    assert!(may_retry(&conflict_retried, &locked, false));
    assert!(!may_retry(&ByCode, &locked, false));
    // Other errors keep the default.
    let exists = Error::already_exists("profile exists");
    assert_eq!(
        conflict_retried.classify(&exists),
        Code::AlreadyExists.class()
    );
    // A closure is a classifier too.
    let everything_fails = |err: &Error| err.code().class().with_failure(true);
    assert!(everything_fails.classify(&exists).failure);
}

#[test]
fn private_messages_are_redacted_on_request() {
    let db = Error::internal("pq: relation \"users\" does not exist");
    assert_eq!(db.message_for_caller(), db.message());
    let db = db.redact_private();
    assert_eq!(db.message_for_caller(), "internal error");
    assert_eq!(db.message(), "pq: relation \"users\" does not exist");
    assert_eq!(
        Error::unknown("ENOENT /etc/secret")
            .redact_private()
            .message_for_caller(),
        "unknown error"
    );
    assert_eq!(
        Error::data_loss("checksum of /var/db/7")
            .redact_private()
            .message_for_caller(),
        "data loss"
    );
    // Everything else keeps its text.
    for code in Code::ALL.into_iter().filter(|c| !c.is_private()) {
        let err = Error::new(code, "kept").redact_private();
        assert_eq!(err.message_for_caller(), "kept");
    }
}

#[test]
fn details_and_hints_travel_with_the_error() {
    #[derive(Debug, PartialEq)]
    struct Status(u16);
    let err = Error::invalid_argument("bad field")
        .with_details(serde_json::json!({"field": "a"}))
        .with_hint(Status(400))
        .with_hint(Status(413));
    assert_eq!(err.details(), Some(&serde_json::json!({"field": "a"})));
    assert_eq!(err.hint::<Status>(), Some(&Status(413)));
    assert_eq!(err.hint::<u8>(), None);
}

#[test]
fn conversions_classify() {
    let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
    assert_eq!(Error::from(refused).code(), Code::Unavailable);
    let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
    assert_eq!(Error::from(timed_out).code(), Code::DeadlineExceeded);

    let json = serde_json::from_str::<Vec<u32>>("[1").unwrap_err();
    let err = Error::from(json);
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("EOF"), "{}", err.message());
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn boxed_errors_are_unwrapped_or_classified() {
    let boxed: BoxError = Box::new(Error::not_found("no such profile"));
    let err = Error::from_boxed(boxed);
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "no such profile");

    let boxed: BoxError = Box::new(tower::timeout::error::Elapsed::new());
    assert_eq!(Error::from_boxed(boxed).code(), Code::DeadlineExceeded);
    let boxed: BoxError = Box::new(tower::load_shed::error::Overloaded::new());
    assert_eq!(Error::from_boxed(boxed).code(), Code::Unavailable);
    let boxed: BoxError = "something odd".into();
    let err = Error::from_boxed(boxed);
    assert_eq!(
        (err.code(), err.message()),
        (Code::Unknown, "something odd")
    );
}

#[test]
fn error_is_one_pointer_wide() {
    assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
}
