//! The server's Ed25519 key pair: generated at first start, kept in the data directory
//! readable by its owner only, published on the actor document.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use pkcs8::LineEnding;

use crate::FederationError;

/// The multicodec prefix of an Ed25519 public key (varint of 0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

pub struct ActorKey {
    signing: SigningKey,
}

impl ActorKey {
    /// Reads the key from `dir/actor-key.pem`, or creates it (mode 0600) when absent.
    pub fn load_or_create(dir: &Path) -> Result<Self, FederationError> {
        let file = dir.join("actor-key.pem");
        match std::fs::read_to_string(&file) {
            Ok(pem) => {
                let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
                    FederationError::Key(format!(
                        "{} is not an Ed25519 private key in PKCS#8 PEM ({e}): restore it from a backup, or delete it to make a new one (peers then see a key rotation)",
                        file.display()
                    ))
                })?;
                Ok(ActorKey { signing })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir)?;
                let secret: [u8; 32] = rand::random();
                let signing = SigningKey::from_bytes(&secret);
                let pem = signing
                    .to_pkcs8_pem(LineEnding::LF)
                    .map_err(|e| FederationError::Key(e.to_string()))?;
                write_private(&file, pem.as_bytes())?;
                tracing::info!(file = %file.display(), "created the server's Ed25519 key pair");
                Ok(ActorKey { signing })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A key that lives in memory only (tests, benches).
    pub fn ephemeral() -> Self {
        ActorKey {
            signing: SigningKey::from_bytes(&rand::random()),
        }
    }

    /// The public key as a Multikey `publicKeyMultibase` (base58btc, multicodec ed25519-pub).
    pub fn public_multibase(&self) -> String {
        let mut bytes = ED25519_PUB.to_vec();
        bytes.extend_from_slice(self.signing.verifying_key().as_bytes());
        format!("z{}", bs58::encode(bytes).into_string())
    }

    /// The 32-byte secret seed (for the signature library).
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key as SPKI PEM, for software that reads `publicKeyPem`.
    pub fn public_pem(&self) -> String {
        self.signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }
}

/// The raw Ed25519 public key of a `publicKeyMultibase` (`z` + base58btc of the
/// multicodec prefix and the key).
pub fn decode_multikey(multibase: &str) -> Option<Vec<u8>> {
    let bytes = bs58::decode(multibase.strip_prefix('z')?).into_vec().ok()?;
    let raw = bytes.strip_prefix(&ED25519_PUB[..])?;
    (raw.len() == 32).then(|| raw.to_vec())
}

#[cfg(unix)]
fn write_private(file: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(file: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(file, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_owner_only_and_read_back_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = ActorKey::load_or_create(dir.path()).expect("created");
        let again = ActorKey::load_or_create(dir.path()).expect("read");
        assert_eq!(first.public_multibase(), again.public_multibase());
        assert!(first.public_multibase().starts_with("z6Mk"));
        assert!(first.public_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("actor-key.pem"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("actor-key.pem"), "garbage").expect("write");
        assert!(ActorKey::load_or_create(dir.path()).is_err());
    }
}
