//! `decide()` on arbitrary requests (method, path, query, headers, cookies, body; non-UTF-8,
//! huge and empty values) against each example policy, from each of its units.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unitgate_fuzz::{decide_everywhere, fixtures, FuzzRequest};

fuzz_target!(|input: (u8, FuzzRequest)| {
    let (which, req) = input;
    let fixtures = fixtures();
    let f = &fixtures[which as usize % fixtures.len()];
    decide_everywhere(&f.policy, &f.units, &req.view());
});
