//! Key usage numbers (RFC 4120 §7.5.1, RFC 6113, RFC 6806). Every exchange names its usage
//! from here; no bare numbers elsewhere.

/// AS-REQ PA-ENC-TIMESTAMP padata timestamp, encrypted with the client key.
pub const PA_ENC_TIMESTAMP: u32 = 1;
/// Ticket (EncTicketPart), encrypted with the service key.
pub const TICKET: u32 = 2;
/// AS-REP encrypted part, encrypted with the client key.
pub const AS_REP_ENC_PART: u32 = 3;
/// TGS-REQ KDC-REQ-BODY AuthorizationData, encrypted with the TGS session key.
pub const TGS_REQ_AUTHZ_SESSION: u32 = 4;
/// TGS-REQ KDC-REQ-BODY AuthorizationData, encrypted with the TGS authenticator subkey.
pub const TGS_REQ_AUTHZ_SUBKEY: u32 = 5;
/// TGS-REQ PA-TGS-REQ authenticator checksum, keyed with the TGS session key.
pub const TGS_REQ_AUTH_CKSUM: u32 = 6;
/// TGS-REQ PA-TGS-REQ authenticator, encrypted with the TGS session key.
pub const TGS_REQ_AUTH: u32 = 7;
/// TGS-REP encrypted part, encrypted with the TGS session key.
pub const TGS_REP_ENC_PART_SESSION: u32 = 8;
/// TGS-REP encrypted part, encrypted with the TGS authenticator subkey.
pub const TGS_REP_ENC_PART_SUBKEY: u32 = 9;
/// AP-REQ authenticator checksum, keyed with the application session key.
pub const AP_REQ_AUTH_CKSUM: u32 = 10;
/// AP-REQ authenticator, encrypted with the application session key.
pub const AP_REQ_AUTH: u32 = 11;
/// AP-REP encrypted part (EncAPRepPart), encrypted with the application session key.
pub const AP_REP_ENC_PART: u32 = 12;
/// KRB-PRIV encrypted part.
pub const KRB_PRIV_ENC_PART: u32 = 13;
/// KRB-CRED encrypted part.
pub const KRB_CRED_ENC_PART: u32 = 14;
/// KRB-SAFE checksum.
pub const KRB_SAFE_CKSUM: u32 = 15;
/// AD-KDC-ISSUED checksum.
pub const AD_KDC_ISSUED_CKSUM: u32 = 19;
/// GSS-API (RFC 4121 §2): Wrap tokens sent by the context acceptor (KG-USAGE-ACCEPTOR-SEAL).
pub const GSS_ACCEPTOR_SEAL: u32 = 22;
/// GSS-API (RFC 4121 §2): MIC tokens sent by the context acceptor (KG-USAGE-ACCEPTOR-SIGN).
pub const GSS_ACCEPTOR_SIGN: u32 = 23;
/// GSS-API (RFC 4121 §2): Wrap tokens sent by the context initiator (KG-USAGE-INITIATOR-SEAL).
pub const GSS_INITIATOR_SEAL: u32 = 24;
/// GSS-API (RFC 4121 §2): MIC tokens sent by the context initiator (KG-USAGE-INITIATOR-SIGN).
pub const GSS_INITIATOR_SIGN: u32 = 25;
/// PA-REQ-ENC-PA-REP checksum (RFC 6806 §11), keyed with the reply key.
pub const AS_REQ: u32 = 56;

/// ktix-private, not a protocol usage: long-term keys (and the key-check value) in a ktix realm
/// database, encrypted with the realm's master key. Taken from the range RFC 4120 §7.5.1 reserves
/// for uses internal to a Kerberos implementation (512–1023); MIT's database uses its own scheme,
/// so ktix databases are not MIT-compatible (nor meant to be).
pub const KTIX_DB_MASTER_KEY: u32 = 512;
