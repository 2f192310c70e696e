//! What a KDC request was: [`ExchangeKind`] and [`RequestFacts`] (exchange, client, service,
//! result code, session enctype), the one description of a request that the exchanges fill in,
//! [`Kdc::process`](super::Kdc::process) returns inside an [`Outcome`] and the server's
//! [`RequestLog`](super::RequestLog) carries. Names, codes and enctypes only, never secrets.

use crate::crypto::Enctype;
use crate::error::ErrorCode;
use crate::principal::Principal;
use crate::wire::{self, msg_type};

/// Which exchange a request was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeKind {
    /// AS exchange (initial tickets).
    As,
    /// TGS exchange (tickets from a TGT).
    Tgs,
    /// A change-password request (RFC 3244) to the kpasswd service.
    Kpasswd,
    /// Not a KDC request at all.
    Unknown,
}

impl ExchangeKind {
    /// What a request is, by its APPLICATION tag (the first byte: 0x6a AS-REQ, 0x6c TGS-REQ).
    pub fn of(request: &[u8]) -> ExchangeKind {
        match wire::message_tag(request) {
            Some(msg_type::AS_REQ) => ExchangeKind::As,
            Some(msg_type::TGS_REQ) => ExchangeKind::Tgs,
            _ => ExchangeKind::Unknown,
        }
    }

    /// `"AS"`, `"TGS"`, `"KPASSWD"` or `"?"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeKind::As => "AS",
            ExchangeKind::Tgs => "TGS",
            ExchangeKind::Kpasswd => "KPASSWD",
            ExchangeKind::Unknown => "?",
        }
    }
}

/// What the KDC made of one request, for logging: names, codes and enctypes, never secrets.
#[derive(Clone, Debug)]
pub struct RequestFacts {
    /// AS or TGS.
    pub kind: ExchangeKind,
    /// The client, when known.
    pub client: Option<Principal>,
    /// The service asked for, when known.
    pub service: Option<Principal>,
    /// `KDC_ERR_NONE` for a ticket, otherwise the KRB-ERROR code sent; `KRB_AP_ERR_MSG_TYPE`
    /// for input that was not a request (and got no reply).
    pub code: ErrorCode,
    /// The error text, for failures.
    pub detail: Option<String>,
    /// The enctype of the issued session key.
    pub session_enctype: Option<Enctype>,
    /// The e-data a failure's KRB-ERROR carries (METHOD-DATA when pre-authentication is
    /// required), set by the exchange; taken out when the reply is built, never logged.
    pub(crate) e_data: Option<Vec<u8>>,
}

impl RequestFacts {
    /// The facts of a `kind` request before anything about it is known (the exchange fills in
    /// names and the session enctype as it learns them; the code is `KDC_ERR_NONE` until a
    /// failure sets it).
    pub(crate) fn new(kind: ExchangeKind) -> RequestFacts {
        RequestFacts {
            kind,
            client: None,
            service: None,
            code: ErrorCode::KDC_ERR_NONE,
            detail: None,
            session_enctype: None,
            e_data: None,
        }
    }

    /// The facts of a request answered with `code` before anything about it was known.
    pub fn failure(kind: ExchangeKind, code: ErrorCode, detail: &str) -> RequestFacts {
        RequestFacts { code, detail: Some(detail.to_string()), ..RequestFacts::new(kind) }
    }
}

/// What the KDC did with one request: the reply, and the facts a log line needs.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The reply to send; empty when nothing is to be sent ([`Outcome::is_ignored`]).
    pub reply: Vec<u8>,
    /// What happened.
    pub facts: RequestFacts,
}

impl Outcome {
    /// The outcome of input that is not shaped like an AS-REQ or TGS-REQ: no reply.
    pub(crate) fn ignored(input: &[u8]) -> Outcome {
        let detail = match input.first() {
            Some(b) => format!("not an AS-REQ or TGS-REQ (first byte 0x{b:02x}): no reply"),
            None => "empty message: no reply".to_string(),
        };
        Outcome {
            reply: Vec::new(),
            facts: RequestFacts::failure(ExchangeKind::Unknown, ErrorCode::KRB_AP_ERR_MSG_TYPE, &detail),
        }
    }

    /// True when the input was not shaped like a KDC request (first byte other than 0x6a or
    /// 0x6c) and so gets no reply: a KDC never answers anything else, above all not a KRB-ERROR
    /// or a reply, so it cannot be used as a reflector or be drawn into an error loop.
    pub fn is_ignored(&self) -> bool {
        self.reply.is_empty()
    }
}
