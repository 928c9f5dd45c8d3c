//! A SHA-256 fingerprint of a sequence of text fields, to tell a replayed
//! request from a different one under the same key.

use sha2::{Digest, Sha256};

#[derive(Default)]
pub struct Fingerprint(Sha256);

impl Fingerprint {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field, followed by a unit separator (0x1f) that validated text
    /// never contains, so ("ab", "c") and ("a", "bc") differ.
    pub fn field(&mut self, s: &str) -> &mut Self {
        self.0.update(s.as_bytes());
        self.0.update([0x1f]);
        self
    }

    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// SHA-256 of one byte string.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_matter() {
        let mut a = Fingerprint::new();
        a.field("ab").field("c");
        let mut b = Fingerprint::new();
        b.field("a").field("bc");
        assert_ne!(a.finish(), b.finish());
    }
}
