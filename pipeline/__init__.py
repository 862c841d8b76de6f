"""trafficlens: label report text by human-trafficking stage and technology."""

__version__ = "0.1.0"
