"""The config dirs ``gitops init`` writes, shipped as package data (no code).

- ``starter/``: one service, reference-data (a Deployment), and the Namespace it runs in;
  environments/ and regions/ hold example overlays the config loader ignores (``*.example``).
- ``traderx/``: the full TraderX example, as relative symlinks to the project root's
  gitops.yaml, filters.yaml, templates/, environments/ and regions/ (a wheel holds the files).
"""
