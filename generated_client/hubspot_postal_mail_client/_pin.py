"""The pinned contract this client was generated from (written by scripts/generate.py)."""

SPEC_SHA256 = "7b985cbf8d5e958ac066d48303123505eb3e8c76268e9af47bf0401137a04542"
