//! `ktix kdc …` (being implemented).

use ktix::{Error, ErrorCode, Result};

/// Runs one `ktix kdc` command.
pub fn run(cmd: crate::KdcCommand) -> Result<()> {
    Err(Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, format!("not implemented yet: {cmd:?}")))
}
