"""User-facing surfaces over the one engine: the CLI today."""
