"""Persistence drivers: loading (and, later, saving) the dataset."""
