//! Invitation link tokens, derived with a key kept outside the database.
//!
//! A token is `base64url(invitation id) "." base64url(HMAC-SHA256(key, id ‖ nonce))`.
//! The database stores only the id and nonce, so a copy of it (a backup, a
//! stolen file) cannot be turned into a working link; the daemon, which holds
//! the key, can show the current link again at any time (`roster link`).

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Length of the secret key in bytes.
const KEY_LEN: usize = 32;

/// Signs and checks invitation tokens.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; KEY_LEN],
}

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("invite-link key {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "invite-link key {0} is not {KEY_LEN} bytes; restore it from backup or delete it (every open link then stops working)"
    )]
    WrongLength(String),
}

impl LinkSigner {
    /// Loads the key file, creating it (mode 0600) with fresh random bytes
    /// on first start.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        let io = |source| KeyFileError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; KEY_LEN] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyFileError::WrongLength(path.display().to_string()))?;
                Ok(Self { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; KEY_LEN];
                rand::rng().fill_bytes(&mut key);
                let mut file = open_private(path).map_err(io)?;
                file.write_all(&key).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(Self { key })
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A signer with a given key (tests).
    pub fn from_key(key: [u8; KEY_LEN]) -> Self {
        Self { key }
    }

    /// A fresh random nonce for a new invitation.
    pub fn new_nonce() -> String {
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        URL_SAFE_NO_PAD.encode(nonce)
    }

    /// The token of an invitation.
    pub fn token(&self, id: Uuid, nonce: &str) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(id.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.mac(id, nonce).finalize().into_bytes())
        )
    }

    /// Splits a token into the invitation id it names and its signature;
    /// `None` for anything malformed.
    pub fn parse(token: &str) -> Option<(Uuid, Vec<u8>)> {
        let (id, sig) = token.split_once('.')?;
        let id = URL_SAFE_NO_PAD.decode(id).ok()?;
        let id = Uuid::from_slice(&id).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        Some((id, sig))
    }

    /// Checks a signature in constant time.
    pub fn verify(&self, id: Uuid, nonce: &str, signature: &[u8]) -> bool {
        self.mac(id, nonce).verify_slice(signature).is_ok()
    }

    fn mac(&self, id: Uuid, nonce: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(nonce.as_bytes());
        mac
    }
}

fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_the_key_and_nonce() {
        let signer = LinkSigner::from_key([7; 32]);
        let id = Uuid::now_v7();
        let nonce = LinkSigner::new_nonce();
        let token = signer.token(id, &nonce);
        let (parsed, sig) = LinkSigner::parse(&token).expect("parses");
        assert_eq!(parsed, id);
        assert!(signer.verify(id, &nonce, &sig));
        assert!(!signer.verify(id, "other", &sig));
        assert!(!LinkSigner::from_key([8; 32]).verify(id, &nonce, &sig));
    }

    #[test]
    fn garbage_does_not_parse() {
        for bad in ["", "x", "a.b", "....", "AAAA.AAAA"] {
            assert!(
                LinkSigner::parse(bad).is_none_or(|(_, sig)| sig.len() < 32),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k");
        let a = LinkSigner::load_or_create(&path).expect("create");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let b = LinkSigner::load_or_create(&path).expect("reload");
        let id = Uuid::now_v7();
        assert_eq!(a.token(id, "n"), b.token(id, "n"));
    }
}
