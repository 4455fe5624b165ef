"""FoCoViL real-time pipeline: source -> pose -> window -> encoder -> index -> label.

Never imports ``training``: the exported encoder file (with its metadata) is the contract.
"""
