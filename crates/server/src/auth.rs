//! Passwords and secrets: Argon2id hashing, random tokens.
//!
//! Hashes use Argon2id with the argon2 crate's defaults (19 MiB, 2 passes,
//! 1 lane: OWASP's minimum recommendation) and a random salt, stored as PHC
//! strings so parameters can be raised later without breaking old hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use qalqan_domain::account::NewPassword;

/// Why a secret could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("the operating system's random source failed")]
    Random,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Argon2id PHC string of a password.
pub fn hash_password(password: &NewPassword) -> Result<String, AuthError> {
    Argon2::default().hash_password(password.expose().as_bytes()).map(|h| h.to_string()).map_err(|e| AuthError::Hash(e.to_string()))
}

/// True when `password` matches the stored PHC string (constant-time comparison inside argon2).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| AuthError::Random)?;
    Ok(buf)
}

/// A random password of 20 characters from an alphabet without look-alikes (≈ 113 bits).
pub fn generate_password() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 64] = random_bytes()?;
    // Rejection sampling keeps the choice uniform: 256 = 4 · 56 + 32, so bytes ≥ 224 are skipped.
    let chars: String = bytes
        .iter()
        .filter(|&&b| (b as usize) < 4 * ALPHABET.len())
        .take(20)
        .map(|&b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect();
    if chars.len() < 20 { generate_password() } else { Ok(chars) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qalqan_domain::account::Login;

    #[test]
    fn hashes_verify_and_are_salted() {
        let login = Login::parse("analyst").unwrap();
        let pw = NewPassword::parse("correct horse battery staple", &login).unwrap();
        let (a, b) = (hash_password(&pw).unwrap(), hash_password(&pw).unwrap());
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "random salt");
        assert!(verify_password("correct horse battery staple", &a));
        assert!(!verify_password("correct horse battery stapler", &a));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let (a, b) = (generate_password().unwrap(), generate_password().unwrap());
        assert_eq!(a.chars().count(), 20);
        assert_ne!(a, b);
        assert!(NewPassword::parse(&a, &Login::parse("x1").unwrap()).is_ok());
    }
}
