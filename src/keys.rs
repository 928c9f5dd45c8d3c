//! Where the JWT key comes from: a public key file, a configured secret, or a
//! secret generated once by the server and kept in the data directory (so
//! `aftercare token` and `aftercare serve` agree without configuration).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use aftercare_platform::auth::JwtKey;
use aftercare_platform::embedded::random_hex;
use jsonwebtoken::Algorithm;

use crate::BoxError;
use crate::cli::{Common, PublicKeyAlgorithm};

const SECRET_FILE: &str = "jwt-secret";

/// The configured key. Without one, the data directory's secret: `create`
/// (the server) makes it the first time; otherwise (`token`) a missing
/// secret is an error, since a token minted with a new one would be refused.
pub fn jwt_key(common: &Common, create: bool) -> Result<JwtKey, BoxError> {
    if let Some(path) = &common.jwt_public_key {
        let pem = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let algorithm = match common.jwt_algorithm {
            PublicKeyAlgorithm::Rs256 => Algorithm::RS256,
            PublicKeyAlgorithm::Es256 => Algorithm::ES256,
            PublicKeyAlgorithm::Eddsa => Algorithm::EdDSA,
        };
        return Ok(JwtKey::PublicKey { pem, algorithm });
    }
    if let Some(secret) = &common.jwt_secret {
        return Ok(JwtKey::Secret(secret.as_bytes().to_vec()));
    }
    let dir = common.data_dir();
    if create {
        return Ok(JwtKey::Secret(load_or_create_secret(&dir)?));
    }
    let path = dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(secret) => Ok(JwtKey::Secret(secret.trim().as_bytes().to_vec())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "no JWT secret at {}: start the server once (scripts/serve) to create it, or pass --data-dir, \
             --jwt-secret or --jwt-public-key",
            path.display()
        )
        .into()),
        Err(e) => Err(format!("reading {}: {e}", path.display()).into()),
    }
}

/// The secret kept in `dir`, generated (mode 0600) the first time.
pub fn load_or_create_secret(dir: &Path) -> Result<Vec<u8>, BoxError> {
    let path = dir.join(SECRET_FILE);
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok(secret.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(dir)?;
    let secret = random_hex(32)?;
    // create_new: of two processes racing here, one writes and the other reads.
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut file) => {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            std::io::Write::write_all(&mut file, secret.as_bytes())?;
            Ok(secret.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
        }
        Err(e) => Err(format!("writing {}: {e}", path.display()).into()),
    }
}
