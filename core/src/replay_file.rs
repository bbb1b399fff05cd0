//! Replay stores for a verifier that lives for one run (a command-line check, a kiosk
//! script that starts a process per scan), where the in-memory guard would forget every
//! code when the process exits (SPEC.md §9.2):
//!
//! - [`FileReplayStore`] remembers accepted codes across runs in a file, under a lock,
//!   so the same code is refused on the second run;
//! - [`NoReplayCheck`] remembers nothing, on purpose, and says so: every verdict of a
//!   verifier using it carries `replay_checked: false`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::replay::{LossCause, ReplayError, ReplayStore};

/// Default number of unexpired codes a [`FileReplayStore`] holds (24 bytes each).
pub const DEFAULT_FILE_REPLAY_CAPACITY: usize = 65_536;
/// How long a [`FileReplayStore`] waits for another process's lock before refusing the
/// code (`replay_store_unavailable`): a verdict comes in bounded time.
pub const FILE_REPLAY_LOCK_WAIT: Duration = Duration::from_secs(2);

/// One record: the replay id and its expiry (Unix seconds, big-endian).
const RECORD: usize = 16 + 8;
/// The file's first record names the format and, in place of an expiry, the latest second
/// any run has dropped records by (big-endian): if a later run's clock is earlier, a code
/// expiring at or before that second may have been dropped while it is valid again, and
/// is refused rather than taken as new (SPEC.md §9, the clock going back).
const MAGIC: &[u8; 16] = b"citycode-replay1";

/// Replay ids with their expiries, as the file holds them.
type Records = Vec<([u8; 16], u64)>;

/// A replay store that records nothing: every code passes its replay step, and the
/// verifier's verdicts say `replay_checked: false` ([`ReplayStore::remembers`]). For a
/// one-shot run that has nowhere to keep state; a terminal that can keep a file uses
/// [`FileReplayStore`] instead.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReplayCheck;

impl ReplayStore for NoReplayCheck {
    fn check_and_insert(&self, _id: &[u8; 16], _expires_at: u64, _now: u64) -> Result<(), ReplayError> {
        Ok(())
    }

    fn remembers(&self) -> bool {
        false
    }
}

/// A replay store in one file, shared by every process that names it: each check takes
/// an exclusive lock on `<file>.lock` (waiting at most [`FILE_REPLAY_LOCK_WAIT`]), drops
/// the expired records, refuses an id already recorded (`replayed`) or a full file
/// (`replay_capacity`), and writes the file anew (temporary file, flush, rename) before
/// it answers. The file keeps the latest second it dropped records by: when a run's
/// clock is behind it, a code expiring at or before that second is refused
/// ([`ReplayError::Recovering`], [`LossCause::Clock`]), as the in-memory guard does. A
/// file that cannot be read, written or locked, does not start with this format's
/// header, or is not a whole number of records, refuses the code
/// (`replay_store_unavailable`): it never forgets an entry to let one through.
#[derive(Clone, Debug)]
pub struct FileReplayStore {
    path: PathBuf,
    capacity: usize,
}

