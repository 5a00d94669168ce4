//! Errors a test sees: each says what failed, where, and shows the plugin's logs.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub enum HostError {
    /// The .wasm file is not there (run `make build`).
    MissingModule { path: String },
    /// The module could not be compiled, linked or instantiated.
    Load { path: String, reason: String },
    /// `proxy_on_vm_start` or `proxy_on_configure` returned false.
    Rejected {
        worker: u32,
        hook: &'static str,
        logs: String,
    },
    /// The module trapped (a Rust panic with panic=abort is `unreachable`). The VM is now dead.
    Trap {
        worker: u32,
        hook: &'static str,
        message: String,
        /// The SDK's panic hook message (logged at Critical before the abort), if any.
        panic: Option<String>,
        /// What the client of the failed request gets (Envoy FAIL_CLOSED 503, nginx 500).
        client_status: u16,
        logs: String,
    },
    /// The worker's VM died earlier; like Envoy FAIL_CLOSED every request fails.
    Dead {
        worker: u32,
        reason: String,
        client_status: u16,
    },
    /// The test used the API wrongly (e.g. the same worker twice in a chain).
    Usage(String),
}

impl HostError {
    /// The HTTP status the client would get for this failure, if it is a request failure.
    pub fn client_status(&self) -> Option<u16> {
        match self {
            HostError::Trap { client_status, .. } | HostError::Dead { client_status, .. } => {
                Some(*client_status)
            }
            _ => None,
        }
    }

    pub fn is_trap(&self) -> bool {
        matches!(self, HostError::Trap { .. })
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::MissingModule { path } => write!(
                f,
                "proxy-wasm module {path} not found: build it first, or point the host at its \
                 directory (`Host::module_dir` or $PROXY_WASM_MODULE_DIR)"
            ),
            HostError::Load { path, reason } => write!(f, "cannot load {path}: {reason}"),
            HostError::Rejected { worker, hook, logs } => write!(
                f,
                "worker {worker}: {hook} returned false (plugin rejected its configuration)\nlogs:\n{logs}"
            ),
            HostError::Trap {
                worker,
                hook,
                message,
                panic,
                client_status,
                logs,
            } => {
                write!(f, "worker {worker}: module trapped in {hook}: {message}")?;
                if let Some(p) = panic {
                    write!(f, "\npanic: {p}")?;
                }
                write!(
                    f,
                    "\nthe VM is dead; the client gets {client_status}\nlogs:\n{logs}"
                )
            }
            HostError::Dead {
                worker,
                reason,
                client_status,
            } => write!(
                f,
                "worker {worker}: VM is dead ({reason}); request refused with {client_status}"
            ),
            HostError::Usage(m) => write!(f, "host-tests usage error: {m}"),
        }
    }
}

/// Debug shows the readable message too, so `unwrap()` in a test prints it.
impl fmt::Debug for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for HostError {}
