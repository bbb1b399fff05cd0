//! The replay store of `citycode verify`: a file that remembers the codes accepted by
//! every run on this machine until they expire, so that the same code verified twice is
//! `replayed` the second time, whichever run sees it (SPEC.md §9 step 8).
//!
//! One entry per line, `<replay id, 32 hex digits> <expiry, Unix seconds>`. Every check
//! takes an exclusive lock on `<file>.lock` (waiting at most [`LOCK_WAIT`], then the code
//! is refused as `replay_store_unavailable`), reads the file, drops expired entries,
//! refuses a known id, and writes the file anew through a temporary file, `fsync` and a
//! rename before it answers: two concurrent runs cannot both accept one code, and a
//! crash leaves the old file or the new one. A file that does not parse refuses every
//! code: the store cannot say what it forgot.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use citycode::{ReplayError, ReplayStore};

/// Longest wait for another run's lock before a code is refused.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Most unexpired codes remembered (a code lives about three minutes): beyond it codes
/// are refused (`replay_capacity`), never forgotten.
pub const CAPACITY: usize = 100_000;

/// A replay store in one file, shared by every `citycode verify` run that names it.
#[derive(Debug, Clone)]
pub struct FileReplayStore {
    path: PathBuf,
}

impl FileReplayStore {
    /// A store in `path`, whose directory is created (mode 0700) if missing.
    pub fn new(path: PathBuf) -> Result<Self, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(FileReplayStore { path })
    }

    /// The store's file.
    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    /// Takes the exclusive lock, waiting at most [`LOCK_WAIT`].
    fn lock(&self) -> Result<std::fs::File, ReplayError> {
        let path = self.sibling(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| unavailable(&path, e))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(ReplayError::Unavailable(format!(
                        "{}: another run held the lock for {LOCK_WAIT:?}",
                        path.display()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(unavailable(&path, e)),
            }
        }
    }

    fn read(&self) -> Result<Vec<([u8; 16], u64)>, ReplayError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(unavailable(&self.path, e)),
        };
        text.lines()
            .enumerate()
            .map(|(i, line)| {
                parse_line(line).ok_or_else(|| {
                    ReplayError::Unavailable(format!(
                        "{} line {}: not `<32 hex digits> <unix seconds>`; the store cannot say which codes it \
                         accepted (remove it once the longest code validity has passed)",
                        self.path.display(),
                        i + 1
                    ))
                })
            })
            .collect()
    }

    fn write(&self, entries: &[([u8; 16], u64)]) -> Result<(), ReplayError> {
        let temp = self.sibling(".tmp");
        let mut text = String::with_capacity(entries.len() * 44);
        for (id, expires) in entries {
            text.push_str(&citycode::text::hex(id));
            text.push(' ');
            text.push_str(&expires.to_string());
            text.push('\n');
        }
        let written = std::fs::File::create(&temp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&temp, &self.path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(unavailable(&self.path, e));
        }
        // The rename is durable once the directory is.
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| unavailable(dir, e))
    }
}

fn parse_line(line: &str) -> Option<([u8; 16], u64)> {
    let (id, expires) = line.split_once(' ')?;
    let id: [u8; 16] = citycode::text::unhex(id).ok()?.try_into().ok()?;
    Some((id, expires.parse().ok()?))
}

fn unavailable(path: &Path, e: std::io::Error) -> ReplayError {
    ReplayError::Unavailable(format!("{}: {e}", path.display()))
}

impl ReplayStore for FileReplayStore {
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), ReplayError> {
        let _lock = self.lock()?;
        let mut entries = self.read()?;
        entries.retain(|(_, expires)| *expires > now);
        if entries.iter().any(|(known, _)| known == id) {
            return Err(ReplayError::Replayed);
        }
        if entries.len() >= CAPACITY {
            return Err(ReplayError::Full);
        }
        entries.push((*id, expires_at));
        self.write(&entries)
    }
}

/// The default store: `$XDG_STATE_HOME/citycode/replay`, else
/// `$HOME/.local/state/citycode/replay` (the user's state directory).
pub fn default_path() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = non_empty("XDG_STATE_HOME").or_else(|| non_empty("HOME").map(|h| h.join(".local").join("state")))?;
    Some(base.join("citycode").join("replay"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn store(name: &str) -> FileReplayStore {
        let dir = std::env::temp_dir().join(format!("citycode-replay-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        FileReplayStore::new(dir.join("replay")).unwrap()
    }

    #[test]
    fn a_code_is_remembered_until_it_expires_and_then_forgotten() {
        let s = store("expiry");
        assert_eq!(s.check_and_insert(&[1; 16], 200, 100), Ok(()));
        assert_eq!(s.check_and_insert(&[1; 16], 200, 199), Err(ReplayError::Replayed));
        // Another store object on the same file (another run) knows it too.
        let again = FileReplayStore::new(s.path().to_path_buf()).unwrap();
        assert_eq!(again.check_and_insert(&[1; 16], 200, 150), Err(ReplayError::Replayed));
        assert_eq!(again.check_and_insert(&[2; 16], 300, 150), Ok(()));
        // Expired entries leave the file.
        assert_eq!(s.check_and_insert(&[1; 16], 400, 200), Ok(()));
        let text = std::fs::read_to_string(s.path()).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn a_damaged_file_refuses_every_code() {
        let s = store("damaged");
        std::fs::write(s.path(), "0101 12\n").unwrap();
        assert!(
            matches!(s.check_and_insert(&[1; 16], 200, 100), Err(ReplayError::Unavailable(m)) if m.contains("line 1"))
        );
        std::fs::write(s.path(), format!("{} 200\nhalf a li", "01".repeat(16))).unwrap();
        assert!(matches!(s.check_and_insert(&[3; 16], 200, 100), Err(ReplayError::Unavailable(_))));
    }

    #[test]
    fn a_lock_held_too_long_refuses_in_bounded_time() {
        let s = store("locked");
        let held = s.lock().unwrap();
        let start = Instant::now();
        assert!(
            matches!(s.check_and_insert(&[1; 16], 200, 100), Err(ReplayError::Unavailable(m)) if m.contains("lock"))
        );
        assert!(start.elapsed() >= LOCK_WAIT && start.elapsed() < LOCK_WAIT * 2);
        drop(held);
        assert_eq!(s.check_and_insert(&[1; 16], 200, 100), Ok(()));
    }
}
