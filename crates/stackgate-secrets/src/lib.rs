//! Envelope encryption for the Pulumi "service" secrets provider.
//!
//! When a stack uses the service secrets provider, the Pulumi CLI sends secret values to
//! the service to be encrypted and decrypted. stackgate does that with two levels of keys:
//!
//! * a [`DataKey`] per stack: 256 random bits that encrypt that stack's secrets;
//! * one [`MasterKey`] per installation: 256 random bits that *wrap* (encrypt) every
//!   stack's data key. Only wrapped data keys are stored in the database; the master key
//!   lives in a file (see [`MasterKey::load_or_create_file`]) or comes from configuration.
//!
//! A database dump alone therefore reveals no secret, and the master key can be stored
//! apart from the data.
//!
//! # The master key must be backed up
//!
//! Every secret of every stack is only reachable through the master key. **Losing the
//! master key loses every secret, with no way to recover them.** Back it up with the same
//! care as the database backups, and keep the backup apart from them. Each wrapped key is
//! stored next to [`MasterKey::id`], a public fingerprint of the master key, so that
//! starting with the wrong master key is detected and reported as such instead of as
//! thousands of undecryptable secrets.
//!
//! # Byte format
//!
//! Secret ciphertexts ([`DataKey::encrypt`]) and wrapped data keys ([`MasterKey::wrap`])
//! share one layout:
//!
//! ```text
//! +---------+----------------------+--------------------------------------+
//! | 0x01    | nonce (24 bytes)     | XChaCha20-Poly1305 output            |
//! | version | random, from the OS  | ciphertext (len of plaintext) + tag  |
//! |         |                      | (16 bytes)                           |
//! +---------+----------------------+--------------------------------------+
//! ```
//!
//! So a ciphertext is always 41 bytes longer than its plaintext, and a wrapped data key is
//! 73 bytes. The nonce is drawn at random for every encryption; XChaCha20's 192-bit nonce
//! makes a collision negligible however many values are encrypted under one key. The
//! version byte lets a later format coexist with this one; an unknown version, an input
//! shorter than 41 bytes or a tag that does not verify all yield
//! [`SecretsError::Undecryptable`], never a panic.
//!
//! # Binding to the stack
//!
//! The AEAD's associated data (AAD) — authenticated but not encrypted — is a fixed
//! domain prefix followed by the stack's **immutable id** (not its name, which can change
//! through a rename):
//!
//! * secrets: `b"stackgate-secret-v1:" || stack_id`
//! * wrapped data keys: `b"stackgate-data-key-v1:" || stack_id`
//!
//! Decryption recomputes the AAD from the stack the request is about, so a ciphertext
//! copied from stack A and submitted through stack B fails authentication, even in the
//! (buggy) case where B would be using A's data key, and a wrapped key row moved to
//! another stack cannot be unwrapped there. Without this binding, anyone who can read
//! one stack's ciphertexts and decrypt through another stack could have them decrypted.
//! The stack id is the whole remainder of the AAD after a fixed prefix, so the encoding
//! is unambiguous; the two prefixes differ so that a secret ciphertext can never be taken
//! for a wrapped key or the other way round.
//!
//! # Key hygiene
//!
//! Key bytes are zeroized when a key is dropped, `Debug` never prints them, and error
//! messages never contain key material or the text a key was parsed from.

#![forbid(unsafe_code)]

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of every key, in bytes.
const KEY_LEN: usize = 32;
/// The only format version written and read.
const VERSION: u8 = 0x01;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The shortest valid input: version, nonce and tag around an empty plaintext.
const MIN_LEN: usize = 1 + NONCE_LEN + TAG_LEN;

const SECRET_AAD_PREFIX: &[u8] = b"stackgate-secret-v1:";
const DATA_KEY_AAD_PREFIX: &[u8] = b"stackgate-data-key-v1:";
const MASTER_KEY_ID_PREFIX: &[u8] = b"stackgate-master-key-id:";

/// What can go wrong with keys and ciphertexts.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A master key could not be parsed. The message says where the key came from and why
    /// it was refused, never any part of the key text.
    #[error("{0}")]
    BadKey(String),
    /// A key file could not be read or written.
    #[error("secrets key file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Authentication failed: wrong stack, wrong key, damaged or truncated input, or an
    /// unknown format version. Deliberately says nothing more.
    #[error("the ciphertext does not belong to this stack or is damaged")]
    Undecryptable,
}

