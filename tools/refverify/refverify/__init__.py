"""A second, independent citycode verifier, written from SPEC.md alone (see README.md)."""
