//! One echo backend per unit of a policy, which a test stops (a unit failure) and starts again
//! on its old port. Both topologies use it: Envoy clouds here, mixed Envoy and nginx clouds in
//! the nginx harness.

use crate::backend::Backend;
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use unitgate_core::Policy;

pub struct UnitBackends {
    running: BTreeMap<String, Backend>,
    ports: BTreeMap<String, u16>,
    clouds: BTreeMap<String, String>,
}

impl UnitBackends {
    /// Starts a backend for every unit, each on a free port.
    pub fn start(policy: &Policy) -> Result<Self> {
        let mut me = Self {
            running: BTreeMap::new(),
            ports: BTreeMap::new(),
            clouds: BTreeMap::new(),
        };
        for unit in &policy.units {
            let backend = Backend::start(&unit.name, &unit.cloud, 0)?;
            me.ports.insert(unit.name.clone(), backend.port());
            me.clouds.insert(unit.name.clone(), unit.cloud.clone());
            me.running.insert(unit.name.clone(), backend);
        }
        Ok(me)
    }

    /// `unit`'s backend, while it runs.
    pub fn get(&self, unit: &str) -> Option<&Backend> {
        self.running.get(unit)
    }

    /// The port `unit`'s backend listens on (kept while it is stopped).
    pub fn port(&self, unit: &str) -> Result<u16> {
        self.ports
            .get(unit)
            .copied()
            .ok_or_else(|| anyhow!("unknown unit {unit}"))
    }

    /// The cloud `unit` lives in.
    pub fn cloud(&self, unit: &str) -> Option<String> {
        self.clouds.get(unit).cloned()
    }

    /// Stops `unit`'s backend (a unit failure).
    pub fn stop(&mut self, unit: &str) {
        if let Some(mut b) = self.running.remove(unit) {
            b.stop();
        }
    }

    /// Starts `unit`'s backend again on its old port.
    pub fn restart(&mut self, unit: &str) -> Result<()> {
        if self.running.contains_key(unit) {
            return Ok(());
        }
        let (port, cloud) = (self.port(unit)?, self.cloud(unit).unwrap_or_default());
        self.running
            .insert(unit.to_string(), Backend::start(unit, &cloud, port)?);
        Ok(())
    }

    /// Stops every backend.
    pub fn stop_all(&mut self) {
        self.running.clear();
    }
}

/// Units per cloud, clouds in order of first appearance.
pub fn clouds_of(policy: &Policy) -> Vec<(String, Vec<String>)> {
    let mut clouds: Vec<(String, Vec<String>)> = Vec::new();
    for unit in &policy.units {
        match clouds.iter_mut().find(|(c, _)| *c == unit.cloud) {
            Some((_, units)) => units.push(unit.name.clone()),
            None => clouds.push((unit.cloud.clone(), vec![unit.name.clone()])),
        }
    }
    clouds
}
