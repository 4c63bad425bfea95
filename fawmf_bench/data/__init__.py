"""Data layer: registry (datasets.yaml), download and parsing, preprocessing, cache, splits."""
