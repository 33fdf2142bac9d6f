from afkd.cli import _entry

_entry()
