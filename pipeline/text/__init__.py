"""Text before features: normalisation (no spaCy), the spaCy pipeline, cue terms and segments."""
