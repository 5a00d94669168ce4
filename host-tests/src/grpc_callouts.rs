//! gRPC calls (`proxy_grpc_call`): what the plugin asked for, and the scripted answers.
//! Envoy 1.40 (measured): a cluster it does not know refuses the dispatch (ParseFailure); a
//! cluster that cannot be reached answers status 14 (UNAVAILABLE) with a message.

use crate::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A gRPC call as the plugin dispatched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcCall {
    /// The cluster name (the SDK's `upstream_name`).
    pub cluster: String,
    pub service: String,
    pub method: String,
    pub initial_metadata: Vec<(String, String)>,
    /// The serialized request message.
    pub message: Vec<u8>,
    pub timeout_ms: u32,
}

/// The answer to a gRPC call: status 0 with a response message, or a failure status and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcReply {
    /// gRPC status code (0 OK, 7 PERMISSION_DENIED, 14 UNAVAILABLE, ...).
    pub status: u32,
    /// The status message (`proxy_get_status`), for failures.
    pub message: String,
    /// The serialized response message, for status 0.
    pub body: Vec<u8>,
}

impl GrpcReply {
    /// Status OK with this response message.
    pub fn ok(body: impl AsRef<[u8]>) -> Self {
        GrpcReply {
            status: 0,
            message: String::new(),
            body: body.as_ref().to_vec(),
        }
    }
    /// A failure: `status` (non-zero) and its message.
    pub fn error(status: u32, message: &str) -> Self {
        GrpcReply {
            status,
            message: message.to_string(),
            body: Vec::new(),
        }
    }
}

pub type GrpcResponder = Arc<dyn Fn(&GrpcCall) -> GrpcReply + Send + Sync>;

#[derive(Default)]
pub struct GrpcCallouts {
    clusters: Mutex<HashMap<String, GrpcResponder>>,
    log: Mutex<Vec<GrpcCall>>,
}

impl GrpcCallouts {
    pub fn script(&self, cluster: &str, responder: GrpcResponder) {
        lock(&self.clusters).insert(cluster.to_string(), responder);
    }

    /// Envoy refuses a call to a cluster it does not know at dispatch.
    pub fn knows(&self, cluster: &str) -> bool {
        lock(&self.clusters).contains_key(cluster)
    }

    pub fn history(&self) -> Vec<GrpcCall> {
        lock(&self.log).clone()
    }

    /// Record the call and answer it.
    pub fn answer(&self, call: &GrpcCall) -> GrpcReply {
        lock(&self.log).push(call.clone());
        let responder = lock(&self.clusters).get(&call.cluster).cloned();
        match responder {
            Some(f) => f(call),
            None => GrpcReply::error(14, "no healthy upstream"),
        }
    }
}
