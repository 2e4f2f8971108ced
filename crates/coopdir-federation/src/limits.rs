//! Limits on what a peer may send: a JSON nesting depth checked while the body streams
//! in, so a deeply nested payload is refused after its first bytes rather than after
//! being read and parsed whole.
//!
//! Written by hand because serde_json's own recursion limit (128, fixed) only applies
//! once the whole body is in memory; this scanner is a few states over the bytes.

/// Tracks the nesting depth of a JSON text fed in chunks.
#[derive(Debug, Clone)]
pub struct DepthScanner {
    max: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl DepthScanner {
    pub fn new(max: usize) -> Self {
        DepthScanner {
            max,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }

    /// Feeds the next chunk; `Err(max)` as soon as the depth goes past the limit.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), usize> {
        for &b in chunk {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth > self.max {
                        return Err(self.max);
                    }
                }
                b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings_across_chunks() {
        let mut ok = DepthScanner::new(3);
        assert!(ok.feed(br#"{"a": [{"b": "[[[[[\"{{{{"#).is_ok());
        assert!(ok.feed(br#"{{"}]}"#).is_ok());
        let mut deep = DepthScanner::new(3);
        assert!(deep.feed(b"[[").is_ok());
        assert_eq!(deep.feed(b"[[1]]]]"), Err(3));
        let mut siblings = DepthScanner::new(2);
        assert!(siblings.feed(b"[[],[],[[]]]").is_err());
        let mut flat = DepthScanner::new(2);
        assert!(flat.feed(b"[[],[],[]]").is_ok());
    }
}
