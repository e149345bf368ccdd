"""One router per resource; `app.create_app` mounts them all."""

from __future__ import annotations
