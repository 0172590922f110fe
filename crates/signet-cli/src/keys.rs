//! Key files: `signet keygen`, reading private keys, and passphrases.
//!
//! A private key file holds the signed-note private-key string
//! (`PRIVATE+KEY+<name>+<id>+<base64>`), encrypted by default with age's passphrase
//! (scrypt) mode in ASCII armor, so `age -d` can open it too. Passphrases come from
//! `--passphrase-file`, then `SIGNET_PASSPHRASE`, then a prompt on the terminal; never
//! from the command line, where other users could read them.

use std::fs;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use age::secrecy::SecretString;
use anyhow::{Context, Result, anyhow, bail};
use signet_core::keys::SignatureType;
use signet_core::{KeyName, SigningKey};
use zeroize::Zeroizing;

use crate::cli::{KeyArgs, KeygenArgs};
use crate::{io, note};

const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const AGE_BINARY: &str = "age-encryption.org/v1";
const PLAIN_PREFIX: &str = "PRIVATE+KEY+";

/// `signet keygen`.
pub fn keygen(args: &KeygenArgs) -> Result<ExitCode> {
    let name = &args.name;
    let valid_name = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if !valid_name {
        bail!("--name {name:?} is not a valid key name: use 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    let key_name = KeyName::parse(name).with_context(|| format!("--name {name:?}"))?;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => io::default_key_dir()?,
    };
    create_key_dir(&dir)?;
    let key_path = dir.join(format!("{name}.key"));
    let vkey_path = dir.join(format!("{name}.vkey"));
    if !args.force {
        for p in [&key_path, &vkey_path] {
            if p.symlink_metadata().is_ok() {
                bail!(
                    "{} already exists; pick another --name, or use --force to replace it \
                     (the old private key is then lost for good)",
                    p.display()
                );
            }
        }
    }

    let passphrase = if args.unencrypted {
        None
    } else {
        Some(passphrase(
            args.passphrase_file.as_deref(),
            true,
            &format!("a new passphrase for {name}"),
        )?)
    };

    let seed = match &args.from_ssh {
        Some(file) => crate::ssh::seed_from_file(file, args.ssh_passphrase_file.as_deref())?,
        None => {
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::fill(&mut seed[..])
                .map_err(|e| anyhow!("no randomness from the operating system: {e}"))?;
            seed
        }
    };
    let key = SigningKey::from_seed(key_name, SignatureType::Ed25519, &seed);
    let mut secret = key.to_secret_string();
    secret.push('\n');
    let contents = match &passphrase {
        None => Zeroizing::new(secret.as_bytes().to_vec()),
        Some(p) => Zeroizing::new(encrypt(secret.as_bytes(), p)?),
    };
    let vkey = key.verifier();

    write_key_files(
        args.force,
        (&key_path, &contents),
        (&vkey_path, format!("{vkey}\n").as_bytes()),
    )?;

    if passphrase.is_some() {
        note!(
            "wrote the private key to {} (encrypted with your passphrase)",
            key_path.display()
        );
    } else {
        note!(
            "WARNING: the private key in {} is NOT ENCRYPTED:",
            key_path.display()
        );
        note!("WARNING: anyone who can read this file can sign in your name; keep it secret");
    }
    note!("wrote the public key to {}", vkey_path.display());
    note!("key fingerprint {}", vkey.fingerprint());
    io::line(&vkey.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Creates the key folder (0700, only its owner may list it) if it is missing, durably:
/// its name fsynced into its parent, and every missing ancestor likewise.
fn create_key_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = signet_fs::parent_of(dir);
    signet_fs::create_dir_all(parent).map_err(|e| anyhow!("{e}"))?;
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        // Made meanwhile by another run: it is there either way.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot create the key directory {}", dir.display()));
        }
    }
    signet_fs::sync_dir(dir)
        .and_then(|()| signet_fs::sync_dir(parent))
        .map_err(|e| anyhow!("{e}"))
}

/// Writes the private key (0600) and the public key (0644). Without `force` each is
/// created only if nothing has its name, not even a symlink; with `force` each replaces
/// what is there by a rename, which replaces a symlink rather than writing through it.
/// Either way the bytes go to a fresh, exclusively created temporary name first, and the
/// folder is fsynced. When the public key cannot be written, the new private key is
/// removed again (unless it replaced an old one, which is gone by then).
fn write_key_files(force: bool, private: (&Path, &[u8]), public: (&Path, &[u8])) -> Result<()> {
    let write = |(path, data): (&Path, &[u8]), mode: u32| {
        let result = if force {
            signet_fs::replace_with_mode(path, data, mode)
        } else {
            signet_fs::create_new(path, data, mode)
        };
        result.map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow!(
                "{} already exists; pick another --name, or use --force to replace it \
                 (the old private key is then lost for good)",
                path.display()
            ),
            _ => anyhow!("{e}"),
        })
    };
    write(private, signet_fs::PRIVATE)?;
    if let Err(e) = write(public, signet_fs::PUBLIC) {
        if !force {
            let _ = fs::remove_file(private.0);
        }
        return Err(e);
    }
    Ok(())
}

