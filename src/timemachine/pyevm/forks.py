"""Our hardfork names (chain/hardforks.py ETHEREUM_HARDFORKS) and the py-evm VM of each."""

from __future__ import annotations

from collections.abc import Mapping

from eth.abc import VirtualMachineAPI
from eth.vm.forks.arrow_glacier import ArrowGlacierVM
from eth.vm.forks.berlin import BerlinVM
from eth.vm.forks.byzantium import ByzantiumVM
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.constantinople import ConstantinopleVM
from eth.vm.forks.frontier import FrontierVM
from eth.vm.forks.gray_glacier import GrayGlacierVM
from eth.vm.forks.homestead import HomesteadVM
from eth.vm.forks.istanbul import IstanbulVM
from eth.vm.forks.london import LondonVM
from eth.vm.forks.muir_glacier import MuirGlacierVM
from eth.vm.forks.paris import ParisVM
from eth.vm.forks.petersburg import PetersburgVM
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.shanghai import ShanghaiVM
from eth.vm.forks.spurious_dragon import SpuriousDragonVM
from eth.vm.forks.tangerine_whistle import TangerineWhistleVM

from timemachine.errors import InvalidInputError

_VMS: Mapping[str, type[VirtualMachineAPI]] = {
    "frontier": FrontierVM,
    # The DAO fork changes state at one block; its rules are Homestead's.
    "homestead": HomesteadVM,
    "dao": HomesteadVM,
    "tangerine": TangerineWhistleVM,
    "spuriousdragon": SpuriousDragonVM,
    "byzantium": ByzantiumVM,
    "constantinople": ConstantinopleVM,
    "petersburg": PetersburgVM,
    "istanbul": IstanbulVM,
    "muirglacier": MuirGlacierVM,
    "berlin": BerlinVM,
    "london": LondonVM,
    "arrowglacier": ArrowGlacierVM,
    "grayglacier": GrayGlacierVM,
    "paris": ParisVM,
    "shanghai": ShanghaiVM,
    "cancun": CancunVM,
    "prague": PragueVM,
}

SUPPORTED_HARDFORKS: tuple[str, ...] = tuple(_VMS)
"""Every hardfork py-evm 0.12.1b1 runs (it has no Osaka and no blob-parameter-only forks)."""


def vm_class(hardfork: str) -> type[VirtualMachineAPI]:
    try:
        return _VMS[hardfork]
    except KeyError:
        raise InvalidInputError(
            f"py-evm 0.12.1b1 cannot run hardfork {hardfork!r}; it runs "
            f"{', '.join(SUPPORTED_HARDFORKS)} (use the anvil backend for newer forks)"
        ) from None
