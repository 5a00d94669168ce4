//! A stand-in for Apollo's config service and Open API, for tests and demos on loopback.
//! It is NOT Apollo: it implements the documented HTTP endpoints the unitgate tools and
//! modules use, with Apollo's status codes, long-poll hold, release keys, notification ids
//! and access-key signature, and nothing else (no portal, no namespaces of other formats,
//! no gray releases, no persistence).
//!
//! ```no_run
//! use unitgate_apollo_fixture::{Fixture, Options};
//! let apollo = Fixture::start(Options::default()).unwrap();
//! apollo.seed("unitgate", "default", "unitgate.json", r#"{"version":"v1"}"#);
//! println!("config service and Open API at {}", apollo.url());
//! ```
//!
//! Endpoints (one listener serves both APIs):
//! - `GET /configs/{appId}/{cluster}/{namespace}?releaseKey=&ip=`: 200 with
//!   `{appId, cluster, namespaceName, configurations, releaseKey}`, 304 when `releaseKey` is
//!   the active one, 404 before the first release.
//! - `GET /notifications/v2?appId=&cluster=&notifications=[{"namespaceName","notificationId"}]`:
//!   200 at once when a namespace has a newer notification id, else held up to
//!   [`Options::hold`] and then 304; 400 when a parameter is missing or not JSON.
//! - Open API, `Authorization: <token>` when [`Options::open_api_token`] is set (401 otherwise):
//!   `PUT /openapi/v1/envs/{env}/apps/{appId}/clusters/{cluster}/namespaces/{ns}/items/{key}`,
//!   `POST …/namespaces/{ns}/releases`, `GET …/namespaces/{ns}/releases/latest` (404 when
//!   there is none), `PUT /openapi/v1/envs/{env}/releases/{releaseId}/rollback?operator=`.
//!   `{env}` is accepted and ignored: the fixture is one environment.
//! - With an access key for an app ([`Options::access_keys`]), its config-service requests
//!   must be signed (see [`auth`]); a missing or wrong signature gets 401.
//! - [`Fixture::set_failing`] makes every request answer 500, for failure tests.

pub mod auth;
pub mod http;
mod routes;
pub mod store;

use http::{Request, Response};
use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use store::{NsId, Store};

/// How the fixture behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long `notifications/v2` holds a request when nothing changed (Apollo: 60 s).
    pub hold: Duration,
    /// Token the Open API requires in `Authorization`; None: no check.
    pub open_api_token: Option<String>,
    /// appId -> access-key secrets; an app listed here must sign its config-service requests.
    pub access_keys: BTreeMap<String, Vec<String>>,
    /// Refuse a signature whose `Timestamp` is more than a minute off the fixture's clock, as
    /// Apollo does. Off for clients on a virtual clock (host-tests).
    pub check_skew: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hold: Duration::from_secs(60),
            open_api_token: None,
            access_keys: BTreeMap::new(),
            check_skew: true,
        }
    }
}

/// State shared by the server threads and the test that owns the fixture.
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    /// Signalled on every release and rollback, and on stop (wakes held long polls).
    pub changed: Condvar,
    pub options: Options,
    pub failing: AtomicBool,
    pub stopping: AtomicBool,
    /// `notifications/v2` requests received (answered or not).
    pub polls: AtomicU64,
    /// `configs/…` requests received.
    pub reads: AtomicU64,
}

/// A running (or stopped) fixture. Stops on drop.
pub struct Fixture {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Fixture {
    /// Start on a free loopback port.
    pub fn start(options: Options) -> io::Result<Fixture> {
        Self::start_on("127.0.0.1:0".parse().expect("literal address"), options)
    }

    /// Start on `addr` (loopback only, say 127.0.0.1:8080).
    pub fn start_on(addr: SocketAddr, options: Options) -> io::Result<Fixture> {
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            changed: Condvar::new(),
            options,
            failing: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            polls: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        });
        let mut f = Fixture {
            addr,
            shared,
            server: None,
        };
        f.listen()?;
        Ok(f)
    }

    fn listen(&mut self) -> io::Result<()> {
        let listener = TcpListener::bind(self.addr)?;
        self.addr = listener.local_addr()?;
        self.shared.stopping.store(false, Ordering::SeqCst);
        let stop = Arc::new(AtomicBool::new(false));
        let shared = self.shared.clone();
        let handler: Arc<dyn Fn(Request) -> Response + Send + Sync> =
            Arc::new(move |req| routes::handle(&shared, req));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || http::serve(listener, flag, handler));
        self.server = Some((stop, thread));
        Ok(())
    }

    /// `http://127.0.0.1:<port>`: base URL of both APIs.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop listening; held long polls are cut. The releases are kept for `restart`.
    pub fn stop(&mut self) {
        let Some((stop, thread)) = self.server.take() else {
            return;
        };
        stop.store(true, Ordering::SeqCst);
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let _ = thread.join();
    }

    /// Listen again on the same port, with the same releases.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.listen()
    }

    /// How many long polls (`notifications/v2`) arrived since the start, restarts included:
    /// how tests prove that one client per proxy polls.
    pub fn poll_count(&self) -> u64 {
        self.shared.polls.load(Ordering::SeqCst)
    }

    /// How many namespace reads (`configs/…`) arrived since the start.
    pub fn read_count(&self) -> u64 {
        self.shared.reads.load(Ordering::SeqCst)
    }

    /// While set, every request gets 500 (a broken Apollo).
    pub fn set_failing(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
    }

    /// Set the `content` item of a namespace and release it, as the Open API would.
    /// Returns the new release key.
    pub fn seed(&self, app_id: &str, cluster: &str, namespace: &str, content: &str) -> String {
        let id: NsId = (app_id.into(), cluster.into(), namespace.into());
        let release = {
            let mut store = self.lock();
            store
                .namespace_mut(&id)
                .items
                .insert("content".into(), content.into());
            store.release(&id, "seed", "", "fixture")
        };
        self.shared.changed.notify_all();
        release.release_key
    }

    /// The active release's `content` item of a namespace, if any.
    pub fn active_content(&self, app_id: &str, cluster: &str, namespace: &str) -> Option<String> {
        let id: NsId = (app_id.into(), cluster.into(), namespace.into());
        let store = self.lock();
        let release = store.namespaces.get(&id)?.active_release()?;
        release.configurations.get("content").cloned()
    }

    /// How many releases a namespace has had (rollbacks do not count).
    pub fn release_count(&self, app_id: &str, cluster: &str, namespace: &str) -> usize {
        let id: NsId = (app_id.into(), cluster.into(), namespace.into());
        self.lock()
            .namespaces
            .get(&id)
            .map_or(0, |ns| ns.releases.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.shared
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop();
    }
}
