//! Following Apollo: one VM per proxy long-polls the config service, validates what it
//! fetches and publishes it in shared data; every VM (the poller too) serves it.
//!
//! Who polls is decided by a lease in shared data (`…lease`), renewed on every tick and
//! taken by compare-and-swap, so it works wherever workers share data (Envoy's workers of
//! one `vm_id`, nginx's workers through `shm_kv`). A VM polls only after holding the lease
//! two ticks in a row, so two VMs that both wrote a fresh lease never both poll. Workers look
//! at the small `…version` record on each tick and read the policy only when it changed.
//! Any failure keeps the policy that serves, and the next poll waits a backoff with jitter.

use crate::host;
use crate::root::log;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType, MetricType};
use std::time::Duration;
use unitgate_core::apollo::{self as core, ApolloSource, Lease};
use unitgate_core::Issue;

/// How often every VM looks for a new policy (and the poller renews its lease).
pub const TICK: Duration = Duration::from_millis(500);
/// A lease not renewed for this long is free: its VM is gone or stuck.
const LEASE_MS: u64 = 3_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Poll,
    Fetch,
}

/// What the root does with a fetched or shared policy: load it against its configuration,
/// swap it in, and return its version; or the issues that refused it.
pub type Install<'a> = &'a mut dyn FnMut(&str) -> Result<String, Vec<Issue>>;

pub struct Client {
    source: ApolloSource,
    module: &'static str,
    /// This VM's lease owner id (random).
    me: u64,
    lease_key: String,
    policy_key: String,
    version_key: String,
    /// Held the lease at the last tick.
    owner: bool,
    in_flight: Option<(u32, Call)>,
    next_poll_ms: u64,
    notification_id: i64,
    /// The notification id a fetch in flight answers.
    pending_id: i64,
    failures: u32,
    /// Release key of the policy this VM serves ("" before the first).
    served: String,
    /// Policy version this VM serves, for the `policy.version.<v>` gauge.
    version: Option<String>,
}

/// A random u64 (this VM's lease id, retry jitter), from WASI's `random_get`, which every
/// proxy-wasm host provides: where std's `RandomState` gets its keys, without bringing
/// SipHash into the module (about 1 KB). The clock is mixed in, should a host give zeros.
#[cfg(target_arch = "wasm32")]
fn random() -> u64 {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn random_get(buf: *mut u8, len: usize) -> i32;
    }
    let mut bytes = [0u8; 8];
    // SAFETY: the host writes at most `len` bytes at `buf`, which points at `bytes`.
    let _ = unsafe { random_get(bytes.as_mut_ptr(), bytes.len()) };
    u64::from_le_bytes(bytes) ^ host::now_ns()
}

/// Natively (tests): std's per-process random keys.
#[cfg(not(target_arch = "wasm32"))]
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(host::now_ns());
    h.finish()
}

impl Client {
    /// `version`: the inline starting policy's, if one serves.
    pub fn new(source: ApolloSource, module: &'static str, version: Option<String>) -> Client {
        let base = format!(
            "unitgate.apollo.{}.{}.{}",
            source.app_id, source.cluster, source.namespace
        );
        let mut c = Client {
            me: random(),
            lease_key: format!("{base}.lease"),
            policy_key: format!("{base}.policy"),
            version_key: format!("{base}.version"),
            source,
            module,
            owner: false,
            in_flight: None,
            next_poll_ms: 0,
            notification_id: -1,
            pending_id: -1,
            failures: 0,
            served: String::new(),
            version: None,
        };
        if let Some(v) = version {
            c.report_version(v);
        }
        c
    }

    /// On every tick: pick up a policy another VM published, renew or take the lease, poll.
    pub fn tick(&mut self, install: Install) {
        self.follow(install);
        let now = host::now_ms();
        let held = self.owner;
        self.owner = self.take_lease(now);
        if self.owner && held && self.in_flight.is_none() && now >= self.next_poll_ms {
            let path = core::notifications_path(&self.source, self.notification_id);
            self.dispatch(Call::Poll, &path, core::POLL_TIMEOUT_MS);
        }
    }

    /// Serves the shared policy when its release differs from this VM's (on every tick, and
    /// at configure time so a new VM starts on the release the others serve).
    pub fn follow(&mut self, install: Install) {
        let Some(version) = shared(&self.version_key) else {
            return;
        };
        if version == self.served.as_bytes() {
            return;
        }
        let Some(record) = shared(&self.policy_key) else {
            return;
        };
        let Some((release, policy)) = core::decode_shared(&record) else {
            return;
        };
        if release.as_bytes() != version.as_slice() {
            return; // the poller is between its two writes: next tick
        }
        let release = release.to_string();
        match install(policy) {
            Ok(v) => {
                self.say(
                    LogLevel::Info,
                    &format!("policy {v} (Apollo release {release}) serves"),
                );
                self.report_version(v);
            }
            Err(issues) => self.rejected(&release, &issues),
        }
        self.served = release;
    }

    fn take_lease(&self, now: u64) -> bool {
        let (current, cas) = match hostcalls::get_shared_data(&self.lease_key) {
            Ok(got) => got,
            Err(_) => return false,
        };
        if !Lease::open_to(current.as_deref(), self.me, now) {
            return false;
        }
        let lease = Lease {
            owner: self.me,
            until_ms: now.saturating_add(LEASE_MS),
        };
        let value = lease.encode();
        hostcalls::set_shared_data(&self.lease_key, Some(value.as_bytes()), cas).is_ok()
    }

