"""Everything that makes an encoder file. May import ``realtime.skeleton``; the app never imports this."""
