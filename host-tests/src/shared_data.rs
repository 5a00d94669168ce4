//! Shared data: key/value stores with CAS, shared by every worker VM of the host. Envoy
//! (proxy-wasm-cpp-host) keeps one store per `vm_id`; nginx keeps one `shm_kv` zone for every
//! module. The namespace is the VM id under Envoy and always "" under nginx.

use crate::abi::status;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct SharedData {
    inner: Mutex<Store>,
}

#[derive(Debug, Default)]
struct Store {
    /// (namespace, key) → (value, cas).
    entries: HashMap<(String, String), (Vec<u8>, u32)>,
    last_cas: u32,
}

impl SharedData {
    /// Value and CAS token, like `proxy_get_shared_data`.
    pub fn get(&self, ns: &str, key: &str) -> Option<(Vec<u8>, u32)> {
        lock(&self.inner)
            .entries
            .get(&(ns.to_string(), key.to_string()))
            .cloned()
    }

    /// Envoy's rule: cas 0 is unconditional; a non-zero cas must match the stored one
    /// (a missing key accepts any cas). Returns a status code.
    pub fn set(&self, ns: &str, key: &str, value: Vec<u8>, cas: u32) -> i32 {
        let mut store = lock(&self.inner);
        let id = (ns.to_string(), key.to_string());
        if let Some((_, current)) = store.entries.get(&id) {
            if cas != 0 && cas != *current {
                return status::CAS_MISMATCH;
            }
        }
        store.last_cas = store.last_cas.wrapping_add(1).max(1);
        let next = store.last_cas;
        store.entries.insert(id, (value, next));
        status::OK
    }

    /// Keys of one namespace, sorted.
    pub fn keys(&self, ns: &str) -> Vec<String> {
        let mut keys: Vec<String> = lock(&self.inner)
            .entries
            .keys()
            .filter(|(n, _)| n == ns)
            .map(|(_, k)| k.clone())
            .collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_rules() {
        let d = SharedData::default();
        assert_eq!(d.get("", "k"), None);
        assert_eq!(d.set("", "k", b"a".to_vec(), 77), status::OK); // missing key: any cas
        let (_, cas) = d.get("", "k").unwrap();
        assert_eq!(d.set("", "k", b"b".to_vec(), cas + 1), status::CAS_MISMATCH);
        assert_eq!(d.set("", "k", b"b".to_vec(), cas), status::OK);
        assert_eq!(d.set("", "k", b"c".to_vec(), cas), status::CAS_MISMATCH);
        assert_eq!(d.set("", "k", b"d".to_vec(), 0), status::OK);
        assert_eq!(d.get("", "k").unwrap().0, b"d".to_vec());
        // Another namespace (Envoy vm_id) is another store.
        assert_eq!(d.get("vm2", "k"), None);
        assert_eq!(d.keys(""), ["k"]);
    }
}
