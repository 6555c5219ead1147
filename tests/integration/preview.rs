//! Previews through the real binary: what each write did, shown before COMMIT.
