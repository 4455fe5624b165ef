"""FoCoViL: live, view-invariant action recognition from a camera.

``python main.py`` is the ``focovil`` command run from a checkout: see ``realtime/cli.py`` or
``python main.py --help``.
"""
import sys

from focovil.realtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
