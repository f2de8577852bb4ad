#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Barrier};

use base64::Engine as _;
use stackgate_secrets::{DataKey, MasterKey, SecretsError};

const STACK_A: &str = "0b6f3c1e-8f0a-4d57-9a43-1c2d3e4f5a6b";
const STACK_B: &str = "7d2e9a10-3c4b-4e8f-b1a2-9f8e7d6c5b4a";

fn undecryptable<T: std::fmt::Debug>(result: Result<T, SecretsError>) -> bool {
    matches!(result, Err(SecretsError::Undecryptable))
}

#[test]
fn round_trip() {
    let key = DataKey::generate();
    let ciphertext = key.encrypt(STACK_A, b"correct horse battery staple");
    assert_eq!(ciphertext.len(), 1 + 24 + 28 + 16);
    assert_eq!(ciphertext[0], 0x01);
    assert_eq!(
        key.decrypt(STACK_A, &ciphertext).unwrap(),
        b"correct horse battery staple"
    );
}

#[test]
fn empty_plaintext_round_trip() {
    let key = DataKey::generate();
    let ciphertext = key.encrypt(STACK_A, b"");
    assert_eq!(ciphertext.len(), 41);
    assert_eq!(key.decrypt(STACK_A, &ciphertext).unwrap(), b"");
}

#[test]
fn ciphertext_is_bound_to_its_stack_and_key() {
    let key = DataKey::generate();
    let ciphertext = key.encrypt(STACK_A, b"secret");
    // Same data key, other stack id.
    assert!(undecryptable(key.decrypt(STACK_B, &ciphertext)));
    // A stack id that merely extends or shortens the right one.
    assert!(undecryptable(
        key.decrypt(&format!("{STACK_A}x"), &ciphertext)
    ));
    assert!(undecryptable(key.decrypt(&STACK_A[1..], &ciphertext)));
    assert!(undecryptable(key.decrypt("", &ciphertext)));
    // Right stack id, other data key.
    assert!(undecryptable(
        DataKey::generate().decrypt(STACK_A, &ciphertext)
    ));
}

#[test]
fn any_flipped_byte_is_undecryptable() {
    let key = DataKey::generate();
    let ciphertext = key.encrypt(STACK_A, b"some secret value");
    for i in 0..ciphertext.len() {
        for bit in [0x01u8, 0x80] {
            let mut damaged = ciphertext.clone();
            damaged[i] ^= bit;
            assert!(
                undecryptable(key.decrypt(STACK_A, &damaged)),
                "byte {i} bit {bit:#x}"
            );
        }
    }
    let master = MasterKey::generate();
    let wrapped = master.wrap(STACK_A, &key);
    for i in 0..wrapped.len() {
        let mut damaged = wrapped.clone();
        damaged[i] ^= 0x01;
        assert!(undecryptable(master.unwrap(STACK_A, &damaged)), "byte {i}");
    }
}

#[test]
fn appended_bytes_are_undecryptable() {
    let key = DataKey::generate();
    let mut ciphertext = key.encrypt(STACK_A, b"x");
    ciphertext.push(0);
    assert!(undecryptable(key.decrypt(STACK_A, &ciphertext)));
}

#[test]
fn truncated_inputs_are_undecryptable() {
    let key = DataKey::generate();
    let master = MasterKey::generate();
    let ciphertext = key.encrypt(STACK_A, b"");
    let wrapped = master.wrap(STACK_A, &key);
    for len in [0usize, 1, 25, 40] {
        assert!(
            undecryptable(key.decrypt(STACK_A, &ciphertext[..len])),
            "{len}"
        );
        assert!(
            undecryptable(master.unwrap(STACK_A, &wrapped[..len])),
            "{len}"
        );
        // Not just prefixes of real values: arbitrary bytes of that length too.
        let junk = vec![0x01u8; len];
        assert!(undecryptable(key.decrypt(STACK_A, &junk)), "{len}");
        assert!(undecryptable(master.unwrap(STACK_A, &junk)), "{len}");
    }
    // Every shortening of a wrapped key fails, including at the tag boundary.
    for len in 0..wrapped.len() {
        assert!(
            undecryptable(master.unwrap(STACK_A, &wrapped[..len])),
            "{len}"
        );
    }
}

