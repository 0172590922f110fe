//! OpenSSH keys: `signet key ssh` (the public key as an `ssh-ed25519` line, for GitHub)
//! and `signet keygen --from-ssh` (sign with the Ed25519 key GitHub already knows).

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use signet_core::VerifierKey;
use zeroize::Zeroizing;

use crate::cli::KeySshArgs;
use crate::{io, keys};

/// `signet key ssh`: the public key of `--key` as an OpenSSH line whose comment is the
/// key name. A `.vkey` file (or a verifier key) needs no passphrase.
pub fn key_ssh(args: &KeySshArgs) -> Result<ExitCode> {
    let vkey = public_key(&args.key)?;
    io::line(&signet_identity::keys::ssh_line(
        vkey.public_key(),
        vkey.name().as_str(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The verifier key behind `--key`: a verifier key, a `.vkey` file, or a private key
/// file (its `.vkey` beside it when there is one, else the key itself, decrypted).
pub fn public_key(args: &crate::cli::KeyArgs) -> Result<VerifierKey> {
    if let Ok(k) = VerifierKey::parse(args.key.trim()) {
        return Ok(k);
    }
    let path = Path::new(&args.key);
    let beside = path.with_extension("vkey");
    for candidate in [path, beside.as_path()] {
        if let Ok(text) = std::fs::read_to_string(candidate)
            && let Ok(k) = VerifierKey::parse(text.trim())
        {
            return Ok(k);
        }
    }
    Ok(keys::load(args)?.verifier())
}

/// The 32-byte Ed25519 seed of an OpenSSH private key file, decrypted with the
/// passphrase from `passphrase_file`, `SIGNET_SSH_PASSPHRASE` or the terminal when the
/// file is encrypted.
pub fn seed_from_file(path: &Path, passphrase_file: Option<&Path>) -> Result<Zeroizing<[u8; 32]>> {
    let text = Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("cannot read the OpenSSH key {}", path.display()))?,
    );
    let mut key = ssh_key::PrivateKey::from_openssh(&*text).map_err(|e| {
        anyhow!(
            "{} is not an OpenSSH private key ({e}); give the file ssh-keygen wrote, such as \
             ~/.ssh/id_ed25519 (not the .pub)",
            path.display()
        )
    })?;
    if key.is_encrypted() {
        let pass = ssh_passphrase(passphrase_file, path)?;
        key = key.decrypt(pass.as_bytes()).map_err(|e| {
            anyhow!(
                "cannot decrypt {} ({e}): is the passphrase right?",
                path.display()
            )
        })?;
    }
    let Some(pair) = key.key_data().ed25519() else {
        bail!(
            "{} is a {} key; signet signs only with Ed25519 (ssh-keygen -t ed25519)",
            path.display(),
            key.algorithm()
        );
    };
    let seed = Zeroizing::new(pair.private.to_bytes());
    // The file states the public key too; a key that does not derive it is damaged.
    let derived = signet_core::SigningKey::from_seed(
        signet_core::KeyName::parse("check").map_err(|e| anyhow!("{e}"))?,
        signet_core::keys::SignatureType::Ed25519,
        &seed,
    );
    if derived.verifier().public_key() != &pair.public.0 {
        bail!(
            "{}: its private key does not match its public key; the file is damaged",
            path.display()
        );
    }
    Ok(seed)
}

fn ssh_passphrase(file: Option<&Path>, key: &Path) -> Result<Zeroizing<String>> {
    if let Some(file) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the passphrase file {}", file.display()))?,
        );
        return Ok(Zeroizing::new(text.lines().next().unwrap_or("").to_owned()));
    }
    if let Some(p) = std::env::var_os("SIGNET_SSH_PASSPHRASE") {
        return p
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| anyhow!("SIGNET_SSH_PASSPHRASE is not UTF-8"));
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "{} is encrypted and there is no terminal to ask for its passphrase on; set \
             SIGNET_SSH_PASSPHRASE or use --ssh-passphrase-file FILE",
            key.display()
        );
    }
    Ok(Zeroizing::new(rpassword::prompt_password(format!(
        "signet: enter the passphrase of {}: ",
        key.display()
    ))?))
}
