//! HMAC-SHA256 (peer stamps, tester tokens) and HMAC-SHA1 (Apollo's access-key signature
//! only): RFC 2104 over FIPS 180-4.
//!
//! Hand-written: the `sha2` and `sha1` crates' unrolled code and the generic `hmac`
//! instantiations cost each module several KB (SHA-256 about 3.5 KB, SHA-1 about 4 KB). SHA-1
//! (Apollo, rare) runs its rounds in a loop; SHA-256 (a stamp on every crossing request)
//! unrolls them by eight, which keeps its wasm instructions near the crate's
//! (`host-tests/tests/plugin_budget.rs`).

const BLOCK: usize = 64;

/// `prefix` (an HMAC key pad, or nothing) then `data`, padded to whole blocks: `0x80`,
/// zeros, then the length in bits, big-endian. One allocation, sized up front.
fn padded(prefix: &[u8], data: &[u8]) -> Vec<u8> {
    let size = prefix.len() + data.len();
    let bit_len = (size as u64).wrapping_mul(8);
    let len = (size + 9).div_ceil(BLOCK) * BLOCK;
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(prefix);
    msg.extend_from_slice(data);
    msg.push(0x80);
    msg.resize(len - 8, 0);
    msg.extend_from_slice(&bit_len.to_be_bytes());
    msg
}

/// A block's 16 big-endian words: the rolling message schedule, word `i` of the schedule
/// at `i & 15` (16 words instead of 64 or 80, and no bounds checks: the mask keeps every
/// index in range).
fn words(block: &[u8]) -> [u32; 16] {
    let mut w = [0u32; 16];
    for (slot, word) in w.iter_mut().zip(block.chunks_exact(4)) {
        if let Ok(bytes) = <[u8; 4]>::try_from(word) {
            *slot = u32::from_be_bytes(bytes);
        }
    }
    w
}

/// Schedule word `i` (mod 16).
fn at(w: &[u32; 16], i: usize) -> u32 {
    w.get(i & 15).copied().unwrap_or(0)
}

/// Sets schedule word `i` (mod 16) and returns it.
fn put(w: &mut [u32; 16], i: usize, x: u32) -> u32 {
    if let Some(slot) = w.get_mut(i & 15) {
        *slot = x;
    }
    x
}

/// The state words, big-endian.
fn digest<const N: usize>(h: &[u32]) -> [u8; N] {
    let mut out = [0u8; N];
    for (chunk, x) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// SHA-1 of `prefix` then `data`.
fn sha1(prefix: &[u8], data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    for block in padded(prefix, data).chunks_exact(BLOCK) {
        let mut w = words(block);
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for i in 0..80 {
            let wi = match i {
                0..=15 => at(&w, i),
                _ => {
                    let next = at(&w, i + 13) ^ at(&w, i + 8) ^ at(&w, i + 2) ^ at(&w, i);
                    put(&mut w, i, next.rotate_left(1))
                }
            };
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    digest(&h)
}

/// SHA-256's round constants.
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 schedule word `i`: read for the first 16, then computed into the ring.
fn sha256_word(w: &mut [u32; 16], i: usize) -> u32 {
    if i < 16 {
        return at(w, i);
    }
    let (x, y) = (at(w, i + 1), at(w, i + 14));
    let s0 = x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3);
    let s1 = y.rotate_right(17) ^ y.rotate_right(19) ^ (y >> 10);
    let next = at(w, i)
        .wrapping_add(s0)
        .wrapping_add(at(w, i + 9))
        .wrapping_add(s1);
    put(w, i, next)
}

/// One SHA-256 round, the eight state words named in their roles for round `i`: only `d` and
/// `h` change (`h` becomes the new `a`), so eight rounds in a row rename the words instead
/// of moving them (about 4,000 fewer wasm instructions on a forwarded request).
macro_rules! round {
    ($w:ident, $i:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {{
        let i = $i;
        let s1 = $e.rotate_right(6) ^ $e.rotate_right(11) ^ $e.rotate_right(25);
        let ch = ($e & $f) ^ (!$e & $g);
        let t1 = $h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K.get(i & 63).copied().unwrap_or(0))
            .wrapping_add(sha256_word(&mut $w, i));
        let s0 = $a.rotate_right(2) ^ $a.rotate_right(13) ^ $a.rotate_right(22);
        let maj = ($a & $b) ^ ($a & $c) ^ ($b & $c);
        $d = $d.wrapping_add(t1);
        $h = t1.wrapping_add(s0.wrapping_add(maj));
    }};
}

/// SHA-256 of `prefix` then `data`.
fn sha256(prefix: &[u8], data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    for block in padded(prefix, data).chunks_exact(BLOCK) {
        let mut w = words(block);
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in (0..64).step_by(8) {
            round!(w, i, a, b, c, d, e, f, g, hh);
            round!(w, i + 1, hh, a, b, c, d, e, f, g);
            round!(w, i + 2, g, hh, a, b, c, d, e, f);
            round!(w, i + 3, f, g, hh, a, b, c, d, e);
            round!(w, i + 4, e, f, g, hh, a, b, c, d);
            round!(w, i + 5, d, e, f, g, hh, a, b, c);
            round!(w, i + 6, c, d, e, f, g, hh, a, b);
            round!(w, i + 7, b, c, d, e, f, g, hh, a);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    digest(&h)
}

/// HMAC of `message` under `key` with `hash` (of a prefix, then data).
fn hmac<const N: usize>(key: &[u8], message: &[u8], hash: fn(&[u8], &[u8]) -> [u8; N]) -> [u8; N] {
    let hashed;
    let key = if key.len() > BLOCK {
        hashed = hash(&[], key);
        &hashed[..]
    } else {
        key
    };
    let mut k = [0u8; BLOCK];
    for (slot, b) in k.iter_mut().zip(key) {
        *slot = *b;
    }
    let inner = hash(&k.map(|b| b ^ 0x36), message);
    hash(&k.map(|b| b ^ 0x5c), &inner)
}

/// HMAC-SHA1 of `message` under `key`.
pub(crate) fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    hmac(key, message, sha1)
}

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac(key, message, sha256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn known_answers() {
        // FIPS 180 examples.
        assert_eq!(
            hex(&sha1(&[], b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&sha1(&[], b"")),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(&sha1(&[], two_blocks)),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&sha256(&[], b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(&[], two_blocks)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // RFC 2202 and RFC 4231, test case 2.
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmacs_match_the_hmac_crate() {
        // Keys shorter than, equal to and longer than a block; messages across block edges.
        for key_len in [0, 1, 20, 32, 63, 64, 65, 131] {
            for msg_len in [0, 1, 55, 56, 63, 64, 65, 119, 120, 200] {
                let key: Vec<u8> = (0..key_len).map(|i| i as u8).collect();
                let msg: Vec<u8> = (0..msg_len).map(|i| (i * 7) as u8).collect();
                let mut m1 = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
                m1.update(&msg);
                let want = m1.finalize().into_bytes();
                assert_eq!(hmac_sha1(&key, &msg).as_slice(), want.as_slice());
                let mut m256 = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
                m256.update(&msg);
                let want = m256.finalize().into_bytes();
                assert_eq!(
                    hmac_sha256(&key, &msg).as_slice(),
                    want.as_slice(),
                    "{key_len} {msg_len}"
                );
            }
        }
    }
}
