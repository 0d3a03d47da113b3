"""Paper reproductions that are not classifier trainers (simulations, diagnostics)."""

from tfxai.experiments.lgl_table1 import format_table1, reproduce_table1

__all__ = ["format_table1", "reproduce_table1"]
