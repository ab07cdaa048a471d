"""hypertool_tools: the ``hypertool`` command, the native stack, the renderers and the demo.

Nothing here runs inside an agent process: agents need only ``hypertool_agent``.
"""
