//! Every document under envoy/istio/<cloud>/ validates against Istio's own CRD schemas
//! (envoy/istio/crds/, Istio 1.30.3). A CRD schema is Kubernetes' OpenAPI v3 subset: as the API
//! server does, a field the schema does not list is an error unless the object says
//! `x-kubernetes-preserve-unknown-fields`. CEL rules (`x-kubernetes-validations`) are not
//! evaluated here.

mod common;

use common::yaml_docs;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use unitgate_envoy::locate;

/// (apiVersion, kind) -> JSON Schema of the whole object.
type Schemas = BTreeMap<(String, String), Value>;

fn schemas() -> Schemas {
    let path = locate::workspace_root().join("envoy/istio/crds/istio-crds-1.30.3.yaml.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut out = Schemas::new();
    for doc in text.split("\n---\n") {
        let crd: Value = serde_yaml_ng::from_str(doc).unwrap();
        if crd["kind"] != "CustomResourceDefinition" {
            continue;
        }
        let group = crd["spec"]["group"].as_str().unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            let mut schema = version["schema"]["openAPIV3Schema"].clone();
            // The API server itself checks these three on every object.
            let props = schema["properties"].as_object_mut().unwrap();
            props.insert("apiVersion".into(), json!({ "type": "string" }));
            props.insert("kind".into(), json!({ "type": "string" }));
            props.insert(
                "metadata".into(),
                json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }),
            );
            let name = version["name"].as_str().unwrap();
            out.insert(
                (format!("{group}/{name}"), kind.to_string()),
                strict(schema),
            );
        }
    }
    out
}

/// Kubernetes structural schema -> JSON Schema: objects with `properties` refuse other fields
/// unless they preserve unknown fields; int-or-string and nullable are spelled out.
fn strict(mut schema: Value) -> Value {
    if let Some(obj) = schema.as_object_mut() {
        for (key, value) in obj.iter_mut() {
            match key.as_str() {
                "properties" | "patternProperties" => {
                    if let Some(props) = value.as_object_mut() {
                        for v in props.values_mut() {
                            *v = strict(v.take());
                        }
                    }
                }
                "items" | "additionalProperties" | "not" => *value = strict(value.take()),
                "allOf" | "anyOf" | "oneOf" => {
                    if let Some(list) = value.as_array_mut() {
                        for v in list {
                            *v = strict(v.take());
                        }
                    }
                }
                _ => {}
            }
        }
        let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
        if obj.contains_key("properties") && !obj.contains_key("additionalProperties") && !preserve
        {
            obj.insert("additionalProperties".into(), json!(false));
        }
        if obj.remove("x-kubernetes-int-or-string") == Some(json!(true)) {
            obj.insert(
                "anyOf".into(),
                json!([{ "type": "integer" }, { "type": "string" }]),
            );
        }
        if obj.remove("nullable") == Some(json!(true)) {
            if let Some(t) = obj.get("type").cloned() {
                obj.insert("type".into(), json!([t, "null"]));
            }
        }
    }
    schema
}

/// Every schema error of `doc`, as "<path>: <message>".
fn errors(schemas: &Schemas, doc: &Value) -> Vec<String> {
    let key = (
        doc["apiVersion"].as_str().unwrap_or_default().to_string(),
        doc["kind"].as_str().unwrap_or_default().to_string(),
    );
    let Some(schema) = schemas.get(&key) else {
        return vec![format!("no Istio CRD for {key:?}")];
    };
    let validator = jsonschema::draft4::new(schema).unwrap();
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn every_istio_document_matches_istios_crd_schemas() {
    let schemas = schemas();
    let dir = locate::workspace_root().join("envoy/istio");
    let mut checked = BTreeMap::<String, usize>::new();
    for cloud in ["ucloud", "jcloud"] {
        for entry in std::fs::read_dir(dir.join(cloud)).unwrap() {
            let path = entry.unwrap().path();
            for doc in yaml_docs(&path) {
                let errs = errors(&schemas, &doc);
                assert!(errs.is_empty(), "{}:\n{}", path.display(), errs.join("\n"));
                *checked
                    .entry(doc["kind"].as_str().unwrap().into())
                    .or_default() += 1;
            }
        }
    }
    let kinds: Vec<&str> = checked.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "DestinationRule",
            "EnvoyFilter",
            "Gateway",
            "ServiceEntry",
            "VirtualService",
            "WasmPlugin"
        ]
    );
}

#[test]
fn the_check_refuses_unknown_fields_and_bad_values() {
    let schemas = schemas();
    let path = locate::workspace_root().join("envoy/istio/ucloud/gateway.yaml");
    let vs = yaml_docs(&path)
        .into_iter()
        .find(|d| d["kind"] == "VirtualService")
        .unwrap();
    assert!(errors(&schemas, &vs).is_empty());

    let mut unknown = vs.clone();
    unknown["spec"]["http"][0]["clusterHeader"] = json!("x-unitgate-cluster");
    let errs = errors(&schemas, &unknown);
    assert!(errs.iter().any(|e| e.contains("clusterHeader")), "{errs:?}");

    let mut bad_port = vs.clone(); // a string where the schema wants an integer
    bad_port["spec"]["http"][1]["route"][0]["destination"]["port"]["number"] = json!("eighty");
    assert!(!errors(&schemas, &bad_port).is_empty());

    let mut old_version = vs;
    old_version["apiVersion"] = json!("networking.istio.io/v0");
    assert!(!errors(&schemas, &old_version).is_empty());

    // pluginConfig preserves unknown fields: any plugin configuration is the module's to judge.
    let path = locate::workspace_root().join("envoy/istio/ucloud/wasmplugin.yaml");
    let mut plugin = yaml_docs(&path).remove(0);
    plugin["spec"]["pluginConfig"]["anything"] = json!({ "nested": [1, 2] });
    assert!(errors(&schemas, &plugin).is_empty());
    plugin["spec"]["failStrategy"] = json!("FAIL_SOMETIMES");
    assert!(!errors(&schemas, &plugin).is_empty());
}
