"""Configuration files shipped with docexit (shipped_model.json: how models/shipped was trained)."""
