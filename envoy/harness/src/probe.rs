//! Steady client traffic for failover measurements: threads that send one request over and
//! over to an ingress and record, for each answer, when it came, its status and which unit's
//! backend served it. The samples say what was lost, when traffic moved, and when it came back.

use crate::client::{Client, Request};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One answer (or failure) seen by a probe.
#[derive(Clone, Debug)]
pub struct Sample {
    /// When the answer arrived.
    pub at: Instant,
    /// None: no HTTP answer (reset, refused, timeout).
    pub status: Option<u16>,
    /// The unit whose backend answered (None for a proxy's own reply).
    pub unit: Option<String>,
    /// The policy version the module explained (`x-unitgate-explain`), if it did.
    pub version: Option<String>,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Threads sending `request` to a port until stopped.
pub struct Probe {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Probe {
    /// Starts `threads` senders of `request` to 127.0.0.1:`port`, each pausing `pause`
    /// between requests.
    pub fn start(port: u16, request: Request, threads: usize, pause: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..threads)
            .map(|_| {
                let (stop, samples, request) = (stop.clone(), samples.clone(), request.clone());
                std::thread::spawn(move || {
                    let client = Client::with_timeout(Duration::from_secs(5));
                    while !stop.load(Ordering::Relaxed) {
                        let sample = match client.send(port, &request) {
                            Ok(r) => Sample {
                                at: Instant::now(),
                                status: Some(r.status),
                                unit: r.served_by(),
                                version: r.explain("version"),
                            },
                            Err(_) => Sample {
                                at: Instant::now(),
                                status: None,
                                unit: None,
                                version: None,
                            },
                        };
                        if let Ok(mut all) = samples.lock() {
                            all.push(sample);
                        }
                        std::thread::sleep(pause);
                    }
                })
            })
            .collect();
        Self {
            stop,
            samples,
            threads,
        }
    }

    /// Stops every thread and returns the samples in arrival order.
    pub fn finish(mut self) -> Vec<Sample> {
        self.halt();
        let mut all = self
            .samples
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        all.sort_by_key(|s| s.at);
        all
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.halt();
    }
}

/// How long after `since` the samples first came from `unit` and stayed so until `until`:
/// the time traffic took to move there. None if it never settled.
pub fn settled_on(
    samples: &[Sample],
    unit: &str,
    since: Instant,
    until: Instant,
) -> Option<Duration> {
    let window: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= since && s.at < until)
        .collect();
    let first = match window.iter().rposition(|s| s.unit.as_deref() != Some(unit)) {
        Some(i) => window.get(i + 1)?,
        None => window.first()?,
    };
    Some(first.at.duration_since(since))
}

/// How long after `since` a sample first came from `unit`.
pub fn first_from(samples: &[Sample], unit: &str, since: Instant) -> Option<Duration> {
    samples
        .iter()
        .find(|s| s.at >= since && s.unit.as_deref() == Some(unit))
        .map(|s| s.at.duration_since(since))
}
