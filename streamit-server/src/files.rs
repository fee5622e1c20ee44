//! Files only their owner may read or write: the SQLite database and the token-signing secret.
//! Created so from the start, since tightening the mode afterwards leaves a window in which
//! anyone on the machine may open them.

use std::fs;
use std::io;
use std::path::Path;

/// Creates `path` with mode 0600, failing with `AlreadyExists` if it is there.
pub(crate) fn create_private(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Whether others than the owner may read or write `path` (`None` when it cannot be told).
pub(crate) fn is_shared(path: &Path) -> Option<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(path)
            .ok()
            .map(|meta| meta.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}
