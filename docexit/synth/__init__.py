"""Synthetic RVL-CDIP-style document corpus: 16 classes of rendered, scan-degraded pages with
exact word boxes. See docs/corpus.md.

    from docexit.synth import generate_corpus
    summary = generate_corpus("corpus/", per_class=20, seed=1)
"""
from .corpus import GENERATOR_VERSION, assign_splits, generate_corpus, split_counts
from .render import normalise_boxes, render_document

__all__ = ["generate_corpus", "render_document", "normalise_boxes", "assign_splits", "split_counts",
           "GENERATOR_VERSION"]
