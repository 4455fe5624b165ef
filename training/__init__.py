"""Everything that makes an encoder file. May import ``realtime.skeleton``; the app never imports this."""

if __name__ != "focovil.training":      # one module, one name: never a second copy as plain `training`
    raise ImportError(f"import focovil.training, not {__name__} (the repository's training/ folder is the package "
                      "focovil.training; run tools as `python -m focovil.training.<tool>`)")
