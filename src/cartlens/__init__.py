"""cartlens — CAR-T cell therapy outcome research for relapsed/refractory large B-cell lymphoma.

Functional core (``model``, ``units``, ``criteria``, ``scores``, ``stats``, ``pet``, ``failure``)
does no I/O; shells (``io``, ``store``, ``report``, ``web``, ``cli``) read, persist and present.
"""

__version__ = "0.1.0"
