"""Bundled data: chip and GPU descriptors (``chips/``) and models (``models/``), installed here."""
