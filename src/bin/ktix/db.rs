//! `ktix db …` (being implemented).

use ktix::{Error, ErrorCode, Result};

/// Runs one `ktix db` command.
pub fn run(cmd: crate::DbCommand) -> Result<()> {
    Err(Error::new(ErrorCode::KTIX_ERR_INVALID_ARGUMENT, format!("not implemented yet: {cmd:?}")))
}
