//! Holds the `city_day` example (`cargo run --example city_day`), so that running it
//! compiles the library and its own dependencies only: none of the test and benchmark
//! dependencies (criterion, proptest, redis, rqrr) that the core crate's examples pull in.