#[test]
fn unknown_version_is_undecryptable() {
    let key = DataKey::generate();
    let mut ciphertext = key.encrypt(STACK_A, b"v");
    for version in [0x00u8, 0x02, 0xff] {
        ciphertext[0] = version;
        assert!(undecryptable(key.decrypt(STACK_A, &ciphertext)));
    }
}

#[test]
fn wrap_unwrap_round_trip() {
    let master = MasterKey::generate();
    let key = DataKey::generate();
    let wrapped = master.wrap(STACK_A, &key);
    assert_eq!(wrapped.len(), 1 + 24 + 32 + 16);
    assert_eq!(wrapped[0], 0x01);
    let unwrapped = master.unwrap(STACK_A, &wrapped).unwrap();
    // The unwrapped key is the same key: it opens what the original sealed and vice versa.
    let ciphertext = key.encrypt(STACK_A, b"payload");
    assert_eq!(unwrapped.decrypt(STACK_A, &ciphertext).unwrap(), b"payload");
    let back = unwrapped.encrypt(STACK_A, b"back");
    assert_eq!(key.decrypt(STACK_A, &back).unwrap(), b"back");
}

#[test]
fn unwrap_with_another_master_key_or_stack_fails() {
    let master = MasterKey::generate();
    let wrapped = master.wrap(STACK_A, &DataKey::generate());
    assert!(undecryptable(
        MasterKey::generate().unwrap(STACK_A, &wrapped)
    ));
    assert!(undecryptable(master.unwrap(STACK_B, &wrapped)));
}

#[test]
fn encryptions_are_randomized() {
    let key = DataKey::generate();
    let one = key.encrypt(STACK_A, b"same");
    let two = key.encrypt(STACK_A, b"same");
    assert_ne!(one, two);
    assert_ne!(one[1..25], two[1..25], "nonces must differ");
    let master = MasterKey::generate();
    assert_ne!(master.wrap(STACK_A, &key), master.wrap(STACK_A, &key));
}

#[test]
fn generated_keys_differ() {
    assert_ne!(
        MasterKey::generate().encode(),
        MasterKey::generate().encode()
    );
    let (a, b) = (DataKey::generate(), DataKey::generate());
    assert!(undecryptable(b.decrypt(STACK_A, &a.encrypt(STACK_A, b"x"))));
}

#[test]
fn from_encoded_accepts_base64_and_hex() {
    let master = MasterKey::generate();
    let b64 = master.encode();
    assert_eq!(b64.len(), 44);
    assert!(b64.ends_with('='));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .unwrap();
    let hex_lower = hex::encode(&bytes);
    let hex_upper = hex_lower.to_uppercase();
    for text in [
        b64.clone(),
        format!("{b64}\n"),
        format!("  {b64}\r\n"),
        hex_lower.clone(),
        format!("{hex_lower}\n"),
        hex_upper,
    ] {
        let parsed = MasterKey::from_encoded(&text).unwrap();
        assert_eq!(parsed.encode(), b64, "{text:?}");
        assert_eq!(parsed.id(), master.id());
    }
}

#[test]
fn from_encoded_rejects_wrong_lengths_and_garbage_without_echoing_them() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let rejected = [
        b64.encode([0x5au8; 31]),
        b64.encode([0x5au8; 33]),
        hex::encode([0xa5u8; 31]),
        hex::encode([0xa5u8; 33]),
        // 44 characters but 33 bytes (no padding), and non-canonical trailing bits.
        b64.encode([0x5au8; 33]).chars().take(44).collect(),
        format!("{}B=", &b64.encode([0u8; 32])[..42]),
        // Right lengths, wrong alphabets.
        "z".repeat(64),
        format!("{}!=", "Q".repeat(42)),
        // URL-safe base64 is not standard base64.
        format!("{}-_=", "Q".repeat(41)),
        "this is not a key at all, just some words".to_string(),
        String::new(),
        "   \n".to_string(),
    ];
    for text in &rejected {
        let err = MasterKey::from_encoded(text).unwrap_err();
        let SecretsError::BadKey(message) = &err else {
            panic!("{text:?}: {err:?}");
        };
        assert!(message.starts_with("secrets key"), "{message}");
        let shown = err.to_string();
        let debug = format!("{err:?}");
        let trimmed = text.trim();
        if trimmed.len() >= 4 {
            assert!(!shown.contains(trimmed), "{shown}");
            assert!(!debug.contains(trimmed), "{debug}");
            // Not even a fragment of the input.
            assert!(!shown.contains(&trimmed[..trimmed.len() / 2]), "{shown}");
        }
    }
}