impl FileReplayStore {
    /// A store in `path` (created on the first accepted code; its directory must exist)
    /// holding at most [`DEFAULT_FILE_REPLAY_CAPACITY`] unexpired codes.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileReplayStore::with_capacity(path, DEFAULT_FILE_REPLAY_CAPACITY)
    }

    /// A store in `path` holding at most `capacity` unexpired codes.
    pub fn with_capacity(path: impl Into<PathBuf>, capacity: usize) -> Self {
        FileReplayStore { path: path.into(), capacity: capacity.max(1) }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    /// Holds the exclusive lock, waiting at most [`FILE_REPLAY_LOCK_WAIT`].
    fn lock(&self) -> Result<std::fs::File, ReplayError> {
        let path = self.sibling(".lock");
        let unavailable = |e: &dyn std::fmt::Display| ReplayError::Unavailable(format!("{}: {e}", path.display()));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| unavailable(&e))?;
        let deadline = Instant::now() + FILE_REPLAY_LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(std::fs::TryLockError::WouldBlock) => return Err(unavailable(&"locked by another process")),
                Err(std::fs::TryLockError::Error(e)) => return Err(unavailable(&e)),
            }
        }
    }

    /// The records unexpired at `now`, and the latest second records were dropped by
    /// (`now` itself when the file's is earlier).
    fn read(&self, now: u64) -> Result<(Records, u64), ReplayError> {
        let unavailable = |e: &dyn std::fmt::Display| ReplayError::Unavailable(format!("{}: {e}", self.path.display()));
        let mut bytes = Vec::new();
        match std::fs::File::open(&self.path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes).map_err(|e| unavailable(&e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), now)),
            Err(e) => return Err(unavailable(&e)),
        }
        if bytes.len() % RECORD != 0 {
            return Err(unavailable(&"not a replay file (a partial record)"));
        }
        let mut chunks = bytes.chunks_exact(RECORD);
        let dropped_through = match chunks.next().map(|header| header.split_at(16)) {
            Some((magic, through)) if magic == MAGIC => {
                u64::from_be_bytes(through.try_into().map_err(|_| unavailable(&"header"))?)
            }
            _ => return Err(unavailable(&"not a replay file (no citycode-replay1 header)")),
        };
        let mut records = Vec::with_capacity(bytes.len() / RECORD);
        for chunk in chunks {
            let (id, expiry) = chunk.split_at(16);
            let id: [u8; 16] = id.try_into().map_err(|_| unavailable(&"record"))?;
            let expiry = u64::from_be_bytes(expiry.try_into().map_err(|_| unavailable(&"record"))?);
            if expiry > now {
                records.push((id, expiry));
            }
        }
        Ok((records, dropped_through.max(now)))
    }

    fn write(&self, records: &[([u8; 16], u64)], dropped_through: u64) -> Result<(), ReplayError> {
        let temp = self.sibling(&format!(".tmp-{}", std::process::id()));
        let unavailable = |e: std::io::Error| ReplayError::Unavailable(format!("{}: {e}", temp.display()));
        let mut bytes = Vec::with_capacity((records.len() + 1) * RECORD);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&dropped_through.to_be_bytes());
        for (id, expiry) in records {
            bytes.extend_from_slice(id);
            bytes.extend_from_slice(&expiry.to_be_bytes());
        }
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&temp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            unavailable(e)
        })
    }
}

impl ReplayStore for FileReplayStore {
    fn check_and_insert(&self, id: &[u8; 16], expires_at: u64, now: u64) -> Result<(), ReplayError> {
        // Held until the file is written: no two processes interleave a check and a write.
        let _lock = self.lock()?;
        let (mut records, dropped_through) = self.read(now)?;
        if records.iter().any(|(seen, _)| seen == id) {
            return Err(ReplayError::Replayed);
        }
        if expires_at <= dropped_through {
            // Only reachable when the clock went back: the verifier refuses a code that
            // has expired by its own clock before asking the store.
            return Err(ReplayError::Recovering { until: dropped_through, cause: LossCause::Clock });
        }
        if records.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        records.push((*id, expires_at));
        self.write(&records, dropped_through)
    }

    fn ready(&self, now: u64) -> Result<(), ReplayError> {
        let _lock = self.lock()?;
        self.read(now).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("citycode-replay-file-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_code_is_refused_on_the_next_run_until_it_expires() {
        let dir = TempDir::new("runs");
        let path = dir.0.join("replay.bin");
        // Each run opens the store anew, as a process started per scan does.
        assert_eq!(FileReplayStore::new(&path).check_and_insert(&[1; 16], 200, 100), Ok(()));
        assert_eq!(FileReplayStore::new(&path).check_and_insert(&[1; 16], 200, 150), Err(ReplayError::Replayed));
        assert_eq!(FileReplayStore::new(&path).check_and_insert(&[2; 16], 200, 150), Ok(()));
        // Expired entries leave: the id is taken again once its code has expired.
        assert_eq!(FileReplayStore::new(&path).check_and_insert(&[1; 16], 300, 200), Ok(()));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * RECORD as u64, "the header and the live record");
        assert!(FileReplayStore::new(&path).remembers());
        assert!(!NoReplayCheck.remembers());
        assert_eq!(NoReplayCheck.check_and_insert(&[1; 16], 200, 100), Ok(()));
        assert_eq!(NoReplayCheck.check_and_insert(&[1; 16], 200, 100), Ok(()));
    }

