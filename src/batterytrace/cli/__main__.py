"""``python -m batterytrace.cli``: the ``batterytrace`` command."""

from batterytrace.cli import app

if __name__ == "__main__":
    app()
