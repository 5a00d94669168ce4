//! unitgate-playground: the decision core for JavaScript, through wasm-bindgen. Thin glue over
//! `api` (plain Rust): a value goes in as a JS object, comes back as one, typed for TypeScript.
//!
//! ```js
//! import init, { Policy, validate } from "./pkg/unitgate_playground.js";
//! await init();
//! const policy = new Policy(text);
//! policy.validation().errors;       // [{pointer, message, text, start, end, line, column}]
//! policy.explain({ url: "/api/orders?city_id=42", headers: ["x-user-id: u16"] }).steps;
//! ```

pub mod api;
pub mod positions;

use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A validation error or warning, at its JSON pointer and its place in the text. */
export interface Finding {
  /** RFC 6901 pointer; "" for the whole document. */
  pointer: string;
  message: string;
  /** As `unitgate validate` prints it: "at /rules/0: ...". */
  text: string;
  /** UTF-16 offsets (for setSelectionRange) of the value the pointer names. */
  start: number;
  end: number;
  /** 1-based. */
  line: number;
  column: number;
}
export interface Validation {
  valid: boolean;
  version: string | null;
  errors: Finding[];
  warnings: Finding[];
}
/** A request at an ingress, as `unitgate explain` takes it. */
export interface ExplainRequest {
  /** Default "GET". */
  method?: string;
  /** "http://host/path?query" or "/path?query". */
  url: string;
  /** "Name: value" each. */
  headers?: string[];
  /** "a=1; b=2" each. */
  cookies?: string[];
  body?: string | null;
  /** Default: the policy's center unit. */
  localUnit?: string | null;
  failMode?: "open" | "closed" | null;
  /** RFC 3339 UTC clock; default: now. */
  now?: string | null;
}
export interface Outcome { unit: string | null; status: number | null; reason: string; }
export interface Explained {
  /** The step-by-step text of `unitgate explain`, line for line. */
  steps: string;
  outcome: "route" | "reply" | "need_body";
  unit: string | null;
  upstream: string | null;
  reason: string;
  api: string | null;
  class: "global" | "core" | "shared" | null;
  crossed: boolean | null;
  status: number | null;
  requestHeaders: string[];
  localUnit: string;
  policyVersion: string;
  /** The core's trace (core::trace::Trace), field for field. */
  trace: { api: string | null; class: string; rule: string | null; key: object | null;
           mapping: string | null; shard: Outcome; gray: object | null;
           after_gray: Outcome; result: Outcome };
}
export interface ShardMap {
  units: { name: string; role: "center" | "normal"; cloud: string }[];
  rules: {
    name: string; key: string; transform: string | object;
    /** [lo, hi] the spans are drawn over. */
    domain: [number, number] | null;
    /** Sorted key ranges, touching ranges of one unit merged. */
    spans: { lo: number; hi: number; unit: string }[];
    exact: { unit: string; count: number; sample: string[] }[];
    consistentHash: string[];
    default: string | null;
  }[];
  apis: { name: string; matcher: string; class: string; rule: string | null }[];
}
export interface GrayPreview {
  rule: string; stickyKey: string; target: string; percent: number;
  /** Buckets below it move (percent x 100). */
  threshold: number;
  users: { id: string; bucket: number; moves: boolean; why: string }[];
  moved: number;
}
/** core::diff::PolicyDiff, field for field (see plugins/core/src/diff.rs). */
export interface PolicyDiff {
  from_version: string; to_version: string;
  units: Change[]; apis: Change[]; isolation: Change[]; missing_key: Change[];
  rules: { rule: string; key: string; domain: [number, number] | null;
           range_moves: { lo: number; hi: number; from: string; to: string }[];
           moved_share: number;
           exact_moves: { value: string; from: string; to: string }[];
           changes: Change[] }[];
  gray: { rule: string; from_percent: number | null; to_percent: number | null;
          moved_share: number; changes: Change[] }[];
}
export interface Change { name: string; field: string; from: string; to: string; }
"#;

/// A Rust value as a JavaScript object (through JSON: one parse, no per-field calls).
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| JsError::new("JSON.parse failed"))
}

fn fail(message: String) -> JsError {
    JsError::new(&message)
}

/// Validate a policy text: every error and warning, as `unitgate validate` reports them.
#[wasm_bindgen(unchecked_return_type = "Validation")]
pub fn validate(text: &str) -> Result<JsValue, JsError> {
    to_js(&api::Session::new(text).validation())
}

/// A policy text, loaded (validated and compiled) once; every view reads the same load.
#[wasm_bindgen]
pub struct Policy {
    session: api::Session,
}

#[wasm_bindgen]
impl Policy {
    /// Load a policy. An invalid one still loads: `validation()` says what is wrong, and
    /// the other methods throw.
    #[wasm_bindgen(constructor)]
    pub fn new(text: &str) -> Policy {
        Policy {
            session: api::Session::new(text),
        }
    }

    #[wasm_bindgen(unchecked_return_type = "Validation")]
    pub fn validation(&self) -> Result<JsValue, JsError> {
        to_js(&self.session.validation())
    }

    /// Decide one request, and explain it step by step as `unitgate explain` does.
    #[wasm_bindgen(unchecked_return_type = "Explained")]
    pub fn explain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ExplainRequest")] request: JsValue,
    ) -> Result<JsValue, JsError> {
        let text = js_sys::JSON::stringify(&request)
            .map_err(|_| JsError::new("the request is not a plain object"))?;
        let request: api::ExplainRequest = serde_json::from_str(&String::from(text))
            .map_err(|e| JsError::new(&format!("request: {e}")))?;
        let now_ms = js_sys::Date::now().max(0.0) as u64;
        to_js(&self.session.explain(&request, now_ms).map_err(fail)?)
    }

    /// Key ranges and exact values per unit, per rule, and the API classes.
    #[wasm_bindgen(js_name = shardMap, unchecked_return_type = "ShardMap")]
    pub fn shard_map(&self) -> Result<JsValue, JsError> {
        to_js(&self.session.shard_map().map_err(fail)?)
    }

    /// The gray rules' names, in order.
    #[wasm_bindgen(js_name = grayRules)]
    pub fn gray_rules(&self) -> Result<Vec<String>, JsError> {
        self.session.gray_rules().map_err(fail)
    }

    /// Which of `users` gray rule `rule` moves at `percent` (its own percent when undefined).
    #[wasm_bindgen(js_name = grayPreview, unchecked_return_type = "GrayPreview")]
    pub fn gray_preview(
        &self,
        rule: &str,
        percent: Option<f64>,
        users: Vec<String>,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session
                .gray_preview(rule, percent, &users)
                .map_err(fail)?,
        )
    }

    /// What changes from this policy to `to`, as `unitgate diff` computes it.
    #[wasm_bindgen(unchecked_return_type = "PolicyDiff")]
    pub fn diff(&self, to: &Policy) -> Result<JsValue, JsError> {
        to_js(&self.session.diff(&to.session).map_err(fail)?)
    }
}
