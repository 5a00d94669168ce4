//! What the fixture remembers: each namespace's draft items, its releases, the active release,
//! and the notification id that advances on every release and rollback.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// (appId, cluster, namespace).
pub type NsId = (String, String, String);

/// One release of a namespace.
#[derive(Clone, Debug)]
pub struct Release {
    pub id: u64,
    pub release_key: String,
    pub title: String,
    pub comment: String,
    pub released_by: String,
    pub configurations: BTreeMap<String, String>,
}

/// One namespace.
#[derive(Clone, Debug, Default)]
pub struct Namespace {
    /// Draft items (what the Open API edits); a release copies them.
    pub items: BTreeMap<String, String>,
    /// Every release, oldest first.
    pub releases: Vec<Release>,
    /// Index in `releases` of the one being served.
    pub active: Option<usize>,
    /// Advances on every release and rollback; -1 before the first.
    pub notification_id: i64,
}

impl Namespace {
    pub fn active_release(&self) -> Option<&Release> {
        self.releases.get(self.active?)
    }
}

/// Every namespace, and the counters shared by all of them.
#[derive(Debug, Default)]
pub struct Store {
    pub namespaces: BTreeMap<NsId, Namespace>,
    next_release_id: u64,
    next_notification_id: i64,
}

impl Store {
    pub fn namespace_mut(&mut self, id: &NsId) -> &mut Namespace {
        self.namespaces
            .entry(id.clone())
            .or_insert_with(|| Namespace {
                notification_id: -1,
                ..Namespace::default()
            })
    }

    /// Release the draft items of `id`; it becomes the active release.
    pub fn release(&mut self, id: &NsId, title: &str, comment: &str, by: &str) -> Release {
        self.next_release_id += 1;
        self.next_notification_id += 1;
        let (release_id, notification) = (self.next_release_id, self.next_notification_id);
        let ns = self.namespace_mut(id);
        let release = Release {
            id: release_id,
            // Apollo's keys are a timestamp, "-" and a random part (URL-safe as they are);
            // here a counter stands in for the timestamp.
            release_key: format!("{release_id:014}-{:08x}", mix(release_id)),
            title: title.to_string(),
            comment: comment.to_string(),
            released_by: by.to_string(),
            configurations: ns.items.clone(),
        };
        ns.releases.push(release.clone());
        ns.active = Some(ns.releases.len() - 1);
        ns.notification_id = notification;
        release
    }

    /// Roll back release `release_id`: its namespace serves the release before it again.
    /// Err(status, message) when the release is unknown or is not the active one.
    pub fn rollback(&mut self, release_id: u64) -> Result<(), (u16, String)> {
        self.next_notification_id += 1;
        let notification = self.next_notification_id;
        let ns = self
            .namespaces
            .values_mut()
            .find(|ns| ns.releases.iter().any(|r| r.id == release_id))
            .ok_or((404, format!("release {release_id} not found")))?;
        let pos = ns.releases.iter().position(|r| r.id == release_id);
        if pos != ns.active {
            return Err((400, format!("release {release_id} is not active")));
        }
        let Some(pos) = pos.and_then(|p| p.checked_sub(1)) else {
            return Err((400, "no release to roll back to".into()));
        };
        ns.active = Some(pos);
        if let Some(prev) = ns.releases.get(pos) {
            ns.items = prev.configurations.clone();
        }
        ns.notification_id = notification;
        Ok(())
    }
}

/// A cheap scrambler so release keys do not look sequential (no RNG needed).
fn mix(x: u64) -> u32 {
    (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
}

/// A release as the Open API returns it (OpenReleaseDTO).
pub fn release_json(id: &NsId, r: &Release) -> Value {
    let configurations: Map<String, Value> = r
        .configurations
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "id": r.id,
        "appId": id.0,
        "clusterName": id.1,
        "namespaceName": id.2,
        "name": r.title,
        "comment": r.comment,
        "releaseKey": r.release_key,
        "configurations": configurations,
        "dataChangeCreatedBy": r.released_by,
    })
}
