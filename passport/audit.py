"""Auditing a log over time: does a newer checkpoint extend an older one?

A buyer or auditor keeps a checkpoint; later, with a newer one and a consistency proof, they
check that the log kept everything it had published. A failure carries both checkpoints and
the proof: portable evidence that the log dropped or changed something, or showed two views.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .checkpoint import Checkpoint, NoteVerifier, check_same_view, verify_checkpoint
from .errors import LogError
from .merkle import verify_consistency


class AuditError(LogError):
    """Two signed checkpoints of one log that cannot both be honest, with the proof checked."""

    def __init__(self, message: str, old_note: str, new_note: str, proof: Sequence[bytes]) -> None:
        super().__init__(message)
        self.old_note = old_note
        self.new_note = new_note
        self.proof = tuple(proof)


def audit(
    old_note: str, new_note: str, proof: Sequence[bytes], verifiers: Iterable[NoteVerifier]
) -> tuple[Checkpoint, Checkpoint]:
    """Verify both signed checkpoints and that the newer log extends the older one.

    Raises:
        LogError: a checkpoint is malformed, unsigned by a trusted log, or of another origin.
        AuditError: a split view, a shrunken log, or a consistency proof that fails.
    """
    verifiers = tuple(verifiers)
    old = verify_checkpoint(old_note, verifiers)
    new = verify_checkpoint(new_note, verifiers)
    if old.origin != new.origin:
        raise LogError(f"checkpoints of two different logs: {old.origin} and {new.origin}")
    if new.size < old.size:
        old, new, old_note, new_note = new, old, new_note, old_note
    try:
        check_same_view(old, new)
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except LogError as exc:
        raise AuditError(f"{old.origin}: {exc}", old_note, new_note, proof) from exc
    return old, new
