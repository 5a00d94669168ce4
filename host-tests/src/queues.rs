//! Shared queues (Envoy profile): registered per (vm_id, name), readable by every worker;
//! an enqueue notifies the registering VM's root context with `proxy_on_queue_ready`.

use crate::sync::lock;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Queues {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    by_name: HashMap<(String, String), u32>,
    queues: HashMap<u32, Queue>,
    /// (worker id, root context id, queue id) waiting for delivery.
    ready: Vec<(u32, u32, u32)>,
}

#[derive(Debug)]
struct Queue {
    owner_worker: u32,
    owner_context: u32,
    items: VecDeque<Vec<u8>>,
}

impl Queues {
    /// Register (or re-register, taking ownership) a queue; returns its id.
    pub fn register(&self, vm_id: &str, name: &str, worker: u32, context: u32) -> u32 {
        let mut s = lock(&self.inner);
        let key = (vm_id.to_string(), name.to_string());
        if let Some(id) = s.by_name.get(&key).copied() {
            if let Some(q) = s.queues.get_mut(&id) {
                q.owner_worker = worker;
                q.owner_context = context;
            }
            return id;
        }
        let id = s.by_name.len() as u32 + 1;
        s.by_name.insert(key, id);
        s.queues.insert(
            id,
            Queue {
                owner_worker: worker,
                owner_context: context,
                items: VecDeque::new(),
            },
        );
        id
    }

    pub fn resolve(&self, vm_id: &str, name: &str) -> Option<u32> {
        lock(&self.inner)
            .by_name
            .get(&(vm_id.to_string(), name.to_string()))
            .copied()
    }

    /// False if the queue does not exist.
    pub fn enqueue(&self, id: u32, item: Vec<u8>) -> bool {
        let mut s = lock(&self.inner);
        let Some(q) = s.queues.get_mut(&id) else {
            return false;
        };
        q.items.push_back(item);
        let note = (q.owner_worker, q.owner_context, id);
        s.ready.push(note);
        true
    }

    /// `None` if the queue does not exist, `Some(None)` if it is empty.
    pub fn dequeue(&self, id: u32) -> Option<Option<Vec<u8>>> {
        let mut s = lock(&self.inner);
        s.queues.get_mut(&id).map(|q| q.items.pop_front())
    }

    /// Take the pending `on_queue_ready` notifications.
    pub fn take_ready(&self) -> Vec<(u32, u32, u32)> {
        std::mem::take(&mut lock(&self.inner).ready)
    }
}
