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

/// What the server sends on a stream, delivered to the plugin in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrpcStreamEvent {
    /// `on_grpc_stream_initial_metadata` (map type 4).
    InitialMetadata(Vec<(String, String)>),
    /// `on_grpc_stream_message` (buffer type 5).
    Message(Vec<u8>),
    /// `on_grpc_stream_trailing_metadata` (map type 5).
    TrailingMetadata(Vec<(String, String)>),
    /// `on_grpc_stream_close` with this status; the message is `get_grpc_status`'s.
    Close(u32, String),
}

/// Answers each message a plugin sends on a stream: the stream as opened (its `message` is the
/// one just sent), whether the plugin ended its side, and the events the server sends back.
pub type GrpcStreamResponder = Arc<dyn Fn(&GrpcCall, bool) -> Vec<GrpcStreamEvent> + Send + Sync>;

#[derive(Clone)]
enum Service {
    Unary(GrpcResponder),
    Stream(GrpcStreamResponder),
}

#[derive(Default)]
pub struct GrpcCallouts {
    clusters: Mutex<HashMap<String, Service>>,
    log: Mutex<Vec<GrpcCall>>,
}

impl GrpcCallouts {
    pub fn script(&self, cluster: &str, responder: GrpcResponder) {
        lock(&self.clusters).insert(cluster.to_string(), Service::Unary(responder));
    }

    pub fn script_stream(&self, cluster: &str, responder: GrpcStreamResponder) {
        lock(&self.clusters).insert(cluster.to_string(), Service::Stream(responder));
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
        let service = lock(&self.clusters).get(&call.cluster).cloned();
        match service {
            Some(Service::Unary(f)) => f(call),
            _ => GrpcReply::error(12, "unary call to a cluster scripted for streams"),
        }
    }

    /// Record a message sent on a stream and answer it.
    pub fn answer_stream(&self, call: &GrpcCall, end_stream: bool) -> Vec<GrpcStreamEvent> {
        lock(&self.log).push(call.clone());
        let service = lock(&self.clusters).get(&call.cluster).cloned();
        match service {
            Some(Service::Stream(f)) => f(call, end_stream),
            _ => vec![GrpcStreamEvent::Close(
                12,
                "stream to a cluster scripted for unary calls".into(),
            )],
        }
    }
}
