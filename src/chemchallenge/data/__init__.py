"""Data layer: challenge layout, demo data, standardisation, validation, splits."""
