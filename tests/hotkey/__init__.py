"""The desktop hotkey helper (``quickphrase hotkey``), one part per module."""