#[test]
fn id_is_a_stable_short_fingerprint() {
    let master = MasterKey::generate();
    assert_eq!(master.id().len(), 16);
    assert!(master.id().chars().all(|c| c.is_ascii_hexdigit()));
    let again = MasterKey::from_encoded(&master.encode()).unwrap();
    assert_eq!(again.id(), master.id());
    assert_ne!(MasterKey::generate().id(), master.id());
    assert!(!master.encode().contains(master.id()));
}

#[test]
fn debug_never_shows_key_material() {
    let master = MasterKey::generate();
    let debug = format!("{master:?}");
    assert!(debug.contains(master.id()), "{debug}");
    assert!(!debug.contains(&master.encode()), "{debug}");
    assert!(!debug.contains(&master.encode()[..20]), "{debug}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(master.encode())
        .unwrap();
    assert!(!debug.contains(&hex::encode(&bytes)[..16]), "{debug}");
    assert!(!format!("{master:#?}").contains(&master.encode()));

    // A data key's bytes are not reachable through the public API; its Debug is fixed
    // text (the unit tests in lib.rs check it against the actual bytes).
    let data = DataKey::generate();
    let debug = format!("{data:?}");
    assert_eq!(debug, format!("{:?}", DataKey::generate()));
    assert!(debug.contains("redacted"), "{debug}");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn load_or_create_file_creates_once_then_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let (created_key, created) = MasterKey::load_or_create_file(&path).unwrap();
    assert!(created);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("{}\n", created_key.encode()));

    let (loaded, created_again) = MasterKey::load_or_create_file(&path).unwrap();
    assert!(!created_again);
    assert_eq!(loaded.encode(), created_key.encode());
    assert_eq!(MasterKey::load_file(&path).unwrap().id(), created_key.id());

    // Nothing but the key file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("master.key")]);
}

#[test]
fn load_or_create_file_race_has_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let path = Arc::new(dir.path().join("raced.key"));
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let (key, created) = MasterKey::load_or_create_file(&path).unwrap();
                (key.encode(), created)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    assert!(results.iter().all(|(key, _)| *key == results[0].0));
    assert_eq!(MasterKey::load_file(&path).unwrap().encode(), results[0].0);
}

#[test]
fn load_or_create_file_does_not_replace_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.key");
    std::fs::write(&path, "not a key\n").unwrap();
    let err = MasterKey::load_or_create_file(&path).unwrap_err();
    assert!(matches!(err, SecretsError::BadKey(_)), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert!(!err.to_string().contains("not a key"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key\n");
}

#[test]
fn load_or_create_file_in_a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("master.key");
    let err = MasterKey::load_or_create_file(&path).unwrap_err();
    let SecretsError::Io { path: reported, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(reported, &path);
}

#[test]
fn load_file_accepts_hex_and_reports_missing_files_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hex.key");
    let master = MasterKey::generate();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(master.encode())
        .unwrap();
    std::fs::write(&path, format!("{}\n", hex::encode(bytes))).unwrap();
    assert_eq!(MasterKey::load_file(&path).unwrap().id(), master.id());

    let missing = dir.path().join("missing.key");
    let err = MasterKey::load_file(&missing).unwrap_err();
    let SecretsError::Io {
        path: reported,
        source,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(reported, &missing);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
}

#[test]
fn load_file_rejects_binary_contents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("binary.key");
    std::fs::write(&path, [0xffu8; 32]).unwrap();
    assert!(matches!(
        MasterKey::load_file(&path),
        Err(SecretsError::BadKey(_))
    ));
}

#[test]
fn undecryptable_message() {
    assert_eq!(
        SecretsError::Undecryptable.to_string(),
        "the ciphertext does not belong to this stack or is damaged"
    );
}
