"""Exports: the comments as CSV, JSON Lines, Parquet or XLSX, streamed from the database."""
