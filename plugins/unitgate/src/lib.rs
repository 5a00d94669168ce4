//! unitgate: the recommended proxy-wasm module, the whole pipeline in one pass.
//!
//! Shard routing, then gray release, then fault isolation (down units, API switches,
//! write-forbidden windows, the passive breaker), in one filter and one VM. The plugin
//! configuration's `"stages"` chooses which of them run. All of it lives in unitgate-glue and
//! unitgate-core; see plugins/README.md.

use unitgate_core::Stage;
use unitgate_glue::Module;

struct Pipeline;

impl Module for Pipeline {
    const STAGE: Stage = Stage::Isolation;
    const NAME: &'static str = "pipeline";
    const ONE_PASS: bool = true;
}

proxy_wasm::main! {{
    unitgate_glue::start::<Pipeline>();
}}
