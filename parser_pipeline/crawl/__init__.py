"""Crawling: pure planning of what to fetch, and the I/O stages that fetch and store it."""
