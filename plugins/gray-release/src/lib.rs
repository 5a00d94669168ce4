//! unitgate gray release: proxy-wasm module for `Stage::Gray`.
//!
//! Resumes from the shard router's handoff in a chain (or routes by itself when alone), then applies the gray
//! rules: sticky percentages, allow/deny lists, the tester override token, and a Set-Cookie
//! with an assigned id for users without a key. See plugins/README.md.

use unitgate_core::Stage;
use unitgate_glue::Module;

struct GrayRelease;

impl Module for GrayRelease {
    const STAGE: Stage = Stage::Gray;
    const NAME: &'static str = "gray";
}

proxy_wasm::main! {{
    unitgate_glue::start::<GrayRelease>();
}}
