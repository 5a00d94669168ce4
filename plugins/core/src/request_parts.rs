//! A request from curl-like parts (a URL, "Name: value" lines, cookie strings, a body), for
//! the tools that explain one request: `unitgate explain` and the playground.

use crate::request::{Body, RequestView};

/// One request as a person types it.
#[derive(Clone, Debug, Default)]
pub struct RequestParts<'a> {
    /// Empty means GET; any case.
    pub method: &'a str,
    /// `http://host/path?query`, or just `/path?query`.
    pub url: &'a str,
    /// "Name: value" lines; blank lines are skipped.
    pub headers: &'a [String],
    /// Cookie strings ("a=1; b=2"); blank ones are skipped.
    pub cookies: &'a [String],
    pub body: Option<&'a [u8]>,
}

impl RequestParts<'_> {
    /// The request view a proxy would hand the core: the URL's host becomes `:authority`.
    pub fn view(&self) -> Result<RequestView<'static>, String> {
        let (path, host) = split_url(self.url.trim());
        let mut headers: Vec<(String, String)> = host
            .map(|h| (":authority".to_string(), h))
            .into_iter()
            .collect();
        for h in self.headers.iter().filter(|h| !h.trim().is_empty()) {
            let (k, v) = h
                .split_once(':')
                .ok_or_else(|| format!("header \"{h}\" is not \"Name: value\""))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        for c in self.cookies.iter().filter(|c| !c.trim().is_empty()) {
            headers.push(("cookie".into(), c.clone()));
        }
        let method = match self.method.trim() {
            "" => "GET".to_string(),
            m => m.to_ascii_uppercase(),
        };
        let body = match self.body {
            Some(d) => Body::Bytes(d.to_vec()),
            None => Body::Absent,
        };
        Ok(RequestView::new(&method, &path, headers).with_body(body))
    }
}

/// "http://host:port/p?q" -> ("/p?q", Some("host:port")); "/p?q" -> ("/p?q", None).
pub fn split_url(url: &str) -> (String, Option<String>) {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return (url.to_string(), None);
    };
    match rest.find(['/', '?']) {
        Some(i) => {
            let (host, path) = rest.split_at(i);
            let path = if path.starts_with('?') {
                format!("/{path}")
            } else {
                path.to_string()
            };
            (path, Some(host.to_string()))
        }
        None => ("/".to_string(), Some(rest.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_url_takes_the_host_off() {
        assert_eq!(
            split_url("http://shop.example:8080/api/orders?city_id=42"),
            (
                "/api/orders?city_id=42".into(),
                Some("shop.example:8080".into())
            )
        );
        assert_eq!(
            split_url("http://h?x=1"),
            ("/?x=1".into(), Some("h".into()))
        );
        assert_eq!(split_url("https://h"), ("/".into(), Some("h".into())));
        assert_eq!(split_url("/p?q=1"), ("/p?q=1".into(), None));
    }

    #[test]
    fn parts_become_the_view_a_proxy_would_give() {
        let headers = ["X-City-Id:  650 ".to_string(), "  ".to_string()];
        let cookies = ["uid=7; a=b".to_string(), String::new()];
        let r = RequestParts {
            method: "post",
            url: "http://shop.example/api/orders?city_id=42",
            headers: &headers,
            cookies: &cookies,
            body: Some(b"{\"id\":1}"),
        }
        .view()
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/orders");
        assert_eq!(r.header(":authority"), Some("shop.example"));
        assert_eq!(r.header("x-city-id"), Some("650"));
        assert_eq!(r.cookie("uid"), Some("7"));
        assert_eq!(r.body, Body::Bytes(b"{\"id\":1}".to_vec()));

        let plain = RequestParts {
            url: "/p",
            ..Default::default()
        }
        .view()
        .unwrap();
        assert_eq!((plain.method.as_ref(), plain.body), ("GET", Body::Absent));
    }

    #[test]
    fn a_header_without_a_colon_is_an_error() {
        let headers = ["x-city-id 650".to_string()];
        let err = RequestParts {
            url: "/",
            headers: &headers,
            ..Default::default()
        }
        .view();
        assert_eq!(
            err.unwrap_err(),
            "header \"x-city-id 650\" is not \"Name: value\""
        );
    }
}
