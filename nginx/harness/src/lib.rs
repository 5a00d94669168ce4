//! unitgate-nginx: runs real nginx ingresses (Debian's nginx with Kong's ngx_wasm_module, built
//! by `make nginx`) that load `unitgate.wasm`, alone or beside Envoy ingresses, for the nginx
//! end-to-end tests, the four-host parity test and the mixed demo.

pub mod check;
pub mod chunked;
pub mod conf;
pub mod locate;
pub mod nginx;
pub mod scenario;
pub mod topology;

pub use conf::NginxSpec;
pub use nginx::{Nginx, Reload};
pub use topology::{Clouds, Options, Proxy, ProxyKind};
