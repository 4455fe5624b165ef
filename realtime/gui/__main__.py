import sys

from realtime.gui.app import main

sys.exit(main())
