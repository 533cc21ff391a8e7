"""Side-by-side measurements: client cost, pacing, memory and our own workflow (``make bench``)."""
