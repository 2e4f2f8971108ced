//! Secrets: random credentials, their stored hashes, password hashing and the password
//! policy.
//!
//! Tokens, session ids and invitation links are 256 random bits, so a plain SHA-256 is
//! enough to store them (a slow hash protects low-entropy secrets; these are not), and
//! looking one up by its hash leaks nothing useful through timing. Passwords are
//! low-entropy: they get argon2id.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AccessError;

/// Prefixes make a leaked secret recognisable (and greppable by secret scanners).
pub(crate) const ADMIN_TOKEN_PREFIX: &str = "cdt_";
pub(crate) const PERSONAL_TOKEN_PREFIX: &str = "cdp_";
pub(crate) const SESSION_PREFIX: &str = "cds_";
pub(crate) const INVITATION_PREFIX: &str = "cdi_";

/// The longest password accepted (argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_LEN: usize = 1024;

pub(crate) fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// The stored form of a random secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub(crate) fn hash_password(password: &str) -> Result<String, AccessError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccessError::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the argon2 PHC string `stored` (constant time inside).
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Refuses passwords that are too short, too long, or easy to guess: common passwords,
/// keyboard patterns and variations of the person's own name or address (zxcvbn, which
/// carries the common-password lists).
pub fn check_password(password: &str, min_len: usize, hints: &[&str]) -> Result<(), AccessError> {
    let length = password.chars().count();
    if length < min_len {
        return Err(AccessError::WeakPassword(format!(
            "the password has {length} characters; choose one of at least {min_len} (a few unrelated words work well)"
        )));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(AccessError::WeakPassword(format!(
            "the password is longer than {MAX_PASSWORD_LEN} bytes"
        )));
    }
    // The person's address and name, whole and word by word, count as guessable.
    let mut words: Vec<String> = Vec::new();
    for hint in hints {
        words.push(hint.to_lowercase());
        words.extend(
            hint.to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() >= 3)
                .map(str::to_owned),
        );
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &words);
    if estimate.score() < zxcvbn::Score::Three {
        let mut detail = String::from("the password is too easy to guess");
        if let Some(feedback) = estimate.feedback() {
            if let Some(warning) = feedback.warning() {
                detail.push_str(&format!(" ({warning})"));
            }
            if let Some(suggestion) = feedback.suggestions().first() {
                detail.push_str(&format!(": {suggestion}"));
            }
        }
        detail.push_str("; choose a longer one, such as a few unrelated words");
        return Err(AccessError::WeakPassword(detail));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_short_and_personal_passwords_are_refused_and_a_passphrase_is_accepted() {
        for weak in ["password123", "qwertyuiop", "iloveyou12", "1234567890"] {
            assert!(
                matches!(
                    check_password(weak, 10, &[]),
                    Err(AccessError::WeakPassword(_))
                ),
                "{weak} accepted"
            );
        }
        assert!(check_password("short", 10, &[]).is_err());
        for personal in ["Lovelace2026!", "ada.lovelace@example.org", "ada-lovelace"] {
            assert!(
                check_password(personal, 10, &["ada.lovelace@example.org", "Ada Lovelace"])
                    .is_err(),
                "{personal} accepted"
            );
        }
        // The same password is fine for someone else: the person's own words count against it.
        check_password("Lovelace2026!", 10, &["wyn@example.org", "Wyn Jones"])
            .expect("not personal");
        assert!(check_password(&"x".repeat(MAX_PASSWORD_LEN + 1), 10, &[]).is_err());
        check_password("correct horse battery staple", 10, &[]).expect("a passphrase");
    }

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let stored = hash_password("correct horse battery staple").expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &stored));
        assert!(!verify_password("correct horse battery stapler", &stored));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn secrets_are_random_prefixed_and_stored_only_as_hashes() {
        let a = new_secret(PERSONAL_TOKEN_PREFIX);
        let b = new_secret(PERSONAL_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("cdp_") && a.len() == 4 + 64);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert!(!hash_secret(&a).contains(&a[4..]));
        assert!(constant_time_eq(&a, &a) && !constant_time_eq(&a, &b));
    }
}
