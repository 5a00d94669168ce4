//! unitgate shard router: proxy-wasm module for `Stage::Shard`.
//!
//! Reads the shard key (header, query, cookie, path segment or JSON body), classifies the API
//! and maps the key to a unit, then points the request at that unit's upstream; in a chain it
//! hands the route on to the modules after it in `x-unitgate-hop`. All of it lives in
//! unitgate-glue and unitgate-core; see plugins/README.md.

use unitgate_core::Stage;
use unitgate_glue::Module;

struct ShardRouter;

impl Module for ShardRouter {
    const STAGE: Stage = Stage::Shard;
    const NAME: &'static str = "shard";
}

proxy_wasm::main! {{
    unitgate_glue::start::<ShardRouter>();
}}
