//! Issuing a ticket (sealing an EncTicketPart in the server's key) and opening one.

use crate::crypto::{usage, Key};
use crate::error::{Error, ErrorCode, Result};
use crate::principal::Principal;
use crate::time::Time;
use crate::wire::{
    self, AuthorizationData, EncTicketPartOut, EncryptedDataIn, Flags, HostAddresses, Name, Str, Ticket, TicketIn,
    TicketOut, TransitedEncoding,
};

use super::{key_bytes, key_from_bytes, open_bytes, seal_out, PVNO};

/// What a ticket says, in our own types.
#[derive(Clone, Debug)]
pub struct TicketContents {
    /// Ticket flags.
    pub flags: Flags,
    /// The session key (the server's copy).
    pub session_key: Key,
    /// The client.
    pub client: Principal,
    /// When the client first authenticated (the AS exchange).
    pub auth_time: Time,
    /// Start of validity (`None`: the auth time).
    pub start_time: Option<Time>,
    /// End of validity.
    pub end_time: Time,
    /// Renewable until.
    pub renew_till: Option<Time>,
    /// Client addresses the ticket is restricted to, if any.
    pub addresses: Option<HostAddresses>,
    /// Authorization data about the client.
    pub authorization_data: Option<AuthorizationData>,
    /// The transited realms encoding.
    pub transited: TransitedEncoding,
}

impl TicketContents {
    /// When the ticket starts being valid.
    pub fn start(&self) -> Time {
        self.start_time.unwrap_or(self.auth_time)
    }
}

/// Encodes `contents` as an EncTicketPart and seals it in `server_key` (usage 2): a Ticket for
/// `server`. The part is written straight from `contents` (nothing copied, the session key's
/// bytes only into the zeroizing plaintext); the ticket borrows the server's name.
pub fn issue_ticket<'a>(
    contents: &TicketContents,
    server: &'a Principal,
    server_key: &Key,
    kvno: u32,
) -> Result<TicketOut<'a>> {
    let part = EncTicketPartOut {
        flags: contents.flags,
        key: key_bytes(&contents.session_key),
        crealm: Str::new(contents.client.realm())?,
        cname: Name::of(&contents.client)?,
        transited: &contents.transited,
        auth_time: contents.auth_time,
        start_time: contents.start_time,
        end_time: contents.end_time,
        renew_till: contents.renew_till,
        caddr: contents.addresses.as_ref(),
        authorization_data: contents.authorization_data.as_ref(),
    };
    let enc_part = seal_out(server_key, usage::TICKET, &part, Some(kvno))?;
    Ok(TicketOut { tkt_vno: PVNO, realm: Str::new(server.realm())?, sname: Name::of(server)?, enc_part })
}

/// What [`open_ticket`] reads of a ticket: its version and its sealed part, from a ticket
/// borrowed from a request (`wire::TicketIn`) or a decoded one.
#[derive(Clone, Copy, Debug)]
pub struct SealedTicket<'a> {
    /// tkt-vno.
    pub tkt_vno: &'a wire::Integer,
    /// enc-part.
    pub enc_part: EncryptedDataIn<'a>,
}

impl<'a> From<&'a TicketIn<'a>> for SealedTicket<'a> {
    fn from(t: &'a TicketIn<'a>) -> Self {
        SealedTicket { tkt_vno: &t.tkt_vno, enc_part: t.enc_part }
    }
}

impl<'a> From<&'a Ticket> for SealedTicket<'a> {
    fn from(t: &'a Ticket) -> Self {
        SealedTicket { tkt_vno: &t.tkt_vno, enc_part: (&t.enc_part).into() }
    }
}

/// Opens a ticket with the server's key. A ticket that does not open is `KRB_AP_ERR_BAD_INTEGRITY`.
pub fn open_ticket<'a>(ticket: impl Into<SealedTicket<'a>>, server_key: &Key) -> Result<TicketContents> {
    let ticket = ticket.into();
    if wire::int_value(ticket.tkt_vno, "tkt-vno")? != wire::PVNO {
        return Err(Error::new(ErrorCode::KRB_AP_ERR_BADVERSION, "ticket version is not 5"));
    }
    let plain = open_bytes(server_key, usage::TICKET, ticket.enc_part).map_err(|e| e.context("ticket"))?;
    // Decoded straight into our types; the session key is read from the plaintext (wiped on
    // drop) into the Key, no other copy made.
    let part = wire::decode_enc_ticket_part(&plain).map_err(|e| e.context("ticket"))?;
    Ok(TicketContents {
        flags: part.flags,
        session_key: key_from_bytes(part.key)?,
        client: part.cname.principal(part.crealm)?,
        auth_time: part.auth_time,
        start_time: part.start_time,
        end_time: part.end_time,
        renew_till: part.renew_till,
        addresses: part.caddr,
        authorization_data: part.authorization_data,
        transited: part.transited,
    })
}
