"""Plumbing every layer uses: user errors, the cache, file names, the
machine and library versions, plug-in loading, output checks, safe CSV cells."""
