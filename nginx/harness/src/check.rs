//! Checks the proxy-wasm filters of an nginx.conf before `nginx -s reload`.
//!
//! nginx cannot keep a policy serving through a bad reload: the master accepts any
//! `proxy_wasm` string, stops the old workers, and each new worker whose `on_configure` refuses
//! the configuration exits with fatal code 2 and is never respawned, so nothing serves. This
//! check runs every `proxy_wasm <module> '<config>'` of the conf through the module's real
//! `on_configure` (host-tests, ngx_wasm_module profile) first; reload only if it passes.

use anyhow::{bail, Context, Result};
use proxy_wasm_test_host::{Host, Profile};
use std::path::PathBuf;

/// One `proxy_wasm` directive with the file of its module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub module: String,
    pub path: PathBuf,
    pub config: String,
}

/// Splits nginx.conf text into statements (words up to `;`, `{` or `}`), with quoted strings
/// unescaped the way nginx does (`\\`, `\'`, `\"`, `\t`, `\r`, `\n`).
fn statements(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            ';' | '{' | '}' => out.push(std::mem::take(&mut words)),
            c if c.is_whitespace() => {}
            '\'' | '"' => {
                let quote = c;
                let mut word = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('t') => word.push('\t'),
                            Some('r') => word.push('\r'),
                            Some('n') => word.push('\n'),
                            Some(e @ ('\\' | '\'' | '"')) => word.push(e),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => {}
                        },
                        c if c == quote => break,
                        c => word.push(c),
                    }
                }
                words.push(word);
            }
            c => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, ';' | '{' | '}') {
                        break;
                    }
                    word.push(n);
                    chars.next();
                }
                words.push(word);
            }
        }
    }
    out
}

/// Every `proxy_wasm` filter of the conf, with the path its `module` directive gives.
pub fn filters(conf: &str) -> Result<Vec<Filter>> {
    let stmts = statements(conf);
    let module_path = |name: &str| {
        stmts.iter().find_map(|s| match s.as_slice() {
            [d, n, p] if d == "module" && n == name => Some(PathBuf::from(p)),
            _ => None,
        })
    };
    let mut out = Vec::new();
    for s in &stmts {
        if let [d, module, rest @ ..] = s.as_slice() {
            if d == "proxy_wasm" {
                let path = module_path(module).with_context(|| {
                    format!("proxy_wasm {module}: no `module {module} <path>;`")
                })?;
                out.push(Filter {
                    module: module.clone(),
                    path,
                    config: rest.first().cloned().unwrap_or_default(),
                });
            }
        }
    }
    Ok(out)
}

/// Runs `on_configure` of each filter's module with its configuration, declaring the nginx
/// variables the configuration names. Error: every refusal, with the module's own log lines.
pub fn check_conf(conf: &str) -> Result<usize> {
    let filters = filters(conf)?;
    let host = Host::new(Profile::NgxWasmModule);
    let mut errors = Vec::new();
    for f in &filters {
        let cfg: serde_json::Value = serde_json::from_str(&f.config).unwrap_or_default();
        let mut builder = host.plugin(&f.path)?.config(&f.config);
        for key in ["nginx_variable", "nginx_ctx_variable"] {
            if let Some(var) = cfg[key].as_str() {
                builder = builder.ngx_var(var);
            }
        }
        if let Err(e) = builder.start() {
            errors.push(format!("proxy_wasm {}: {e}", f.module));
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(filters.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_filters_and_unescapes_their_config() {
        let conf = r#"
            # comment with proxy_wasm x 'y';
            wasm { module unitgate /m/unitgate.wasm; shm_kv * 1m; }
            http { server { location / {
                proxy_wasm unitgate '{"a":"it\'s","re":"\\d+"}';
                proxy_pass http://$u;
            } } }
        "#;
        let f = filters(conf).unwrap();
        assert_eq!(
            f,
            vec![Filter {
                module: "unitgate".into(),
                path: "/m/unitgate.wasm".into(),
                config: r#"{"a":"it's","re":"\d+"}"#.into(),
            }]
        );
        assert!(filters("http { proxy_wasm other '{}'; }").is_err());
    }
}
