//! HMAC-SHA1 (RFC 2104 over FIPS 180-4), for Apollo's access-key signature only.
//!
//! Hand-written with rolled loops: the `sha1` crate's unrolled rounds and the generic `hmac`
//! instantiation cost each module about 5 KB; this costs about 1 KB. SHA-1 is what Apollo
//! specifies here; nothing else in unitgate uses it.

const BLOCK: usize = 64;

/// SHA-1 of `data`.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % BLOCK != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(BLOCK) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            if let (Some(slot), Ok(bytes)) = (w.get_mut(i), <[u8; 4]>::try_from(word)) {
                *slot = u32::from_be_bytes(bytes);
            }
        }
        for i in 16..80 {
            let at = |back: usize| w.get(i - back).copied().unwrap_or(0);
            let next = (at(3) ^ at(8) ^ at(14) ^ at(16)).rotate_left(1);
            if let Some(slot) = w.get_mut(i) {
                *slot = next;
            }
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
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
                .wrapping_add(*wi);
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
    let mut out = [0u8; 20];
    for (chunk, x) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// HMAC-SHA1 of `message` under `key`.
pub(crate) fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let hashed;
    let key = if key.len() > BLOCK {
        hashed = sha1(key);
        &hashed[..]
    } else {
        key
    };
    let mut k = [0u8; BLOCK];
    for (slot, b) in k.iter_mut().zip(key) {
        *slot = *b;
    }
    let mut inner = k.map(|b| b ^ 0x36).to_vec();
    inner.extend_from_slice(message);
    let mut outer = k.map(|b| b ^ 0x5c).to_vec();
    outer.extend_from_slice(&sha1(&inner));
    sha1(&outer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha1_known_answers() {
        // FIPS 180 examples.
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202_and_the_hmac_crate() {
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // Keys shorter than, equal to and longer than a block; messages across block edges.
        for key_len in [0, 1, 20, 63, 64, 65, 131] {
            for msg_len in [0, 1, 55, 56, 63, 64, 65, 200] {
                let key: Vec<u8> = (0..key_len).map(|i| i as u8).collect();
                let msg: Vec<u8> = (0..msg_len).map(|i| (i * 7) as u8).collect();
                let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
                mac.update(&msg);
                let want = mac.finalize().into_bytes();
                assert_eq!(
                    hmac_sha1(&key, &msg).as_slice(),
                    want.as_slice(),
                    "{key_len} {msg_len}"
                );
            }
        }
    }
}
