"""gitops: a fleet's Kubernetes configuration as plain manifests in git.

The public Python surface is what this module names; everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
