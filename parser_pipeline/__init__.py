"""vkpipe core: settings, VK access, crawl, store, analyze and export, free of Celery."""

from __future__ import annotations

__version__ = "0.1.0"
