//! Fuzz target: `ktix::internals::wire::decode_enc_kdc_rep_part` (EncASRepPart [25] or EncTGSRepPart [26]) on arbitrary
//! bytes; on success the part must re-encode under the tag reported and decode back to the same value.
#![no_main]

use ktix::internals::wire::{self, msg_type, EncAsRepPart, EncTgsRepPart};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((part, tag)) = wire::decode_enc_kdc_rep_part(data) {
        assert_eq!(wire::message_tag(data), Some(tag));
        let again = match tag {
            msg_type::ENC_AS_REP_PART => wire::encode(&EncAsRepPart(part.clone())),
            msg_type::ENC_TGS_REP_PART => wire::encode(&EncTgsRepPart(part.clone())),
            other => panic!("unexpected tag {other}"),
        }
        .expect("a decoded part re-encodes");
        let (back, back_tag) = wire::decode_enc_kdc_rep_part(&again).expect("the re-encoding decodes");
        assert_eq!((back, back_tag), (part, tag));
    }
});
