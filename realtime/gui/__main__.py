import sys

from focovil.realtime.gui.app import main

sys.exit(main())
