"""council-qa: answers questions about council records, citing the exact passages.

The public entry point for Python callers is ``assistant.engine.Engine``::

    from assistant.engine import Engine
    engine = Engine.open()
    result = engine.answer("Hur många socialsekreterare slutade 2024?")
"""

__version__ = "0.1.0"
