import sys

from focovil.realtime.gui.launch import main

sys.exit(main())
