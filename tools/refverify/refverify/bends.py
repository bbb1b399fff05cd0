"""The one switch that bends a rule.

Every check of a MUST (or of a "a verifier rejects" rule) in this verifier asks
``bent("M-…")`` before it refuses; ``bent`` is true for exactly one rule id at a time,
the one the bend runner selected, and false in a normal run. The catalogue of ids, their
rules and what each bend does lives in ``musts.py``; a test checks that every id asked
here is catalogued and every catalogued id is asked somewhere.
"""

_ACTIVE: str | None = None


def set_bend(bend_id: str | None) -> None:
    """Select the bend to apply (None: verify by the letter of SPEC.md)."""
    global _ACTIVE
    _ACTIVE = bend_id


def active() -> str | None:
    """The bend in force, or None."""
    return _ACTIVE


def bent(bend_id: str) -> bool:
    """True when the rule ``bend_id`` is the one being bent."""
    return _ACTIVE == bend_id


def one(bend_id: str) -> int:
    """1 when ``bend_id`` is bent, else 0: moves a boundary by one."""
    return 1 if _ACTIVE == bend_id else 0
