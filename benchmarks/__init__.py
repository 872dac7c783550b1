"""melanoma-bench: compare CNNs and handcrafted features on dermoscopic images."""

__version__ = "0.1.0"