    fn dispatch(&mut self, call: Call, path: &str, timeout_ms: u64) {
        let headers = core::request_headers(&self.source, path, host::now_ms());
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let timeout = Duration::from_millis(timeout_ms);
        match hostcalls::dispatch_http_call(&self.source.upstream, pairs, None, vec![], timeout) {
            Ok(token) => {
                self.in_flight = Some((token, call));
                self.count(if call == Call::Poll {
                    "apollo.polls"
                } else {
                    "apollo.fetches"
                });
            }
            Err(status) => self.failed(&format!("the host refused the call ({status:?})")),
        }
    }

    /// `proxy_on_http_call_response` for one of our calls; others are ignored.
    pub fn on_response(&mut self, token: u32, body_size: usize, install: Install) {
        let call = match self.in_flight {
            Some((t, call)) if t == token => call,
            _ => return,
        };
        self.in_flight = None;
        // Bytes: the SDK's string getter panics on a non-UTF-8 value.
        let status = hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten()
            .and_then(|s| host::status_text(&s));
        let body = || {
            hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        match (call, status) {
            (Call::Poll, Some(200)) => {
                match core::changed_notification(&body(), &self.source.namespace) {
                    Some(id) => {
                        self.pending_id = id;
                        let path = core::config_path(&self.source, &self.served);
                        self.dispatch(Call::Fetch, &path, core::FETCH_TIMEOUT_MS);
                    }
                    None => self.failed("notifications answered 200 without our namespace"),
                }
            }
            (Call::Poll, Some(304)) => self.failures = 0,
            (Call::Fetch, Some(200)) => match core::parse_release(&body()) {
                Ok(release) => self.fetched(release, install),
                Err(e) => self.failed(&format!("config read: {e}")),
            },
            (Call::Fetch, Some(304)) => self.settled(),
            (call, status) => {
                let what = if call == Call::Poll {
                    "notifications"
                } else {
                    "config read"
                };
                match status {
                    Some(s) => self.failed(&format!("{what} answered {s}")),
                    None => self.failed(&format!("{what} failed (timeout or connection)")),
                }
            }
        }
    }

    /// A release arrived: validate and serve it here, then publish it to the other VMs.
    fn fetched(&mut self, release: core::Release, install: Install) {
        let key = release.release_key;
        match install(&release.content) {
            Ok(version) => {
                let record = core::encode_shared(&key, &release.content);
                let published =
                    hostcalls::set_shared_data(&self.policy_key, Some(record.as_bytes()), None)
                        .and_then(|()| {
                            hostcalls::set_shared_data(
                                &self.version_key,
                                Some(key.as_bytes()),
                                None,
                            )
                        });
                if published.is_err() {
                    self.say(
                        LogLevel::Warn,
                        "cannot write shared data: other workers keep their policy",
                    );
                }
                self.say(
                    LogLevel::Info,
                    &format!("policy {version} (Apollo release {key}) fetched and serves"),
                );
                self.count("apollo.updates");
                self.report_version(version);
                self.served = key;
            }
            Err(issues) => self.rejected(&key, &issues),
        }
        self.settled();
    }

    /// The change this poll announced is handled: wait for the next one.
    fn settled(&mut self) {
        self.notification_id = self.pending_id;
        self.failures = 0;
    }

    fn rejected(&self, release: &str, issues: &[Issue]) {
        self.count("apollo.rejected");
        for i in issues {
            let msg = format!(
                "Apollo release {release}: error at {}: {}",
                i.path, i.message
            );
            self.say(LogLevel::Error, &msg);
        }
        let msg = format!(
            "Apollo release {release} rejected ({} errors); {} keeps serving",
            issues.len(),
            self.serving()
        );
        self.say(LogLevel::Error, &msg);
    }

    fn failed(&mut self, why: &str) {
        self.failures = self.failures.saturating_add(1);
        let wait = core::backoff_ms(self.failures, random());
        self.next_poll_ms = host::now_ms().saturating_add(wait);
        self.count("apollo.errors");
        let msg = format!(
            "Apollo {why}; {} keeps serving; retrying in {wait} ms",
            self.serving()
        );
        self.say(LogLevel::Warn, &msg);
    }

    fn serving(&self) -> String {
        match &self.version {
            Some(v) => format!("policy {v}"),
            None => "the fail mode (no policy yet)".to_string(),
        }
    }

    /// Gauge `unitgate.<module>.policy.version.<v>`: 1 for the version served, 0 for the one before.
    fn report_version(&mut self, version: String) {
        if let Some(old) = self.version.take().filter(|o| *o != version) {
            self.gauge(&old, 0);
        }
        self.gauge(&version, 1);
        self.version = Some(version);
    }

    fn gauge(&self, version: &str, value: u64) {
        let name = format!("unitgate.{}.policy.version.{version}", self.module);
        if let Ok(id) = hostcalls::define_metric(MetricType::Gauge, &name) {
            let _ = hostcalls::record_metric(id, value);
        }
    }

    fn count(&self, name: &str) {
        let name = format!("unitgate.{}.{name}", self.module);
        if let Ok(id) = hostcalls::define_metric(MetricType::Counter, &name) {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    fn say(&self, level: LogLevel, message: &str) {
        log(level, self.module, message);
    }
}

fn shared(key: &str) -> Option<Vec<u8>> {
    hostcalls::get_shared_data(key).ok()?.0
}