    #[test]
    fn full_or_corrupt_or_unwritable_refuses_instead_of_forgetting() {
        let dir = TempDir::new("faults");
        let path = dir.0.join("replay.bin");
        let store = FileReplayStore::with_capacity(&path, 2);
        store.check_and_insert(&[1; 16], 200, 100).unwrap();
        store.check_and_insert(&[2; 16], 200, 100).unwrap();
        assert_eq!(store.check_and_insert(&[3; 16], 200, 100), Err(ReplayError::Full));
        assert_eq!(store.check_and_insert(&[1; 16], 200, 100), Err(ReplayError::Replayed));
        std::fs::write(&path, [0u8; RECORD + 1]).unwrap();
        assert!(matches!(store.check_and_insert(&[4; 16], 200, 100), Err(ReplayError::Unavailable(_))));
        assert!(matches!(store.ready(100), Err(ReplayError::Unavailable(_))));
        // Whole records without the header (another file, or records whose watermark
        // was lost) are not read as an empty store.
        std::fs::write(&path, [0u8; RECORD]).unwrap();
        assert!(matches!(store.check_and_insert(&[4; 16], 200, 100), Err(ReplayError::Unavailable(_))));
        let nowhere = FileReplayStore::new(dir.0.join("missing/replay.bin"));
        assert!(matches!(nowhere.check_and_insert(&[5; 16], 200, 100), Err(ReplayError::Unavailable(_))));
    }

    #[test]
    fn a_clock_gone_back_refuses_codes_the_file_may_have_dropped() {
        let dir = TempDir::new("clock");
        let path = dir.0.join("replay.bin");
        // A run at 1,000 drops the record of a code that expired at 500 ...
        assert_eq!(FileReplayStore::new(&path).check_and_insert(&[1; 16], 500, 400), Ok(()));
        assert_eq!(FileReplayStore::new(&path).check_and_insert(&[2; 16], 1_060, 1_000), Ok(()));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * RECORD as u64, "[1; 16] was dropped");
        // ... so a later run whose clock reads 450 must not take that code as new.
        let back = FileReplayStore::new(&path);
        let clock = Err(ReplayError::Recovering { until: 1_000, cause: LossCause::Clock });
        assert_eq!(back.check_and_insert(&[1; 16], 500, 450), clock);
        assert_eq!(back.check_and_insert(&[3; 16], 1_000, 450), clock, "at the watermark itself");
        // A code still recorded is replayed whatever the clock says; one expiring after
        // the watermark is new.
        assert_eq!(back.check_and_insert(&[2; 16], 1_060, 450), Err(ReplayError::Replayed));
        assert_eq!(back.check_and_insert(&[4; 16], 1_001, 450), Ok(()));
        // The watermark only rises: it survived the run at 450.
        assert_eq!(FileReplayStore::new(&path).check_and_insert(&[5; 16], 900, 460), clock);
    }

    #[test]
    fn concurrent_runs_accept_a_code_once() {
        let dir = TempDir::new("threads");
        let path = dir.0.join("replay.bin");
        let accepted: usize = std::thread::scope(|s| {
            let runs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| FileReplayStore::new(&path).check_and_insert(&[7; 16], 200, 100).is_ok()))
                .collect();
            runs.into_iter().map(|r| usize::from(r.join().unwrap())).sum()
        });
        assert_eq!(accepted, 1);
    }
}
