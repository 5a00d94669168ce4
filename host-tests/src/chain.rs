//! A filter chain: several plugins (each its own worker VM) on one request, in order.

use crate::error::HostError;
use crate::request::RequestBuilder;
use crate::worker::Worker;

/// Workers of different plugins run as one Envoy filter chain / nginx `proxy_wasm` list.
#[derive(Clone)]
pub struct Chain {
    filters: Vec<Worker>,
}

impl Chain {
    /// Filters in request order (responses run in reverse). All from the same `Host`.
    pub fn new(filters: &[&Worker]) -> Result<Chain, HostError> {
        let Some(first) = filters.first() else {
            return Err(HostError::Usage("an empty chain".into()));
        };
        let chain = Chain {
            filters: filters.iter().map(|w| (*w).clone()).collect(),
        };
        // Validate early (same host, no worker twice).
        RequestBuilder::new(first.host.clone(), chain.filters.clone()).validate()?;
        Ok(chain)
    }

    pub fn request(&self) -> RequestBuilder {
        RequestBuilder::new(self.filters[0].host.clone(), self.filters.clone())
    }

    pub fn filters(&self) -> &[Worker] {
        &self.filters
    }
}
