"""Handcrafted dermoscopy features (ABCD, colour, texture) as scikit-learn transformers."""
