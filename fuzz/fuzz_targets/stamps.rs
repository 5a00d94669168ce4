//! Peer-stamp (ctx), chain-handoff (hop) and tester-token parsing: any header text, signed
//! with the right secret or not, on any request, alone or in a chain. `decide`,
//! `decide_in_chain` and `untrusted_headers` never panic, and only internal headers other
//! than the tester header are ever stripped.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use unitgate_core::{
    decide_in_chain, sign, untrusted_headers, Chain, RuntimeState, Stage, HOP_HEADER,
    INTERNAL_PREFIX,
};
use unitgate_fuzz::{decide_everywhere, fixtures, ingress, FuzzRequest, NOW_MS, SECRET};

#[derive(Arbitrary, Debug)]
struct Input {
    fixture: u8,
    /// Stamp text before its signature, e.g. "v2;ucloud;uc;orders;core;key_exact;v1;<ts>",
    /// and the shard key value its signature is bound to (with the request's method and path).
    ctx: Option<(String, bool, String)>,
    /// Chain handoff, e.g. "1;uc;orders;core;key_exact;42".
    hop: Option<String>,
    /// Tester token text before its signature, e.g. "jc.<expires_ms>".
    tester: Option<(String, bool)>,
    req: FuzzRequest,
}

/// `text` followed by its signature over `signed` (when given), the way the modules write them.
fn stamp(text: &str, signed: Option<&str>, sep: char) -> String {
    match signed {
        Some(covered) => format!("{text}{sep}{}", sign(SECRET, covered)),
        None => text.to_string(),
    }
}

fuzz_target!(|input: Input| {
    let fixtures = fixtures();
    let f = &fixtures[input.fixture as usize % fixtures.len()];
    let mut req = input.req.view();
    if let Some((text, signed, key)) = &input.ctx {
        // A peer stamp's signature covers the request it was written for.
        let covered = format!("{text}\n{}\n{}\n{key}", req.method, req.path);
        let value = stamp(text, signed.then_some(covered.as_str()), ';');
        req.headers.push(("x-unitgate-ctx".into(), value.into()));
    }
    if let Some(hop) = &input.hop {
        req.headers.push((HOP_HEADER.into(), hop.clone().into()));
    }
    if let Some((text, signed)) = &input.tester {
        let value = stamp(text, signed.then_some(text.as_str()), '.');
        req.headers.push(("x-unitgate-tester".into(), value.into()));
    }
    let state = RuntimeState {
        now_ms: NOW_MS,
        ..RuntimeState::default()
    };
    for local in &f.units {
        let ing = ingress(local, true);
        for trust_hop in [false, true] {
            for name in untrusted_headers(&ing, &req, trust_hop) {
                assert!(name.starts_with(INTERNAL_PREFIX), "stripped {name}");
                assert_ne!(name, ing.tester_header);
            }
        }
        for stage in [Stage::Shard, Stage::Gray, Stage::Isolation] {
            for (earlier, later) in [(false, false), (false, true), (true, false), (true, true)] {
                let chain = Chain { earlier, later };
                let _ = decide_in_chain(&f.policy, &ing, &req, &state, stage, chain);
            }
        }
    }
    decide_everywhere(&f.policy, &f.units, &req);
});
