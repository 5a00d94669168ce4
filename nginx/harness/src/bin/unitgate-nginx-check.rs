//! `unitgate-nginx-check <nginx.conf>`: runs every `proxy_wasm` filter of the conf through its
//! module's `on_configure` and exits 1 with the module's errors if any refuses. Run it before
//! `nginx -s reload`: nginx itself cannot keep the old policy when a new worker refuses one.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: unitgate-nginx-check <nginx.conf>");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    match unitgate_nginx::check::check_conf(&text) {
        Ok(n) => println!("{path}: {n} proxy_wasm filter(s) accept their configuration"),
        Err(e) => {
            eprintln!("{path}: refused, do not reload:\n{e:#}");
            std::process::exit(1);
        }
    }
}
