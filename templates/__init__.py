"""Packaged Jinja templates, CSS and per-model data (a model is files: model.toml, template, samples)."""
