//! Host profiles: which proxy the harness behaves like (README: Profiles).

/// The proxy whose proxy-wasm host the harness emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Envoy 1.40 (V8): cluster-named http calls, queues, `clear_route_cache`, pause anywhere.
    Envoy,
    /// Kong's ngx_wasm_module (commit 3bed2783) in nginx 1.22: a pause on request headers or
    /// body is never resumed unless an http call is pending, removed headers are only marked
    /// deleted (still read back and forwarded), response callbacks run in chain order, the
    /// request body comes whole in one callback, shared data needs an `shm_kv` zone, only
    /// `ngx.*`/`wasmx.*` properties can be set, a trapped instance is replaced on the next
    /// request; `plugin_root_id` reads "0", unknown foreign functions and unimplemented calls
    /// trap (the request gets a 500), `end_of_stream` is false in header callbacks, no pause in
    /// response phases, no `proxy_get_header_map_size` / `proxy_get_buffer_status`, http calls
    /// name `host:port`. The README's Profiles table cites the source of each.
    NgxWasmModule,
}

impl Profile {
    /// Both profiles, for tests that must hold under each.
    pub const ALL: [Profile; 2] = [Profile::Envoy, Profile::NgxWasmModule];

    pub fn name(self) -> &'static str {
        match self {
            Profile::Envoy => "envoy",
            Profile::NgxWasmModule => "ngx_wasm_module",
        }
    }

    pub fn is_ngx(self) -> bool {
        self == Profile::NgxWasmModule
    }

    /// The status the client gets when the filter's VM has failed (Envoy FAIL_CLOSED: 503,
    /// nginx: 500).
    pub fn failure_status(self) -> u16 {
        match self {
            Profile::Envoy => 503,
            Profile::NgxWasmModule => 500,
        }
    }

    /// ABI functions this host does not provide at all: a module importing one fails to load.
    pub fn missing_imports(self) -> &'static [&'static str] {
        match self {
            Profile::Envoy => &[],
            Profile::NgxWasmModule => &["proxy_get_header_map_size", "proxy_get_buffer_status"],
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
