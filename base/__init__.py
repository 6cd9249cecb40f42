"""Floor 0 of the layers (docs/ARCHITECTURE.md): what every package may import and which imports
nothing of ours: the error hierarchy (``errors``), the typed settings (``config``), the process state
(``runtime``) and the code version (``version``)."""
