//! Where the JWT key comes from: a public key file, a configured secret, or a
//! secret generated once and kept in the data directory (so `aftercare token`
//! and `aftercare serve` agree without configuration).

use std::os::unix::fs::PermissionsExt;

use aftercare_platform::auth::JwtKey;
use aftercare_platform::embedded::random_hex;
use jsonwebtoken::Algorithm;

use crate::BoxError;
use crate::cli::{Common, PublicKeyAlgorithm};

const SECRET_FILE: &str = "jwt-secret";

pub fn jwt_key(common: &Common) -> Result<JwtKey, BoxError> {
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
    let path = common.data_dir.join(SECRET_FILE);
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok(JwtKey::Secret(secret.trim().as_bytes().to_vec()));
    }
    std::fs::create_dir_all(&common.data_dir)?;
    let secret = random_hex(32)?;
    // create_new: of two processes racing here, one writes and the other reads.
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(mut file) => {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            std::io::Write::write_all(&mut file, secret.as_bytes())?;
            Ok(JwtKey::Secret(secret.into_bytes()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(JwtKey::Secret(
            std::fs::read_to_string(&path)?.trim().as_bytes().to_vec(),
        )),
        Err(e) => Err(format!("writing {}: {e}", path.display()).into()),
    }
}
