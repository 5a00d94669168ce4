//! unitgate-bench: `make bench`. Real Envoy 1.40, one worker pinned to one core, wrk and the
//! backends on the other; the same request mix through six filter setups, interleaved rounds,
//! medians; then docs/BENCHMARKS.md with the criterion results and a plot.

pub mod criterion;
pub mod envoy;
pub mod machine;
pub mod measure;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod variants;
pub mod wrk;
