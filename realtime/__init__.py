"""FoCoViL real-time pipeline: source -> pose -> window -> encoder -> index -> label.

Never imports ``training``: the exported encoder file (with its metadata) is the contract.
"""

if __name__ != "focovil.realtime":      # one module, one name: never a second copy as plain `realtime`
    raise ImportError(f"import focovil.realtime, not {__name__} (the repository's realtime/ folder is the package "
                      "focovil.realtime; run tools as `python -m focovil.realtime.<tool>`)")
