//! Host-neutral view of one request, built by the plugin glue or by tests.

/// The request body as far as the host has delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Headers only so far; a body may follow. `decide` answers `NeedBody` if it needs one.
    NotRead,
    /// The request has no body.
    Absent,
    /// The whole body (up to the configured limit).
    Bytes(Vec<u8>),
    /// The body exceeded the limit: body keys count as missing.
    TooLarge,
}

/// Method, path, headers, query, cookies and body of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestView {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Percent-decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Header names are lower-case. Pseudo-headers (":path") may be present and are ignored.
    pub headers: Vec<(String, String)>,
    /// Parsed from every `cookie` header, in order.
    pub cookies: Vec<(String, String)>,
    pub body: Body,
}