/// The installation-wide key that wraps every stack's [`DataKey`].
///
/// Zeroized on drop; `Debug` shows only the public [`id`](MasterKey::id).
pub struct MasterKey {
    key: [u8; KEY_LEN],
    id: String,
}

impl MasterKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> MasterKey {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(key.as_mut());
        MasterKey::from_bytes(&key)
    }

    fn from_bytes(key: &[u8; KEY_LEN]) -> MasterKey {
        let digest = Sha256::new()
            .chain_update(MASTER_KEY_ID_PREFIX)
            .chain_update(key)
            .finalize();
        let id = hex::encode(&digest[..8]);
        MasterKey { key: *key, id }
    }

    /// Parses a key given as 44 characters of standard base64 (with padding) or 64 hex
    /// characters, either way exactly 32 bytes. Surrounding whitespace (such as a trailing
    /// newline) is ignored. Anything else is [`SecretsError::BadKey`].
    pub fn from_encoded(text: &str) -> Result<MasterKey, SecretsError> {
        decode_key(text)
            .map(|key| MasterKey::from_bytes(&key))
            .map_err(|why| SecretsError::BadKey(format!("secrets key: {why}")))
    }

    /// The key as standard base64 with padding (44 characters), the form
    /// [`from_encoded`](MasterKey::from_encoded) and the key file use.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key)
    }

    /// A short public fingerprint of the key: the first 16 hex characters of
    /// SHA-256(`"stackgate-master-key-id:"` || key). Stored next to wrapped keys so that a
    /// wrong master key is recognised as such. Reveals nothing usable about the key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reads a key file: the encoded key (see [`from_encoded`](MasterKey::from_encoded)),
    /// surrounding whitespace allowed.
    pub fn load_file(path: &Path) -> Result<MasterKey, SecretsError> {
        let bytes = Zeroizing::new(fs::read(path).map_err(|source| SecretsError::Io {
            path: path.to_path_buf(),
            source,
        })?);
        let parsed = std::str::from_utf8(&bytes)
            .map_err(|_| "the file is not text")
            .and_then(decode_key);
        parsed
            .map(|key| MasterKey::from_bytes(&key))
            .map_err(|why| {
                SecretsError::BadKey(format!("secrets key file {}: {why}", path.display()))
            })
    }

    /// Loads the key file if it exists; otherwise creates it with a freshly generated key
    /// and returns `(key, true)`.
    ///
    /// The new file (mode 0600 on unix) is written and fsynced under a temporary name in
    /// the same directory, then published with a hard link, which never replaces an
    /// existing file: readers never see a partial key, and if two processes race, exactly
    /// one key wins and the loser reads the winner's file. On a filesystem without hard
    /// links the key is written directly to a file opened with `create_new`. The
    /// directory must already exist.
    pub fn load_or_create_file(path: &Path) -> Result<(MasterKey, bool), SecretsError> {
        match MasterKey::load_file(path) {
            Ok(key) => return Ok((key, false)),
            Err(SecretsError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let key = MasterKey::generate();
        let mut contents = Zeroizing::new(key.encode());
        contents.push('\n');
        let io_err = |source| SecretsError::Io {
            path: path.to_path_buf(),
            source,
        };
        match publish_new_file(path, contents.as_bytes()).map_err(io_err)? {
            Published::Created => Ok((key, true)),
            Published::AlreadyExists => MasterKey::load_file(path).map(|key| (key, false)),
        }
    }

    /// Writes this key to the new file `path` (atomically, mode 0600 on unix), e.g. beside
    /// a backup. An existing file is an error, never overwritten.
    pub fn save_new_file(&self, path: &Path) -> Result<(), SecretsError> {
        let mut contents = Zeroizing::new(self.encode());
        contents.push('\n');
        let io_err = |source| SecretsError::Io {
            path: path.to_path_buf(),
            source,
        };
        match publish_new_file(path, contents.as_bytes()).map_err(io_err)? {
            Published::Created => Ok(()),
            Published::AlreadyExists => Err(io_err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the file already exists",
            ))),
        }
    }

    /// Wraps a stack's data key for storage. The result is bound to `stack_id` (see the
    /// crate documentation) and is 73 bytes long.
    pub fn wrap(&self, stack_id: &str, key: &DataKey) -> Vec<u8> {
        seal(&self.key, DATA_KEY_AAD_PREFIX, stack_id, &key.key)
    }

    /// Recovers a data key wrapped by [`wrap`](MasterKey::wrap) with this master key for
    /// this stack; anything else is [`SecretsError::Undecryptable`].
    pub fn unwrap(&self, stack_id: &str, wrapped: &[u8]) -> Result<DataKey, SecretsError> {
        let plain = open(&self.key, DATA_KEY_AAD_PREFIX, stack_id, wrapped)?;
        let key: [u8; KEY_LEN] = plain
            .as_slice()
            .try_into()
            .map_err(|_| SecretsError::Undecryptable)?;
        Ok(DataKey { key })
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl ZeroizeOnDrop for MasterKey {}

/// One stack's key for its secrets. Stored only wrapped by the [`MasterKey`].
///
/// Zeroized on drop; `Debug` is redacted.
pub struct DataKey {
    key: [u8; KEY_LEN],
}

impl DataKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> DataKey {
        let mut key = DataKey { key: [0; KEY_LEN] };
        OsRng.fill_bytes(&mut key.key);
        key
    }

    /// Encrypts a secret of the stack `stack_id` under a fresh random nonce. The result is
    /// 41 bytes longer than `plaintext` and decrypts only for the same stack id.
    ///
    /// # Panics
    ///
    /// If `plaintext` exceeds XChaCha20-Poly1305's per-message limit of about 256 GiB.
    pub fn encrypt(&self, stack_id: &str, plaintext: &[u8]) -> Vec<u8> {
        seal(&self.key, SECRET_AAD_PREFIX, stack_id, plaintext)
    }

    /// Decrypts what [`encrypt`](DataKey::encrypt) produced with this key for this stack;
    /// anything else is [`SecretsError::Undecryptable`].
    pub fn decrypt(&self, stack_id: &str, ciphertext: &[u8]) -> Result<Vec<u8>, SecretsError> {
        open(&self.key, SECRET_AAD_PREFIX, stack_id, ciphertext).map(|plain| plain.to_vec())
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl ZeroizeOnDrop for DataKey {}

/// Decodes a 32-byte key from base64 or hex text; the error is a reason that never
/// quotes the input.
fn decode_key(text: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, &'static str> {
    const EXPECTED: &str =
        "expected 32 bytes as 44 characters of standard base64 or 64 hex characters";
    let text = text.trim();
    let decoded =
        Zeroizing::new(match text.len() {
            44 => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| {
                    "not valid base64; expected 32 bytes as 44 characters of standard base64"
                })?,
            64 => hex::decode(text)
                .map_err(|_| "not valid hex; expected 32 bytes as 64 hex characters")?,
            0 => return Err(
                "empty; expected 32 bytes as 44 characters of standard base64 or 64 hex characters",
            ),
            _ => return Err(EXPECTED),
        });
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if decoded.len() != KEY_LEN {
        return Err(EXPECTED);
    }
    key.copy_from_slice(&decoded);
    Ok(key)
}

fn aad(prefix: &[u8], stack_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(prefix.len() + stack_id.len());
    aad.extend_from_slice(prefix);
    aad.extend_from_slice(stack_id.as_bytes());
    aad
}

fn seal(key: &[u8; KEY_LEN], prefix: &[u8], stack_id: &str, plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let aad = aad(prefix, stack_id);
    let sealed = match cipher.encrypt(
        XNonce::from_slice(&nonce),
        Payload {
            msg: plaintext,
            aad: &aad,
        },
    ) {
        Ok(sealed) => sealed,
        // The only failure is a message beyond the AEAD's ~256 GiB limit (documented).
        Err(_) => panic!("plaintext too large for XChaCha20-Poly1305"),
    };
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn open(
    key: &[u8; KEY_LEN],
    prefix: &[u8],
    stack_id: &str,
    input: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    if input.len() < MIN_LEN || input[0] != VERSION {
        return Err(SecretsError::Undecryptable);
    }
    let (nonce, sealed) = input[1..].split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    let aad = aad(prefix, stack_id);
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SecretsError::Undecryptable)
}

enum Published {
    Created,
    AlreadyExists,
}

/// Creates `path` with `contents` unless it exists, never exposing a partial file.
fn publish_new_file(path: &Path, contents: &[u8]) -> io::Result<Published> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file")
    })?;
    let mut suffix = [0u8; 8];
    OsRng.fill_bytes(&mut suffix);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", hex::encode(suffix)));
    let tmp = dir.join(tmp_name);

    let written = write_new_file(&tmp, contents);
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    // The temporary name goes whatever happened; the linked file keeps the data.
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(Published::AlreadyExists),
        // No hard links here (or the temporary file could not be made): write in place.
        Err(_) => match write_new_file(path, contents) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Ok(Published::AlreadyExists)
            }
            Err(e) => return Err(e),
        },
    }
    sync_dir(dir);
    Ok(Published::Created)
}

