//! proxy_http_call: checked at dispatch like the profile's proxy, answered after the callback
//! returns (see `worker::deliver_callouts`). Tokens are unique per VM (the SDK panics on reuse).

use crate::abi::{codec, memory, status};
use crate::callouts::{CalloutRequest, Refusal};
use crate::hostcalls::refuse;
use crate::vm::{PendingCallout, VmState};
use wasmtime::{Caller, Linker, Result};

pub fn link(l: &mut Linker<VmState>) -> Result<()> {
    l.func_wrap(
        "env",
        "proxy_http_call",
        |mut c: Caller<'_, VmState>,
         up: u32,
         ul: u32,
         hp: u32,
         hl: u32,
         bp: u32,
         bl: u32,
         tp: u32,
         tl: u32,
         timeout_ms: u32,
         ret_token: u32|
         -> Result<i32> {
            let upstream = memory::read_string(&mut c, up, ul)?;
            let raw_headers = memory::read(&mut c, hp, hl)?;
            let body = memory::read(&mut c, bp, bl)?;
            let raw_trailers = memory::read(&mut c, tp, tl)?;
            let (Some(headers), Some(trailers)) = (
                codec::decode_map(&raw_headers),
                codec::decode_map(&raw_trailers),
            ) else {
                return Ok(refuse(
                    &c,
                    status::BAD_ARGUMENT,
                    "http call: malformed headers".into(),
                ));
            };
            let request = CalloutRequest {
                upstream,
                headers,
                body,
                trailers,
                timeout_ms,
            };
            let st = c.data();
            match st.host.callouts.check(st.profile, &request) {
                Err(Refusal::BadArgument(why)) => return Ok(refuse(&c, status::BAD_ARGUMENT, why)),
                Err(Refusal::InternalFailure(why)) => {
                    return Ok(refuse(&c, status::INTERNAL_FAILURE, why))
                }
                Ok(()) => {}
            }
            let st = c.data_mut();
            let (token, context) = st.new_token();
            st.pending_callouts.push(PendingCallout {
                token,
                context,
                request,
            });
            memory::write_u32(&mut c, ret_token, token)?;
            Ok(status::OK)
        },
    )?;
    Ok(())
}
