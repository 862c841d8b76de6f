"""Former implementations, kept only to prove that faster code gives the same answers."""
