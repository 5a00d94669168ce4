//! A minimal blocking HTTP/1.1 client for callouts to 127.0.0.1 (std::net, with a timeout).

use crate::callouts::{CalloutRequest, CalloutResponse};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Send `req` to `addr` (must be a loopback address). `None` on any failure.
pub fn call(addr: &str, req: &CalloutRequest) -> Option<CalloutResponse> {
    let sock: SocketAddr = addr
        .to_socket_addrs()
        .ok()?
        .find(|a| a.ip().is_loopback())?;
    let timeout = Duration::from_millis(if req.timeout_ms == 0 {
        5_000
    } else {
        req.timeout_ms as u64
    });
    let mut stream = TcpStream::connect_timeout(&sock, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    stream.write_all(&encode_request(req)).ok()?;
    let mut raw = Vec::new();
    // Read to EOF (we sent `connection: close`); a timeout with a full response is fine too.
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if complete(&raw) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    parse_response(&raw)
}

fn encode_request(req: &CalloutRequest) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", req.method(), req.path());
    out.push_str(&format!(
        "host: {}\r\n",
        req.header(":authority").unwrap_or(&req.upstream)
    ));
    for (k, v) in &req.headers {
        let skip = k.starts_with(':')
            || k.eq_ignore_ascii_case("host")
            || k.eq_ignore_ascii_case("content-length")
            || k.eq_ignore_ascii_case("connection");
        if !skip {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        req.body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&req.body);
    bytes
}

fn head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// True once headers and a content-length body are all in.
fn complete(raw: &[u8]) -> bool {
    let Some(end) = head_end(raw) else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    match head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        Some(len) => raw.len() >= end + len,
        None => false,
    }
}

fn parse_response(raw: &[u8]) -> Option<CalloutResponse> {
    let end = head_end(raw)?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let mut resp = CalloutResponse::new(status);
    let mut chunked = false;
    let mut length = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':')?;
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
        if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
        if k == "content-length" {
            length = v.parse::<usize>().ok();
        }
        resp.headers.push((k, v));
    }
    let rest = &raw[end..];
    resp.body = if chunked {
        dechunk(rest)?
    } else if let Some(len) = length {
        rest.get(..len)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(resp)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_chunked() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi")
            .unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"hi");
        assert!(r.headers.contains(&("x-a".into(), "b".into())));
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
    }
}