/// Writes a new file (refusing to replace one), owner-only on unix, and fsyncs it.
fn write_new_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let result = file.write_all(contents).and_then(|()| file.sync_all());
    if result.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    result
}

/// Makes the new directory entry durable. Best effort: some filesystems refuse to fsync
/// a directory, and the key file itself is already synced.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn master_key_id_is_the_prefixed_sha256() {
        // Independently: printf 'stackgate-master-key-id:' + 32 zero bytes | sha256sum
        let key = MasterKey::from_bytes(&[0; KEY_LEN]);
        assert_eq!(key.id(), MASTER_KEY_ID_ZEROS);
    }

    #[test]
    fn secrets_and_wrapped_keys_are_not_interchangeable() {
        // Same key bytes on both sides: only the AAD prefix tells them apart.
        let bytes = [7u8; KEY_LEN];
        let master = MasterKey::from_bytes(&bytes);
        let data = DataKey { key: bytes };
        let inner = DataKey::generate();
        let wrapped = master.wrap("stack-1", &inner);
        assert!(matches!(
            data.decrypt("stack-1", &wrapped),
            Err(SecretsError::Undecryptable)
        ));
        let secret = data.encrypt("stack-1", &[1; KEY_LEN]);
        assert!(matches!(
            master.unwrap("stack-1", &secret),
            Err(SecretsError::Undecryptable)
        ));
    }

    #[test]
    fn unwrap_refuses_a_wrapped_value_of_the_wrong_length() {
        let master = MasterKey::generate();
        let short = seal(&master.key, DATA_KEY_AAD_PREFIX, "s", &[1; KEY_LEN - 1]);
        assert!(matches!(
            master.unwrap("s", &short),
            Err(SecretsError::Undecryptable)
        ));
    }

    #[test]
    fn debug_shows_no_key_bytes() {
        let data = DataKey::generate();
        let master = MasterKey::generate();
        for (debug, pretty, bytes) in [
            (format!("{data:?}"), format!("{data:#?}"), data.key),
            (format!("{master:?}"), format!("{master:#?}"), master.key),
        ] {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            let hex = hex::encode(bytes);
            // As `{:?}` of the array would print it: "12, 34, 56, 78".
            let decimal = format!("{:?}", &bytes[..4]);
            let decimal = decimal.trim_matches(|c| c == '[' || c == ']');
            for shown in [&debug, &pretty] {
                assert!(!shown.contains(&b64[..12]), "{shown}");
                assert!(!shown.contains(&hex[..12]), "{shown}");
            }
            assert!(!debug.contains(decimal), "{debug}");
        }
        assert!(!format!("{master:?}").contains(&master.encode()));
    }

    #[test]
    fn decrypts_an_independently_made_vector() {
        // Made outside this crate (Python: HChaCha20 by hand + `cryptography`'s
        // ChaCha20Poly1305), so the byte format and AAD are pinned, not just
        // self-consistent.
        let key = DataKey { key: VECTOR_KEY };
        let ciphertext = hex::decode(VECTOR_CIPHERTEXT).unwrap();
        assert_eq!(
            key.decrypt(VECTOR_STACK, &ciphertext).unwrap(),
            VECTOR_PLAINTEXT
        );
    }

    const MASTER_KEY_ID_ZEROS: &str = "74676f2d3ffa6657";
    const VECTOR_KEY: [u8; KEY_LEN] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
        25, 26, 27, 28, 29, 30, 31,
    ];
    const VECTOR_STACK: &str = "3f2c8a4e-5b1d-4c7a-9e0f-1a2b3c4d5e6f";
    const VECTOR_PLAINTEXT: &[u8] = b"hunter2";
    // version 01 | nonce 40..57 | ciphertext + tag
    const VECTOR_CIPHERTEXT: &str = "01404142434445464748494a4b4c4d4e4f5051525354555657\
                                     bc4c6b04b5924b7f38b3ee3574d59528799d7186d2de1b";
}
