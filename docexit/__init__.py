"""docexit: anytime early-exit document image classification as a batch pipeline."""
__version__ = "0.1.0"
