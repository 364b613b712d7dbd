"""Descriptors: the chip and GPU files, read strictly with file, line and field in every error."""
