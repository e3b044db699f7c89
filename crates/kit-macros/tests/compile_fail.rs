//! Misuse of the macros is refused at compile time with a message that says what to do.

#[test]
fn misuse_is_refused_with_a_message_that_says_what_to_do() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
