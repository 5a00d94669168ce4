//! Free loopback ports: bind 127.0.0.1:0, read the port, close. Another process may grab it
//! before we use it; callers retry a failed start with fresh ports.

use anyhow::{Context, Result};
use std::net::TcpListener;

pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `n` distinct free ports.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    // Hold every listener until all are chosen so the kernel hands out distinct ports.
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .context("binding 127.0.0.1:0")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}
