"""The web console: pages over the same services and authorization the API uses.

The pages are static files (ES modules, CSS) shipped in the package; in the
browser they call the ``/v1`` JSON API with the session cookie that
``POST /console/login`` sets. :func:`install` mounts them on an app.
"""

from __future__ import annotations

from qharbor.console.site import install

__all__ = ["install"]
