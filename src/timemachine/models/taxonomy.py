"""The fixed vulnerability taxonomy shared by the exploit catalog and (later) the detectors.

A class names the flaw that made the loss possible, not the tool used to exploit it: a flash loan
that funds a price manipulation is `price_manipulation`; `flash_loan` is kept only for incidents
whose description says nothing more than "flash loan attack".

`classify_vulnerability` maps free text (e.g. DeFiHackLabs' "Flashloan & price oracle
manipulation") to a class with the ordered rule table `RULES`: the first rule with a matching
pattern wins, so the more specific classes come first. Patterns are regular expressions searched
in the lower-cased text; a text no rule matches is `other` (never guessed).
"""

from __future__ import annotations

import re
from enum import StrEnum


class VulnerabilityClass(StrEnum):
    """What went wrong, in one fixed word. Values are stable: they are stored and filtered on."""

    REENTRANCY = "reentrancy"
    FLASH_LOAN = "flash_loan"
    PRICE_MANIPULATION = "price_manipulation"
    """Spot/oracle price, pool reserve or pair balance manipulation, and faulty price oracles."""
    ACCESS_CONTROL = "access_control"
    """A privileged role taken over (an owner slot re-pointed, an initializer re-run)."""
    MISSING_ACCESS_CONTROL = "missing_access_control"
    """A privileged effect reachable by any caller: no role check on the path at all."""
    INTEGER_OVERFLOW = "integer_overflow"
    """Overflow, underflow and unsafe narrowing casts."""
    SIGNATURE_REPLAY = "signature_replay"
    """Signature replay, malleability and broken signature/permit verification."""
    SHARE_INFLATION = "share_inflation"
    """First-depositor/donation attacks that inflate a vault's share price or exchange rate."""
    ARBITRARY_CALL = "arbitrary_call"
    GOVERNANCE_TAKEOVER = "governance_takeover"
    LOGIC_FLAW = "logic_flaw"
    """Business logic, accounting and reward/fee calculation errors; token-mechanics mismatches."""
    PRECISION_LOSS = "precision_loss"
    INPUT_VALIDATION = "input_validation"
    FRONT_RUNNING = "front_running"
    """Front-running, sandwiching and other MEV, including missing slippage protection."""
    WEAK_RANDOMNESS = "weak_randomness"
    """Predictable on-chain randomness (SWC-120)."""
    PRIVATE_KEY_COMPROMISE = "private_key_compromise"
    RUG_PULL = "rug_pull"
    VALUE_EXTRACTION = "value_extraction"
    """Detector-only: an unrelated account walked away with value a contract held."""
    OTHER = "other"


#: The classes an incident record may carry: every class but the detector-only safety net and
#: the detector's split of access control (catalog text names neither; the store's CHECK holds
#: exactly these).
CATALOG_CLASSES: tuple[VulnerabilityClass, ...] = tuple(
    c
    for c in VulnerabilityClass
    if c not in (VulnerabilityClass.MISSING_ACCESS_CONTROL, VulnerabilityClass.VALUE_EXTRACTION)
)


V = VulnerabilityClass

#: Ordered (class, patterns) rules; the first class with a pattern found in the text wins.
RULES: tuple[tuple[VulnerabilityClass, tuple[str, ...]], ...] = (
    (
        V.PRIVATE_KEY_COMPROMISE,
        (r"private key", r"compromised key", r"key ?compromis", r"wallet compromise", r"lost keys"),
    ),
    (V.RUG_PULL, (r"\brug", r"exit scam", r"backdoor")),
    (V.REENTRANCY, (r"re-?entran",)),
    (
        V.INTEGER_OVERFLOW,
        (r"overflow", r"underflow", r"unsafe ?cast", r"unsafe math", r"integer truncation"),
    ),
    (V.SIGNATURE_REPLAY, (r"signature", r"\breplay", r"ecrecover", r"\bpermit\b")),
    (V.GOVERNANCE_TAKEOVER, (r"governance", r"malicious proposal", r"\bdao\b")),
    (V.SHARE_INFLATION, (r"inflation", r"donat", r"share price")),
    (
        V.ARBITRARY_CALL,
        (
            r"arbitr?ary[ -](external )?call",
            r"external calls?\b",
            r"functioncall",
            r"yul calldata",
        ),
    ),
    (V.PRECISION_LOSS, (r"precis+ion", r"rounding", r"truncation")),
    (V.FRONT_RUNNING, (r"\bfront", r"sandwich", r"\bmev\b", r"slippage")),
    (V.WEAK_RANDOMNESS, (r"random", r"\brng\b")),
    (
        V.PRICE_MANIPULATION,
        (
            r"flash.*(price|oracle)",
            r"price.*manipulat",
            r"manipulat.*price",
            r"oracle",
            r"twap",
            r"spot[ -]price",
            r"\bskim",
            r"(pair|pool|reserve)s? (balance )?manipulat",
            r"manipulat",
            r"\bprice\b",
        ),
    ),
    (
        V.ACCESS_CONTROL,
        (
            r"access[ -]?contro",
            r"unprotected",
            r"permission(?!less)",
            r"ownership",
            r"unauthori[sz]ed",
            r"privilege",
            r"visibility",
            r"public (internal )?function",
            r"caller check",
            r"modifier",
            r"uninitiali[sz]ed proxy",
            r"unrestricted",
            r"auth key",
            r"proxy upgrade",
            r"msg\.sender",
            r"without protection",
        ),
    ),
    (
        V.INPUT_VALIDATION,
        (
            r"validat",
            r"\binput",
            r"verif",
            r"\bcheck",
            r"unchecked",
            r"bypass",
            r"forg(ed|ery)",
            r"spoof",
            r"\bfake\b",
        ),
    ),
    (
        V.LOGIC_FLAW,
        (
            r"logic",
            r"bus+iness",
            r"accounting",
            r"calculation",
            r"mismatch",
            r"mispric",
            r"flaw",
            r"\berror\b",
            r"\bbug\b",
            r"reward",
            r"dividend",
            r"deflationary",
            r"reflection",
            r"rebas",
            r"incompatible|uncompatible",
            r"\bfee\b",
            r"\btax\b",
            r"\bburn",
            r"\bmint",
            r"double",
            r"self[ -]transfer|transfer to self",
            r"implemen",
        ),
    ),
    (V.FLASH_LOAN, (r"flash[ -]?(loan|swap|mint)",)),
)

_COMPILED = tuple(
    (cls, tuple(re.compile(pattern) for pattern in patterns)) for cls, patterns in RULES
)


def classify_vulnerability(text: str) -> VulnerabilityClass:
    """The taxonomy class of a free-text vulnerability description; `other` when no rule matches."""
    lowered = " ".join(text.lower().split())
    for cls, patterns in _COMPILED:
        if any(pattern.search(lowered) for pattern in patterns):
            return cls
    return VulnerabilityClass.OTHER


__all__ = ["CATALOG_CLASSES", "RULES", "VulnerabilityClass", "classify_vulnerability"]
