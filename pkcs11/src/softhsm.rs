//! SoftHSM2 (a software token) for trials, tests and benchmarks: a token directory and
//! configuration of its own, tokens initialised with `softhsm2-util`. Not for keys that
//! matter: SoftHSM keeps them in files, encrypted under the token PIN.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::TokenError;

/// The environment variable that names SoftHSM2's configuration file; SoftHSM reads it
/// once, when the module is initialised in a process.
pub const CONF_ENV: &str = "SOFTHSM2_CONF";

/// The environment variable that overrides where the SoftHSM2 module is looked for.
pub const MODULE_ENV: &str = "CITYCODE_SOFTHSM_MODULE";

/// Where distributions install the SoftHSM2 module (Debian and Ubuntu first), looked up
/// in order when [`MODULE_ENV`] is not set.
pub const MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
];

/// The SoftHSM2 module on this machine: [`MODULE_ENV`] if set, else the first of
/// [`MODULE_CANDIDATES`] that exists.
pub fn find_module() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(MODULE_ENV) {
        return Some(PathBuf::from(path));
    }
    MODULE_CANDIDATES.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// A SoftHSM2 installation of its own: a configuration file and a token directory under
/// `dir`. Processes that use it need [`CONF_ENV`] set to [`SoftHsm::conf`].
#[derive(Clone, Debug)]
pub struct SoftHsm {
    /// The configuration file.
    pub conf: PathBuf,
    /// The token directory.
    pub tokens: PathBuf,
    /// The module.
    pub module: PathBuf,
}

impl SoftHsm {
    /// Writes a configuration and an empty token directory under `dir`.
    pub fn create(dir: &Path) -> Result<Self, TokenError> {
        let module = find_module()
            .ok_or_else(|| TokenError::Config("SoftHSM2 is not installed (Debian: apt-get install softhsm2)".into()))?;
        let tokens = dir.join("tokens");
        let conf = dir.join("softhsm2.conf");
        let io = |e: std::io::Error| TokenError::Config(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(&tokens).map_err(io)?;
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .map_err(io)?;
        Ok(SoftHsm { conf, tokens, module })
    }

    /// Initialises a token in the next free slot with its label, security officer PIN
    /// and user PIN (`softhsm2-util --init-token --free`). The PINs pass through the
    /// command line of `softhsm2-util`: trial tokens only.
    pub fn init_token(&self, label: &str, so_pin: &str, pin: &str) -> Result<(), TokenError> {
        let out = Command::new("softhsm2-util")
            .env(CONF_ENV, &self.conf)
            .args(["--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", pin])
            .output()
            .map_err(|e| TokenError::Config(format!("softhsm2-util: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(TokenError::Config(format!("softhsm2-util: {}", String::from_utf8_lossy(&out.stderr).trim())))
        }
    }

    /// Deletes every token (their directories), as a token pulled out of its reader
    /// would vanish.
    pub fn remove_tokens(&self) -> Result<(), TokenError> {
        let io = |e: std::io::Error| TokenError::Config(format!("{}: {e}", self.tokens.display()));
        for entry in std::fs::read_dir(&self.tokens).map_err(io)? {
            std::fs::remove_dir_all(entry.map_err(io)?.path()).map_err(io)?;
        }
        Ok(())
    }
}
