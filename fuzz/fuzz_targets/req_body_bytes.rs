//! Fuzz target: `ktix::internals::wire::req_body_bytes` on arbitrary bytes. What it returns must be a slice of the input;
//! when the AS-REQ or TGS-REQ decoder also takes the input, the returned bytes must decode to the very req-body
//! the decoder produced (the TGS authenticator checksum covers these bytes), and the decoded request must
//! re-encode.
#![no_main]

use ktix::internals::wire::{self, AsReq, KdcReqBody, TgsReq};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = wire::req_body_bytes(data);
    if let Ok(b) = body {
        let range = data.as_ptr_range();
        assert!(range.start <= b.as_ptr() && b.as_ptr_range().end <= range.end);
    }
    let req = match wire::decode::<AsReq>(data) {
        Ok(r) => {
            wire::encode(&r).expect("a decoded AS-REQ re-encodes");
            Some(r.0)
        }
        Err(_) => wire::decode::<TgsReq>(data).ok().map(|r| {
            wire::encode(&r).expect("a decoded TGS-REQ re-encodes");
            r.0
        }),
    };
    if let (Some(req), Ok(b)) = (req, body) {
        let decoded = wire::decode::<KdcReqBody>(b).expect("req_body_bytes gives a KDC-REQ-BODY");
        assert_eq!(decoded, req.req_body, "req_body_bytes and the decoder agree on the body");
    }
});
