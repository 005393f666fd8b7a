//! The checked-in `schema.graphql` is what `accord schema` prints.

#[test]
fn the_checked_in_schema_is_current() {
    let checked_in = include_str!("../../schema.graphql");
    assert!(
        checked_in == api::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and commit it"
    );
}
