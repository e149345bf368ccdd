"""Analysis: keyword rules, Russian morphology, one-pass matching of comments, statistics."""
