"""A second execution engine: py-evm, the reference Python EVM, for one transaction at a time.

anvil 1.7.1 (revm) misprices forks before London (see docs/capsules.md), while py-evm follows
every fork from Frontier to Prague. This package runs one transaction on a fresh in-memory state
(an alloc, a block environment, a raw signed transaction, a hardfork name) and answers with geth's
tracer output (callTracer, prestateTracer). Importing it loads py-evm (about 0.8 s), so callers
import it only when they need it.
"""

from timemachine.pyevm.execute import Execution, TransactionCase, execute
from timemachine.pyevm.forks import SUPPORTED_HARDFORKS, vm_class

__all__ = ["SUPPORTED_HARDFORKS", "Execution", "TransactionCase", "execute", "vm_class"]
