//! Peer-stamp (ctx) and tester-token parsing: any header text, signed with the right secret
//! or not, on any request. `decide` and `untrusted_headers` never panic, and only internal
//! headers other than the tester header are ever stripped.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use unitgate_core::{sign, untrusted_headers, INTERNAL_PREFIX};
use unitgate_fuzz::{decide_everywhere, fixtures, ingress, FuzzRequest, NOW_MS, SECRET};

#[derive(Arbitrary, Debug)]
struct Input {
    fixture: u8,
    /// Stamp text before its signature, e.g. "v1;1;ucloud;uc;orders;core;key_exact;v1;<ts>".
    ctx: Option<(String, bool)>,
    /// Tester token text before its signature, e.g. "jc.<expires_ms>".
    tester: Option<(String, bool)>,
    req: FuzzRequest,
}

/// `text` followed by its signature when `signed`, the way the modules write them.
fn stamp(text: &str, signed: bool, sep: char) -> String {
    if signed {
        format!("{text}{sep}{}", sign(SECRET, text))
    } else {
        text.to_string()
    }
}

fuzz_target!(|input: Input| {
    let fixtures = fixtures();
    let f = &fixtures[input.fixture as usize % fixtures.len()];
    let mut req = input.req.view();
    if let Some((text, signed)) = &input.ctx {
        req.headers
            .push(("x-unitgate-ctx".into(), stamp(text, *signed, ';')));
    }
    if let Some((text, signed)) = &input.tester {
        req.headers
            .push(("x-unitgate-tester".into(), stamp(text, *signed, '.')));
    }
    for local in &f.units {
        let ing = ingress(local, true);
        for name in untrusted_headers(&ing, &req, NOW_MS) {
            assert!(name.starts_with(INTERNAL_PREFIX), "stripped {name}");
            assert_ne!(name, ing.tester_header);
        }
    }
    decide_everywhere(&f.policy, &f.units, &req);
});