fn encrypt(plain: &[u8], passphrase: &SecretString) -> Result<Vec<u8>> {
    let encryptor = age::Encryptor::with_user_passphrase(passphrase.clone());
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)?;
    let mut writer = encryptor.wrap_output(armor)?;
    writer.write_all(plain)?;
    writer.finish()?.finish()?;
    Ok(out)
}

/// Gets a passphrase: from `file`, else `SIGNET_PASSPHRASE`, else the terminal (twice
/// when `confirm`).
fn passphrase(file: Option<&Path>, confirm: bool, purpose: &str) -> Result<SecretString> {
    let from = |p: String, source: &str| -> Result<SecretString> {
        if p.is_empty() {
            bail!("the passphrase from {source} is empty");
        }
        Ok(SecretString::from(p))
    };
    if let Some(file) = file {
        let text = Zeroizing::new(
            fs::read_to_string(file)
                .with_context(|| format!("cannot read the passphrase file {}", file.display()))?,
        );
        let first = text.lines().next().unwrap_or("");
        return from(first.to_owned(), &format!("{}", file.display()));
    }
    if let Some(p) = std::env::var_os("SIGNET_PASSPHRASE") {
        let p = p
            .into_string()
            .map_err(|_| anyhow!("SIGNET_PASSPHRASE is not UTF-8"))?;
        return from(p, "SIGNET_PASSPHRASE");
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "a passphrase is needed and there is no terminal to ask on; set SIGNET_PASSPHRASE, \
             use --passphrase-file FILE, or (keygen only) --unencrypted"
        );
    }
    let first = Zeroizing::new(rpassword::prompt_password(format!(
        "signet: enter {purpose}: "
    ))?);
    if confirm {
        let second = Zeroizing::new(rpassword::prompt_password("signet: enter it again: ")?);
        if *first != *second {
            bail!("the passphrases do not match; run the command again");
        }
    }
    from(first.to_string(), "the terminal")
}

/// Resolves `--key`: a path, or the name of a key in the default directory.
fn key_path(arg: &str) -> Result<PathBuf> {
    let path = PathBuf::from(arg);
    if path.exists() {
        return Ok(path);
    }
    if !arg.contains('/') {
        let dir = io::default_key_dir()?;
        for candidate in [dir.join(arg), dir.join(format!("{arg}.key"))] {
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "no key at {arg}; create one with `signet keygen --name NAME`, or give the path of your .key file"
    )
}

/// Reads the private key named by `--key`, decrypting it if needed.
pub fn load(args: &KeyArgs) -> Result<SigningKey> {
    let path = key_path(&args.key)?;
    let mut bytes = Zeroizing::new(Vec::new());
    fs::File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    let secret: Zeroizing<String> = if bytes.starts_with(PLAIN_PREFIX.as_bytes()) {
        if let Ok(meta) = fs::metadata(&path)
            && meta.permissions().mode() & 0o077 != 0
        {
            note!(
                "warning: the unencrypted key {} is readable by other users; chmod 600 it",
                path.display()
            );
        }
        Zeroizing::new(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| anyhow!("{} is not a key file", path.display()))?,
        )
    } else if bytes.starts_with(ARMOR_BEGIN.as_bytes()) || bytes.starts_with(AGE_BINARY.as_bytes())
    {
        let pass = passphrase(
            args.passphrase_file.as_deref(),
            false,
            &format!("the passphrase of {}", path.display()),
        )?;
        decrypt(&bytes, pass).with_context(|| format!("cannot open the key {}", path.display()))?
    } else {
        bail!(
            "{} is not a signet key file (made by `signet keygen`)",
            path.display()
        );
    };
    SigningKey::parse(secret.trim_end())
        .with_context(|| format!("{} does not hold a valid private key", path.display()))
}

fn decrypt(bytes: &[u8], passphrase: SecretString) -> Result<Zeroizing<String>> {
    let decryptor = age::Decryptor::new(age::armor::ArmoredReader::new(bytes))?;
    if !decryptor.is_scrypt() {
        bail!("it is encrypted to age recipients, not with a passphrase");
    }
    let identity = age::scrypt::Identity::new(passphrase);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                anyhow!("wrong passphrase")
            }
            e => anyhow!(e),
        })?;
    let mut secret = Zeroizing::new(String::new());
    reader
        .read_to_string(&mut secret)
        .context("the decrypted key is not text")?;
    Ok(secret)
}
