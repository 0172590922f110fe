//! Files, stdin/stdout (`-`), default directories and the `--log-key` argument.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use signet_core::VerifierKey;

/// Reads a file, or stdin for `-`. `what` names it in errors.
pub fn read_input(arg: &str, what: &str) -> Result<Vec<u8>> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .with_context(|| format!("cannot read the {what} from stdin"))?;
        return Ok(buf);
    }
    fs::read(arg).with_context(|| format!("cannot read the {what} {arg}"))
}

/// Writes to stdout, flushing (a closed pipe surfaces here as an error).
pub fn stdout(data: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(data)?;
    out.flush()?;
    Ok(())
}

/// Writes a line to stdout.
pub fn line(text: &str) -> Result<()> {
    stdout(format!("{text}\n").as_bytes())
}

/// Writes `data` to `dest`: stdout for `None` or `-`, else the file, replacing any old
/// one durably and atomically (see [`write_file`]), so a reader never sees half a file.
pub fn write_output(dest: Option<&str>, data: &[u8]) -> Result<Option<PathBuf>> {
    match dest {
        None | Some("-") => stdout(data).map(|()| None),
        Some(path) => {
            write_file(Path::new(path), data)?;
            Ok(Some(PathBuf::from(path)))
        }
    }
}

/// Replaces a public file (mode 0644): a fresh, exclusively created temporary name
/// beside it, fsynced, renamed into place, the folder fsynced. A symlink planted at the
/// destination is replaced, never written through.
pub fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    signet_fs::replace(path, data).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
}

/// The home directory, from `HOME`.
fn home() -> Result<PathBuf> {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => Ok(PathBuf::from(h)),
        _ => bail!("HOME is not set; say where to keep files with --dir/--state or SIGNET_HOME"),
    }
}

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `$SIGNET_HOME/keys`, else `$XDG_CONFIG_HOME/signet/keys`, else `~/.config/signet/keys`.
pub fn default_key_dir() -> Result<PathBuf> {
    if let Some(h) = env_dir("SIGNET_HOME") {
        return Ok(h.join("keys"));
    }
    if let Some(c) = env_dir("XDG_CONFIG_HOME") {
        return Ok(c.join("signet").join("keys"));
    }
    Ok(home()?.join(".config").join("signet").join("keys"))
}

/// The default audit state directory for a log origin.
pub fn default_state_dir(origin: &str) -> Result<PathBuf> {
    let name = signet_client::saved::origin_dir_name(origin);
    if let Some(h) = env_dir("SIGNET_HOME") {
        return Ok(h.join("state").join(name));
    }
    if let Some(s) = env_dir("XDG_STATE_HOME") {
        return Ok(s.join("signet").join(name));
    }
    Ok(home()?
        .join(".local")
        .join("state")
        .join("signet")
        .join(name))
}

/// A `--log-key` value: a verifier key if it parses as one, else a file holding one.
pub fn log_key(value: &str) -> Result<VerifierKey> {
    let value = value.trim();
    if let Ok(key) = VerifierKey::parse(value) {
        return Ok(key);
    }
    let looks_like_key = value.contains('+') && !Path::new(value).exists();
    let text = match fs::read_to_string(value) {
        Ok(text) => text,
        Err(e) if looks_like_key => {
            let parse_error = VerifierKey::parse(value)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            bail!(
                "--log-key {value:?} is not a valid verifier key ({parse_error}) nor a readable file ({e})"
            )
        }
        Err(e) => bail!(
            "--log-key {value:?} is neither a verifier key (<name>+<id>+<key>) nor a readable file: {e}; \
             the registry's key is in <data>/log.vkey and at /v1/log"
        ),
    };
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    VerifierKey::parse(first)
        .with_context(|| format!("--log-key file {value} does not hold a verifier key"))
}
