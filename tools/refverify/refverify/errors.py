"""Rejections carry a reason code of SPEC.md §10 (or of the issuer side)."""


class Reject(Exception):
    """A refusal: ``reason`` is the stable reason code, ``detail`` free text."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ConfigError(Exception):
    """A verifier configuration that SPEC.md says a verifier must refuse."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
