//! Where `citycode verify` keeps its replay store: core's [`FileReplayStore`] (SPEC.md
//! §9.2), one file shared by every run that names it, so that the same code verified
//! twice is `replayed` the second time, whichever run sees it.

use std::path::PathBuf;

use citycode::FileReplayStore;

/// The store in `path`, its directory created (mode 0700) if missing.
pub fn open(path: PathBuf) -> Result<FileReplayStore, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(FileReplayStore::new(path))
}

/// The default store: `$XDG_STATE_HOME/citycode/replay`, else
/// `~/.local/state/citycode/replay`; `None` when neither variable is set.
pub fn default_path() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = non_empty("XDG_STATE_HOME").or_else(|| non_empty("HOME").map(|h| h.join(".local").join("state")))?;
    Some(base.join("citycode").join("replay"))
}
