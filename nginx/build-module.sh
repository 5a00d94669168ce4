#!/usr/bin/env bash
# Builds Kong's ngx_wasm_module (Wasmtime runtime) as a dynamic module for Debian's nginx.
#
# Output: $OUT/ngx_wasmx_module.so (OUT defaults to target/nginx), loaded with
#   load_module <path>/ngx_wasmx_module.so;
# A second run with the same inputs only checks them and takes seconds.
#
# Inputs, in order of preference:
#   NGX_WASM_SRC=<dir>   a checkout of Kong/ngx_wasm_module
#   nginx/vendor/ngx_wasm_module-3bed2783.tar.gz (in the repo)
#   a download of the pinned commit from GitHub
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${CARGO_TARGET_DIR:-$ROOT/target}/nginx
PIN=3bed27836bb402143c6cbde17994b1d11a1084bc
TARBALL=$ROOT/nginx/vendor/ngx_wasm_module-${PIN:0:8}.tar.gz
CAPI=$ROOT/nginx/wasmtime-capi
APT_PACKAGES=(nginx-core nginx-dev libpcre2-dev zlib1g-dev libssl-dev gcc make cmake)

say() { printf 'make nginx: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- 1. Debian packages: nginx 1.22 and the tree it was configured with ----------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX_TREE=/usr/share/nginx/src
[[ -f $NGINX_TREE/conf_flags ]] || die "$NGINX_TREE/conf_flags is missing (package nginx-dev)"

mkdir -p "$OUT"

# --- 2. Wasmtime's C API, a static library from crates.io ------------------------------
say "wasmtime C API (cargo, cached in $OUT/wasmtime-capi)"
CARGO_TARGET_DIR=$OUT/wasmtime-capi cargo build -q --release --locked --manifest-path "$CAPI/Cargo.toml"
LIBWASMTIME=$OUT/wasmtime-capi/release/libwasmtime.a
[[ -f $LIBWASMTIME ]] || die "cargo did not produce $LIBWASMTIME"
capi_src=$(cargo metadata -q --format-version 1 --locked --manifest-path "$CAPI/Cargo.toml" |
    python3 -c 'import json,sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "wasmtime-c-api-impl": print(p["manifest_path"].rsplit("/", 1)[0])')
[[ -d $capi_src/include ]] || die "wasmtime-c-api-impl headers not found"
# The crate's own build script leaves WASMTIME_FEATURE_WAT out of conf.h, and the module
# needs it: write conf.h from conf.h.in with the features Cargo.toml enables.
INC=$OUT/wasmtime-include
rm -rf "$INC" && cp -r "$capi_src/include" "$INC"
sed -E 's/^#cmakedefine WASMTIME_FEATURE_(WAT|CACHE|PARALLEL_COMPILATION|WASI|THREADS|GC|CRANELIFT)$/#define WASMTIME_FEATURE_\1/; /^#cmakedefine /d' \
    "$INC/wasmtime/conf.h.in" >"$INC/wasmtime/conf.h"

# --- 3. The module source ------------------------------------------------------------------
SRC=$OUT/ngx_wasm_module
if [[ -n ${NGX_WASM_SRC:-} ]]; then
    [[ -f $NGX_WASM_SRC/config ]] || die "NGX_WASM_SRC=$NGX_WASM_SRC is not an ngx_wasm_module checkout (no config file)"
    src_id="dir:$(cd "$NGX_WASM_SRC" && find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)"
elif [[ -f $TARBALL ]]; then
    src_id="tar:$(sha256sum <"$TARBALL")"
else
    say "no NGX_WASM_SRC and no $TARBALL: downloading Kong/ngx_wasm_module@$PIN"
    mkdir -p "$OUT/download"
    TARBALL=$OUT/download/ngx_wasm_module-${PIN:0:8}.tar.gz
    [[ -f $TARBALL ]] || curl -fsSL -o "$TARBALL.part" "https://github.com/Kong/ngx_wasm_module/archive/$PIN.tar.gz" ||
        die "the module source is missing: set NGX_WASM_SRC to a checkout of Kong/ngx_wasm_module, or restore nginx/vendor/ (the download of $PIN failed too)"
    [[ -f $TARBALL ]] || mv "$TARBALL.part" "$TARBALL"
    src_id="tar:$(sha256sum <"$TARBALL")"
fi

# --- 4. Cache key: every input of the .so ---------------------------------------------
key=$( {
    echo "$src_id"
    sha256sum "$0" "$LIBWASMTIME" "$INC/wasmtime/conf.h"
    nginx -V 2>&1
} | sha256sum | cut -d' ' -f1)
SO=$OUT/ngx_wasmx_module.so
if [[ -f $SO && -f $OUT/module.key && $(cat "$OUT/module.key") == "$key" ]]; then
    say "up to date: $SO"
    exit 0
fi

rm -rf "$SRC" && mkdir -p "$SRC"
if [[ -n ${NGX_WASM_SRC:-} ]]; then
    cp -r "$NGX_WASM_SRC/." "$SRC/"
else
    tar xzf "$TARBALL" -C "$SRC" --strip-components=1
fi
# Debian builds nginx --with-debug, which pulls in Kong's debug module; it crashes
# `nginx -t` without worker_processes. Leave it out.
sed -i 's/if \[ \$NGX_DEBUG = YES \]; then/if false; then/' "$SRC/config"

# --- 5. Configure Debian's tree like Debian's nginx, build only the modules --------------
BUILD=$OUT/nginx-build
rm -rf "$BUILD" && cp -r "$NGINX_TREE" "$BUILD"
# shellcheck disable=SC1091
source "$NGINX_TREE/conf_flags" # NGX_CONF_FLAGS=( ... )
cc_opt=$(nginx -V 2>&1 | sed -n "s/.*--with-cc-opt='\([^']*\)'.*/\1/p")
ld_opt=$(nginx -V 2>&1 | sed -n "s/.*--with-ld-opt='\([^']*\)'.*/\1/p")
# -DNDEBUG: with Debian's debug build, ngx_wa_assert becomes assert(), and a wasm trap
# would abort the worker instead of answering 500.
cc_opt="$cc_opt -DNDEBUG -Wno-error=unused-variable -Wno-error=unused-but-set-variable"

say "configuring nginx $(nginx -v 2>&1 | cut -d/ -f2) with the module"
(
    cd "$BUILD"
    NGX_WASM_RUNTIME=wasmtime NGX_WASM_CARGO=0 NGX_IPC=0 \
        NGX_WASM_RUNTIME_INC="$INC" NGX_WASM_RUNTIME_LIB="$(dirname "$LIBWASMTIME")" \
        NGX_WASM_RUNTIME_LD_OPT="$LIBWASMTIME" \
        ./configure "${NGX_CONF_FLAGS[@]}" --with-cc-opt="$cc_opt" --with-ld-opt="$ld_opt" \
        --add-dynamic-module="$SRC" >"$OUT/configure.log" 2>&1 ||
        die "configure failed, see $OUT/configure.log"
    say "compiling the module"
    # Debian's tree has no top-level Makefile.
    make -j"$(nproc)" -f objs/Makefile modules >"$OUT/make.log" 2>&1 || die "make failed, see $OUT/make.log"
)
cp "$BUILD/objs/ngx_wasmx_module.so" "$SO"
echo "$key" >"$OUT/module.key"
say "built $SO"
